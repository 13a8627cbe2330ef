{#- Type 2 dimension: at most one open (current) version per business id. -#}
{% test scd2_one_open_version(model, id_column) %}
select {{ id_column }}, count(*) as open_versions
from {{ model }}
where end_date is null
group by {{ id_column }}
having count(*) > 1
{% endtest %}
