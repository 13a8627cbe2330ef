{#- The generic data tests that ship with hrflow: dbt's four, and those of dbt_utils and
    dbt_expectations that warehouses use, written once as templates in the project's own language.
    Each returns a query whose rows are the failures. Relations' columns are read from
    information_schema, so tests never need a round trip at compile time.
    Embedded into the binary (cmake/embed.cmake) and parsed before a project's own macros. -#}
{% macro _quote_list(values, quote=true) -%}
{%- for v in values -%}{%- if quote -%}'{{ v | string | replace("'", "''") }}'{%- else -%}{{ v }}{%- endif -%}{{ ", " if not loop.last }}{%- endfor -%}
{%- endmacro %}

{% macro _where(row_condition) -%}{% if row_condition %} where {{ row_condition }}{% endif %}{%- endmacro %}

{% macro _columns_of(model) -%}
select lower(column_name) as column_name, ordinal_position from information_schema.columns
where table_schema = '{{ model.schema }}' and table_name = '{{ model.name }}'
{%- endmacro %}

{% test unique(model, column_name) %}
select {{ column_name }} as unique_field, count(*) as n_records
from {{ model }}
where {{ column_name }} is not null
group by {{ column_name }}
having count(*) > 1
{% endtest %}

{% test not_null(model, column_name) %}
select * from {{ model }} where {{ column_name }} is null
{% endtest %}

{% test accepted_values(model, column_name, values, quote=true) %}
with all_values as (
  select {{ column_name }} as value_field, count(*) as n_records from {{ model }} group by {{ column_name }}
)
select * from all_values where value_field not in ({{ _quote_list(values, quote) }})
{% endtest %}

{% test relationships(model, column_name, to, field) %}
with child as (select {{ column_name }} as from_field from {{ model }} where {{ column_name }} is not null),
parent as (select {{ field }} as to_field from {{ to }})
select from_field from child left join parent on child.from_field = parent.to_field
where parent.to_field is null
{% endtest %}

{% test expression_is_true(model, expression, column_name=none, row_condition=none) %}
select * from {{ model }}
where {% if row_condition %}({{ row_condition }}) and {% endif %}not ({% if column_name %}{{ column_name }} {% endif %}{{ expression }})
{% endtest %}

{% test unique_combination_of_columns(model, combination_of_columns, quote_columns=false) %}
select {{ combination_of_columns | join(', ') }}, count(*) as n_records from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1
{% endtest %}

{% test expect_compound_columns_to_be_unique(model, column_list, row_condition=none, ignore_row_if='all_values_are_missing', quote_columns=false) %}
select {{ column_list | join(', ') }}, count(*) as n_records from {{ model }}
where 1 = 1
{%- if row_condition %} and ({{ row_condition }}){% endif %}
{%- if ignore_row_if == 'all_values_are_missing' %} and not ({% for c in column_list %}{{ c }} is null{{ " and " if not loop.last }}{% endfor %})
{%- elif ignore_row_if == 'any_value_is_missing' %} and not ({% for c in column_list %}{{ c }} is null{{ " or " if not loop.last }}{% endfor %}){% endif %}
group by {{ column_list | join(', ') }}
having count(*) > 1
{% endtest %}

{% test not_null_proportion(model, column_name, at_least, at_most=1.0, group_by_columns=[]) %}
select * from (
  select sum(case when {{ column_name }} is null then 0 else 1 end) / cast(count(*) as double) as not_null_proportion
  from {{ model }}
) t
where not_null_proportion < {{ at_least }} or not_null_proportion > {{ at_most }}
{% endtest %}

{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) %}
select * from {{ model }}
where 1 = 2
{%- if min_value is not none %} or not ({{ column_name }} {{ '>=' if inclusive else '>' }} {{ min_value }}){% endif %}
{%- if max_value is not none %} or not ({{ column_name }} {{ '<=' if inclusive else '<' }} {{ max_value }}){% endif %}
{% endtest %}

{% test not_constant(model, column_name) %}
select count(distinct {{ column_name }}) as distinct_values from {{ model }} having count(distinct {{ column_name }}) = 1
{% endtest %}

{% test at_least_one(model, column_name) %}
select count({{ column_name }}) as non_null from {{ model }} having count({{ column_name }}) = 0
{% endtest %}

{% test not_empty_string(model, column_name, trim_whitespace=true) %}
select * from {{ model }} where {% if trim_whitespace %}trim({{ column_name }}){% else %}{{ column_name }}{% endif %} = ''
{% endtest %}

{% test equal_rowcount(model, compare_model) %}
select a.n as model_rows, b.n as compare_rows
from (select count(*) as n from {{ model }}) a, (select count(*) as n from {{ compare_model }}) b
where a.n != b.n
{% endtest %}

{% test expect_column_to_exist(model, column_name) %}
select '{{ column_name }}' as missing_column
where not exists (select 1 from ({{ _columns_of(model) }}) c where c.column_name = lower('{{ column_name }}'))
{% endtest %}

{% test expect_column_values_to_not_be_null(model, column_name, row_condition=none) %}
select * from {{ model }} where {{ column_name }} is null{% if row_condition %} and ({{ row_condition }}){% endif %}
{% endtest %}

{% test expect_column_values_to_be_null(model, column_name, row_condition=none) %}
select * from {{ model }} where {{ column_name }} is not null{% if row_condition %} and ({{ row_condition }}){% endif %}
{% endtest %}

{% test expect_column_values_to_be_unique(model, column_name, row_condition=none) %}
select {{ column_name }}, count(*) as n_records from {{ model }}
where {{ column_name }} is not null{% if row_condition %} and ({{ row_condition }}){% endif %}
group by {{ column_name }} having count(*) > 1
{% endtest %}

{% test expect_column_values_to_be_between(model, column_name, min_value=none, max_value=none, row_condition=none, strictly=false) %}
{%- if min_value is none and max_value is none -%}{{ exceptions.raise_compiler_error("expect_column_values_to_be_between needs min_value or max_value") }}{%- endif -%}
select * from (select {{ column_name }} as expression from {{ model }}{{ _where(row_condition) }}) t
where not (
  {%- if min_value is not none %} expression {{ '>' if strictly else '>=' }} {{ min_value }}{% endif %}
  {%- if min_value is not none and max_value is not none %} and{% endif %}
  {%- if max_value is not none %} expression {{ '<' if strictly else '<=' }} {{ max_value }}{% endif %})
{% endtest %}

{% test expect_column_values_to_be_in_set(model, column_name, value_set, quote_values=true, row_condition=none) %}
select {{ column_name }} as value_field from {{ model }}
where {{ column_name }} not in ({{ _quote_list(value_set, quote_values) }}){% if row_condition %} and ({{ row_condition }}){% endif %}
{% endtest %}

{% test expect_column_values_to_not_be_in_set(model, column_name, value_set, quote_values=true, row_condition=none) %}
select {{ column_name }} as value_field from {{ model }}
where {{ column_name }} in ({{ _quote_list(value_set, quote_values) }}){% if row_condition %} and ({{ row_condition }}){% endif %}
{% endtest %}

{% test expect_column_values_to_match_regex(model, column_name, regex, row_condition=none, is_raw=false, flags='') %}
select * from {{ model }}
where not regexp_matches(cast({{ column_name }} as varchar), '{{ regex | replace("'", "''") }}'{% if flags %}, '{{ flags }}'{% endif %})
{%- if row_condition %} and ({{ row_condition }}){% endif %}
{% endtest %}

{% test expect_column_values_to_not_match_regex(model, column_name, regex, row_condition=none, is_raw=false, flags='') %}
select * from {{ model }}
where regexp_matches(cast({{ column_name }} as varchar), '{{ regex | replace("'", "''") }}'{% if flags %}, '{{ flags }}'{% endif %})
{%- if row_condition %} and ({{ row_condition }}){% endif %}
{% endtest %}

{% test expect_column_values_to_match_like_pattern(model, column_name, like_pattern, row_condition=none) %}
select * from {{ model }}
where not (cast({{ column_name }} as varchar) like '{{ like_pattern | replace("'", "''") }}'){% if row_condition %} and ({{ row_condition }}){% endif %}
{% endtest %}

{% test expect_column_values_to_not_match_like_pattern(model, column_name, like_pattern, row_condition=none) %}
select * from {{ model }}
where cast({{ column_name }} as varchar) like '{{ like_pattern | replace("'", "''") }}'{% if row_condition %} and ({{ row_condition }}){% endif %}
{% endtest %}

{% test expect_column_value_lengths_to_equal(model, column_name, value, row_condition=none) %}
select * from {{ model }}
where length(cast({{ column_name }} as varchar)) != {{ value }}{% if row_condition %} and ({{ row_condition }}){% endif %}
{% endtest %}

{% test expect_column_value_lengths_to_be_between(model, column_name, min_value=none, max_value=none, row_condition=none, strictly=false) %}
select * from (select length(cast({{ column_name }} as varchar)) as expression from {{ model }}{{ _where(row_condition) }}) t
where not (true
  {%- if min_value is not none %} and expression {{ '>' if strictly else '>=' }} {{ min_value }}{% endif %}
  {%- if max_value is not none %} and expression {{ '<' if strictly else '<=' }} {{ max_value }}{% endif %})
{% endtest %}

{% test expect_column_values_to_be_of_type(model, column_name, column_type) %}
select column_name, data_type from information_schema.columns
where table_schema = '{{ model.schema }}' and table_name = '{{ model.name }}'
  and lower(column_name) = lower('{{ column_name }}') and upper(data_type) != upper('{{ column_type }}')
{% endtest %}

{% test expect_column_distinct_count_to_equal(model, column_name, value, row_condition=none) %}
select count(distinct {{ column_name }}) as distinct_values from {{ model }}{{ _where(row_condition) }}
having count(distinct {{ column_name }}) != {{ value }}
{% endtest %}

{% test expect_column_min_to_be_between(model, column_name, min_value=none, max_value=none, row_condition=none, strictly=false) %}
select * from (select min({{ column_name }}) as expression from {{ model }}{{ _where(row_condition) }}) t
where not (true
  {%- if min_value is not none %} and expression {{ '>' if strictly else '>=' }} {{ min_value }}{% endif %}
  {%- if max_value is not none %} and expression {{ '<' if strictly else '<=' }} {{ max_value }}{% endif %})
{% endtest %}

{% test expect_column_max_to_be_between(model, column_name, min_value=none, max_value=none, row_condition=none, strictly=false) %}
select * from (select max({{ column_name }}) as expression from {{ model }}{{ _where(row_condition) }}) t
where not (true
  {%- if min_value is not none %} and expression {{ '>' if strictly else '>=' }} {{ min_value }}{% endif %}
  {%- if max_value is not none %} and expression {{ '<' if strictly else '<=' }} {{ max_value }}{% endif %})
{% endtest %}

{% test expect_table_row_count_to_equal(model, value, group_by=none, row_condition=none) %}
select count(*) as row_count, {{ value }} as expected from {{ model }}{{ _where(row_condition) }}
having count(*) != {{ value }}
{% endtest %}

{% test expect_table_row_count_to_be_between(model, min_value=none, max_value=none, group_by=none, row_condition=none, strictly=false) %}
select count(*) as row_count from {{ model }}{{ _where(row_condition) }}
having not (true
  {%- if min_value is not none %} and count(*) {{ '>' if strictly else '>=' }} {{ min_value }}{% endif %}
  {%- if max_value is not none %} and count(*) {{ '<' if strictly else '<=' }} {{ max_value }}{% endif %})
{% endtest %}

{% test expect_table_row_count_to_equal_other_table(model, compare_model, factor=1, row_condition=none, compare_row_condition=none) %}
select a.n as model_rows, b.n as compare_rows
from (select count(*) as n from {{ model }}{{ _where(row_condition) }}) a,
     (select count(*) as n from {{ compare_model }}{{ _where(compare_row_condition) }}) b
where a.n != b.n * {{ factor }}
{% endtest %}

{% test expect_table_column_count_to_equal(model, value) %}
select count(*) as column_count from ({{ _columns_of(model) }}) c having count(*) != {{ value }}
{% endtest %}

{% test expect_table_columns_to_match_set(model, column_list, transform='upper') %}
with relation_columns as ({{ _columns_of(model) }}),
input_columns as (select lower(c) as column_name from (values {% for c in column_list %}('{{ c }}'){{ ", " if not loop.last }}{% endfor %}) v(c))
select coalesce(r.column_name, i.column_name) as column_name,
       r.column_name is not null as in_table, i.column_name is not null as in_list
from relation_columns r full outer join input_columns i on r.column_name = i.column_name
where r.column_name is null or i.column_name is null
{% endtest %}

{% test expect_table_columns_to_contain_set(model, column_list, transform='upper') %}
with relation_columns as ({{ _columns_of(model) }}),
input_columns as (select lower(c) as column_name from (values {% for c in column_list %}('{{ c }}'){{ ", " if not loop.last }}{% endfor %}) v(c))
select i.column_name as missing_column
from input_columns i left join relation_columns r on r.column_name = i.column_name
where r.column_name is null
{% endtest %}

{% test expect_table_columns_to_not_contain_set(model, column_list, transform='upper') %}
with relation_columns as ({{ _columns_of(model) }}),
input_columns as (select lower(c) as column_name from (values {% for c in column_list %}('{{ c }}'){{ ", " if not loop.last }}{% endfor %}) v(c))
select i.column_name as unexpected_column
from input_columns i join relation_columns r on r.column_name = i.column_name
{% endtest %}

{% test expect_table_columns_to_match_ordered_list(model, column_list, transform='upper') %}
with relation_columns as ({{ _columns_of(model) }}),
input_columns as (select lower(c) as column_name, p as ordinal_position from (values {% for c in column_list %}('{{ c }}', {{ loop.index }}){{ ", " if not loop.last }}{% endfor %}) v(c, p))
select coalesce(r.column_name, i.column_name) as column_name, r.ordinal_position as position_in_table, i.ordinal_position as position_in_list
from relation_columns r full outer join input_columns i on r.column_name = i.column_name and r.ordinal_position = i.ordinal_position
where r.column_name is null or i.column_name is null
{% endtest %}

{% test expect_column_pair_values_A_to_be_greater_than_B(model, column_A, column_B, or_equal=false, row_condition=none) %}
select * from {{ model }}
where not ({{ column_A }} {{ '>=' if or_equal else '>' }} {{ column_B }}){% if row_condition %} and ({{ row_condition }}){% endif %}
{% endtest %}

{% test expect_column_pair_values_to_be_equal(model, column_A, column_B, row_condition=none) %}
select * from {{ model }}
where not ({{ column_A }} = {{ column_B }}){% if row_condition %} and ({{ row_condition }}){% endif %}
{% endtest %}

{% test expect_column_values_to_be_increasing(model, column_name, sort_column=none, strictly=true, row_condition=none, group_by=none, step=none) %}
{%- set sort_column = sort_column or column_name -%}
with all_values as (
  select {{ sort_column }} as sort_column,{% if group_by %} {{ group_by | join(', ') }},{% endif %} {{ column_name }} as value_field
  from {{ model }}{{ _where(row_condition) }}
),
add_lag as (
  select a.*, lag(value_field) over ({% if group_by %}partition by {{ group_by | join(', ') }} {% endif %}order by sort_column) as value_field_lag
  from all_values a
)
select * from add_lag
where value_field_lag is not null and not ((value_field {{ '>' if strictly else '>=' }} value_field_lag)
  {%- if step %} and (value_field - value_field_lag) = {{ step }}{% endif %})
{% endtest %}

{% test expect_column_values_to_be_decreasing(model, column_name, sort_column=none, strictly=true, row_condition=none, group_by=none) %}
{%- set sort_column = sort_column or column_name -%}
with all_values as (
  select {{ sort_column }} as sort_column,{% if group_by %} {{ group_by | join(', ') }},{% endif %} {{ column_name }} as value_field
  from {{ model }}{{ _where(row_condition) }}
),
add_lag as (
  select a.*, lag(value_field) over ({% if group_by %}partition by {{ group_by | join(', ') }} {% endif %}order by sort_column) as value_field_lag
  from all_values a
)
select * from add_lag
where value_field_lag is not null and not (value_field {{ '<' if strictly else '<=' }} value_field_lag)
{% endtest %}

{% test expect_row_values_to_have_data_for_every_n_datepart(model, date_col, date_part='day', interval=none, row_condition=none, exclusion_condition=none, test_start_date=none, test_end_date=none) %}
{%- set step = interval or 1 -%}
with model_data as (
  select cast(date_trunc('{{ date_part }}', {{ date_col }}) as date) as date_{{ date_part }}, count(*) as row_cnt
  from {{ model }}{{ _where(row_condition) }}
  group by 1
),
bounds as (
  select {% if test_start_date %}cast('{{ test_start_date }}' as date){% else %}min(date_{{ date_part }}){% endif %} as lo,
         {% if test_end_date %}cast('{{ test_end_date }}' as date){% else %}max(date_{{ date_part }}){% endif %} as hi
  from model_data
),
base_dates as (
  select cast(d.generate_series as date) as date_{{ date_part }}
  from bounds, generate_series(cast(bounds.lo as timestamp), cast(bounds.hi as timestamp), interval '{{ step }} {{ date_part }}') d
),
final as (
  select b.date_{{ date_part }}, coalesce(m.row_cnt, 0) as row_cnt
  from base_dates b left join model_data m on b.date_{{ date_part }} = m.date_{{ date_part }}
)
select * from final where row_cnt = 0{% if exclusion_condition %} and not ({{ exclusion_condition }}){% endif %}
{% endtest %}
