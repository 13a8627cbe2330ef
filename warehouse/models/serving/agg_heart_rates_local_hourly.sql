-- fct_heart_rates summed per UTC day, local date and hour, activity, and the user attributes the
-- dashboard filters on (sex, age group, address country): what the local-time charts (activity by hour
-- and weekday, the predictor) need, in a twentieth of the rows. Local time and age group are the
-- semantic layer's (macros/rollups.sql). activity_slots counts distinct (user, 10-minute slot) pairs,
-- so it adds up exactly across rows; distinct users are not kept (ask the daily rollup or the fact table),
-- but person_ids lists the row's people (the semantic layer's {person_id}: the user id, or for a reading of
-- an unknown user version a negative id from its key), so that small-cell suppression can count them.
-- Incremental: the days from rollup_window_start() on are aggregated again and replace their rows, and
-- so are the earlier days that hold readings of an inferred user (dim_users: sex and country unknown)
-- whose real row has arrived since (a re-sign-up after the first CDC snapshot): a full rebuild would
-- give them the real attributes.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['event_date'],
    on_schema_change='fail'
) }}

{% if is_incremental() %}
{%- set first_day = rollup_window_start() -%}
{#- rows of unknown sex and country are an inferred user's (or a fact row's without a user version): few,
    so looking for the ones whose person has become known costs little; found as literals -#}
{%- set redo_days = [] -%}
{%- if execute -%}
{%- for r in run_query("select distinct cast(event_date as varchar) as d from (select event_date, unnest(person_ids) as person_id from "
                       ~ this ~ " where sex is null and address_country_code is null and event_date < " ~ first_day
                       ~ ") where person_id in (select user_id from " ~ ref('dim_users') ~ " where sex is not null) order by d").rows -%}
{%- do redo_days.append("date '" ~ r[0] ~ "'") -%}
{%- endfor -%}
{%- endif -%}
{%- set offsets_from = redo_days[0] if redo_days else first_day -%}
{%- set in_window = "(f.event_date >= " ~ first_day ~ (" or f.event_date in (" ~ redo_days | join(", ") ~ ")" if redo_days else "") ~ ")" -%}
{% else %}
{%- set first_day = "(select min(event_date) from " ~ ref('fct_heart_rates') ~ ")" -%}
{%- set offsets_from = first_day -%}
{%- set in_window = "f.event_date >= " ~ first_day -%}
{% endif %}

with offsets as (
    {{ utc_offsets(offsets_from, "(select max(event_date) from " ~ ref('fct_heart_rates') ~ " where event_date >= " ~ offsets_from ~ ")") }}
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
    where {{ in_window }}
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
