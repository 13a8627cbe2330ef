{#- Rows whose country code and country name disagree with the country_codes seed. -#}
{% test country_codes_match_names(model, code_column, name_column) %}
select m.{{ code_column }} as code, m.{{ name_column }} as name, c.name as expected_name
from {{ model }} m
left join {{ ref('country_codes') }} c on c.alpha2 = m.{{ code_column }}
where m.{{ code_column }} is not null
  and (c.alpha2 is null or c.name <> m.{{ name_column }})
{% endtest %}
