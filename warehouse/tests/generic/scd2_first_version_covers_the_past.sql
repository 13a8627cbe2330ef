{#- Type 2 dimension: each business id's first version starts at 1900-01-01 (the first day of
    dim_dates), so a fact from before the first captured change still finds a version. -#}
{% test scd2_first_version_covers_the_past(model, id_column) %}
select {{ id_column }}, min(start_date) as first_start
from {{ model }}
group by {{ id_column }}
having min(start_date) <> timestamp '1900-01-01'
{% endtest %}
