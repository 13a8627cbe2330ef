-- fct_heart_rates summed per UTC day, user version and activity: the readings' count, sums for the
-- average and standard deviation, extremes, and the distinct 10-minute slots (activity time). Every
-- dashboard chart without local time is answered from here instead of the fact table, in a fifteenth
-- of the rows (semantic/semantic_layer.yml, rollups). The slots add up exactly across rows: a slot
-- lies within one UTC day, and rows differ in user or activity.
-- Incremental: the days from rollup_window_start() on are aggregated again and replace their rows.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['event_date']
) }}

-- Per 10-minute slot first, then per day: a plain second aggregation counts the slots faster than
-- count(distinct) (15 s against 21 s for two months of bench/dashboard.sh's data, 8.5M readings).
with slots as (
    select
        event_date,
        user_key,
        activity_key,
        epoch_ms(event_datetime) // 600000 as slot,
        count(*) as readings,
        sum(heart_rate) as heart_rate_sum,
        sum(heart_rate * heart_rate) as heart_rate_squares,
        min(heart_rate) as min_heart_rate,
        max(heart_rate) as max_heart_rate
    from {{ ref('fct_heart_rates') }}
    {% if is_incremental() %}
    where event_date >= {{ rollup_window_start() }}
    {% endif %}
    group by all
)

select
    event_date,
    user_key,
    activity_key,
    cast(sum(readings) as integer) as readings,
    cast(sum(heart_rate_sum) as bigint) as heart_rate_sum,
    cast(sum(heart_rate_squares) as bigint) as heart_rate_squares,
    min(min_heart_rate) as min_heart_rate,
    max(max_heart_rate) as max_heart_rate,
    cast(count(*) as integer) as activity_slots
from slots
group by event_date, user_key, activity_key
order by event_date
