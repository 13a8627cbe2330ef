-- One row per reading, keyed to the user and activity versions valid at its event time, with the
-- statistics of its session: a run of one user's readings of one activity with no gap longer than
-- var('session_gap_minutes'). previous_heart_rate is the session's previous reading (NULL first).
--
-- Incremental: a build re-reads only readings from var('late_reading_lookback_hours') before the newest
-- reading already in the table (plus one day, so sessions that began before that point are read whole),
-- recomputes every session touching that window, and replaces those sessions' rows (delete+insert on
-- the reading key). Readings arriving late within the lookback therefore land in the right session with
-- the right statistics, and the result equals a full rebuild. Rows are written in event_date order so
-- date-range queries skip data (DuckDB zone maps).
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['user_key', 'activity_key', 'event_datetime']
) }}

with
{% if is_incremental() %}
bounds as (
    select coalesce(max(event_datetime), timestamp '1970-01-01')
           - interval '{{ var("late_reading_lookback_hours") }} hours' as cutoff
    from {{ this }}
),
{% endif %}

readings as (
    select
        user_id,
        activity_id,
        heart_rate,
        latitude,
        longitude,
        make_timestamp(cast("timestamp" as bigint) * 1000000) as event_datetime
    from {{ ref('stg_heart_rates') }}
    {% if is_incremental() %}
    where "timestamp" >= (select epoch(cutoff) - 86400 from bounds)
    {% endif %}
    -- one reading per user and second: a duplicate delivery must not count twice
    qualify row_number() over (partition by user_id, "timestamp" order by extracted_at desc, activity_id) = 1
),

flagged as (
    select
        *,
        case
            when lag(event_datetime) over by_user is null then 1
            when lag(activity_id) over by_user <> activity_id then 1
            when event_datetime - lag(event_datetime) over by_user
                 > interval '{{ var("session_gap_minutes") }} minutes' then 1
            else 0
        end as starts_session
    from readings
    window by_user as (partition by user_id order by event_datetime)
),

sessions as (
    select
        *,
        sum(starts_session) over (partition by user_id order by event_datetime rows unbounded preceding)
            as session_number
    from flagged
),

with_stats as (
    select
        *,
        lag(heart_rate) over (partition by user_id, session_number order by event_datetime) as previous_heart_rate,
        max(heart_rate) over session as max_heart_rate,
        min(heart_rate) over session as min_heart_rate,
        round(avg(heart_rate) over session, 2) as avg_heart_rate,
        max(event_datetime) over session as session_end
    from sessions
    window session as (partition by user_id, session_number)
)

select
    u.user_key,
    a.activity_key,
    cast(r.event_datetime as date) as event_date,
    cast(r.event_datetime as time) as event_time,
    r.event_datetime,
    r.heart_rate,
    r.previous_heart_rate,
    r.max_heart_rate,
    r.min_heart_rate,
    r.avg_heart_rate,
    r.latitude,
    r.longitude
from with_stats r
join {{ ref('dim_users') }} u
    on u.user_id = r.user_id
   and r.event_datetime >= u.start_date
   and (u.end_date is null or r.event_datetime < u.end_date)
join {{ ref('dim_activities') }} a
    on a.activity_id = r.activity_id
   and r.event_datetime >= a.start_date
   and (a.end_date is null or r.event_datetime < a.end_date)
{% if is_incremental() %}
where r.session_end >= (select cutoff from bounds)
{% endif %}
order by event_date, r.event_datetime, u.user_key
