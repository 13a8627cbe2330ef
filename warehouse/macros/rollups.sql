{#- Shared by the rollup models (agg_heart_rates_*). Each repeats, in SQL, an expression of
    semantic/semantic_layer.yml that the rollup stores precomputed, so a request answered from a rollup
    equals the same request answered from the fact table (src/query tests compare the two). -#}

{#- The UTC offset, in seconds, of each time zone of serving.dim_users per UTC hour of the days
    first_day..last_day (date expressions): the semantic layer's `local_offsets` join. ICU is asked once
    per zone and day, and per hour only on days with a daylight-saving change. -#}
{% macro utc_offsets(first_day, last_day) %}
with zones as (select distinct time_zone from {{ ref('dim_users') }} where time_zone is not null),
     days as (select z.time_zone, cast(unnest(generate_series(cast({{ first_day }} as timestamp),
                                     cast({{ last_day }} as timestamp), interval 1 day)) as timestamp) as day
              from zones z),
     ends as (select time_zone, day,
                     epoch(timezone(time_zone, timezone('UTC', day))) - epoch(day) as o0,
                     epoch(timezone(time_zone, timezone('UTC', day + interval 23 hour))) - epoch(day + interval 23 hour) as o23
              from days)
select e.time_zone, e.day + to_hours(h.range) as utc_hour,
       cast(case when e.o0 = e.o23 then e.o0
                 else epoch(timezone(e.time_zone, timezone('UTC', e.day + to_hours(h.range)))) - epoch(e.day + to_hours(h.range))
            end as integer) as offset_s
from ends e, range(24) h
{% endmacro %}

{#- The semantic layer's `age_group`: the decade of the age at the event date (under 20 counts as 18-29). -#}
{% macro age_group(event_date, date_of_birth) %}
['18-29', '18-29', '30-39', '40-49', '50-59', '60-69', '70+'][least(greatest((
    year({{ event_date }}) - year({{ date_of_birth }})
    - cast(month({{ event_date }}) * 100 + day({{ event_date }}) < month({{ date_of_birth }}) * 100 + day({{ date_of_birth }}) as integer)
) // 10, 1), 7)]
{% endmacro %}

{#- Incremental rollups re-aggregate every UTC day from this one on (a date literal). An incremental
    build of fct_heart_rates rewrites readings from the start of the sessions open at its cutoff, which
    lies var('late_reading_lookback_hours') before its newest reading, and sessions are looked for up to
    a day before that: so no reading older than lookback + 24 hours before the newest one the rollup
    holds (its last_reading_at) changes. Found first (run_query) and written as a literal, so the fact
    table's scan skips the row groups before it (DuckDB prunes on constants, not on subqueries). -#}
{% macro rollup_window_start() %}
{%- if execute -%}
{%- set day = run_query("select cast(cast(max(last_reading_at) - interval '" ~ var("late_reading_lookback_hours")
                        ~ " hours' - interval 1 day as date) as varchar) from " ~ this).rows[0][0] -%}
date '{{ day or "1970-01-01" }}'
{%- else -%}
date '1970-01-01'
{%- endif -%}
{% endmacro %}
