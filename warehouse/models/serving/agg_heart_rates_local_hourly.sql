-- fct_heart_rates summed per UTC day, local date and hour, activity, and the user attributes the
-- dashboard filters on (sex, age group, address country): what the local-time charts (activity by hour
-- and weekday, the predictor) need, in a twentieth of the rows. Local time and age group are the
-- semantic layer's (macros/rollups.sql). activity_slots counts distinct (user, 10-minute slot) pairs,
-- so it adds up exactly across rows; distinct users are not kept (ask the daily rollup or the fact table),
-- but person_ids lists the row's people (the semantic layer's {person_id}: the user id, or for a reading of
-- an unknown user version a negative id from its key), so that small-cell suppression can count them.
-- Incremental: the days from rollup_window_start() on are aggregated again and replace their rows.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['event_date'],
    on_schema_change='fail'
) }}

{% if is_incremental() %}
{%- set first_day = rollup_window_start() -%}
{% else %}
{%- set first_day = "(select min(event_date) from " ~ ref('fct_heart_rates') ~ ")" -%}
{% endif %}

with offsets as (
    {{ utc_offsets(first_day, "(select max(event_date) from " ~ ref('fct_heart_rates') ~ " where event_date >= " ~ first_day ~ ")") }}
),

-- User versions numbered: the aggregation below groups by this number rather than the text key.
users as (
    select row_number() over () as user_n, * from {{ ref('dim_users') }}
),

readings as (
    select
        f.event_date,
        f.event_datetime,
        f.event_datetime + to_seconds(coalesce(lo.offset_s, 0)) as local_time,
        u.user_n,
        -- a reading whose user version dim_users lacks still counts as its own user
        case when u.user_n is null then f.user_key end as unknown_user_key,
        f.activity_key,
        f.heart_rate
    from {{ ref('fct_heart_rates') }} f
    left join users u on u.user_key = f.user_key
    left join offsets lo on lo.time_zone = u.time_zone and lo.utc_hour = date_trunc('hour', f.event_datetime)
    where f.event_date >= {{ first_day }}
),

-- Per user first: a user's distinct 10-minute slots in a local hour are bits of a 12-bit mask (slot
-- number modulo 12: a local hour spans at most 7 consecutive slots, even at a 45-minute offset), a
-- plain aggregation instead of count(distinct) over (user, slot) pairs (at 51M readings the build
-- `dashboard_bench run` prints took 102 s against 108 s, both on a busy machine). The user's
-- attributes, fixed per user version, are looked up after this aggregation, on its fewer rows.
per_user as (
    select
        event_date,
        cast(local_time as date) as local_date,
        cast(hour(local_time) as tinyint) as local_hour,
        activity_key,
        user_n,
        unknown_user_key,
        count(*) as readings,
        sum(heart_rate) as heart_rate_sum,
        sum(heart_rate * heart_rate) as heart_rate_squares,
        min(heart_rate) as min_heart_rate,
        max(heart_rate) as max_heart_rate,
        bit_count(bit_or(1::usmallint << ((epoch_ms(event_datetime) // 600000) % 12))) as activity_slots,
        max(event_datetime) as last_reading_at
    from readings
    group by all
)

select
    p.event_date,
    p.local_date,
    p.local_hour,
    p.activity_key,
    u.sex,
    {{ age_group('p.event_date', 'u.date_of_birth') }} as age_group,
    u.address_country_code,
    cast(sum(p.readings) as integer) as readings,
    cast(sum(p.heart_rate_sum) as bigint) as heart_rate_sum,
    cast(sum(p.heart_rate_squares) as bigint) as heart_rate_squares,
    min(p.min_heart_rate) as min_heart_rate,
    max(p.max_heart_rate) as max_heart_rate,
    cast(sum(p.activity_slots) as integer) as activity_slots,
    list_sort(list(distinct coalesce(u.user_id, -cast(hash(p.unknown_user_key) >> 2 as bigint)))) as person_ids,  -- sorted: the same rows give the same value
    max(p.last_reading_at) as last_reading_at
from per_user p
left join users u on u.user_n = p.user_n
group by all
order by p.event_date
