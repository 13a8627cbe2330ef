-- One row per reading, keyed to the user and activity versions valid at its event time, with the
-- statistics of its session: a run of one user's readings of one activity with no gap longer than
-- var('session_gap_minutes'). previous_heart_rate is the session's previous reading (NULL first).
--
-- Incremental: readings the table lacks (or holds otherwise) from the cutoff on, the cutoff being
-- var('late_reading_lookback_hours') before the newest reading in the table, are new. Only users
-- with new readings are rebuilt, from the start of the session their first new reading joins
-- (looked for up to a day before the cutoff), and their rows from there on replace the old ones
-- (merge on the reading key: rows it holds are updated in place, new ones appended, instead of
-- being deleted and inserted again). Readings arriving late within the lookback therefore land in
-- the right session with the right statistics, and the result equals a full rebuild. The bounds are
-- found first (run_query) and used as literals, so every scan skips the row groups before them. The
-- incremental build's few rows are deduplicated and split into sessions with joins; a full build
-- uses window partitions, which scale with the readings (tests check both give the same rows). A
-- full build writes the rows in event time order and each incremental build appends the last hours,
-- so date-range queries skip data (DuckDB zone maps).
{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    unique_key=['user_key', 'activity_key', 'event_datetime']
) }}

{% if is_incremental() and execute %}
{#- the newest day first (cheap: the table is sorted by it), then the newest reading within it -#}
{%- set newest_day = run_query("select cast(max(event_date) as varchar) from " ~ this).rows[0][0] or '1970-01-01' -%}
{%- set newest = run_query("select cast(t as varchar), cast(epoch(t) as bigint) from (select max(event_datetime) - interval '"
                           ~ var('late_reading_lookback_hours') ~ " hours' as t from " ~ this
                           ~ " where event_date >= date '" ~ newest_day ~ "')").rows[0] -%}
{%- set cutoff = "timestamp '" ~ (newest[0] or '1970-01-01 00:00:00') ~ "'" -%}
{%- set cutoff_epoch = newest[1] or 0 -%}
{#- each user's last session start at or before the cutoff, earliest first: looked up once (a day of
    readings) and written into the query as literals, not scanned a second time -#}
{%- set starts = run_query("select user_id, cast(session_start as varchar), cast(epoch(session_start) as bigint) from ("
                           ~ user_session_starts(cutoff) ~ ") order by session_start").rows -%}
{%- set read_from = starts[0][2] if starts else cutoff_epoch -%}
{% endif %}

with
{% if is_incremental() and execute %}
-- Each user's last session start at or before the cutoff.
session_starts as (
    {% if starts -%}
    select * from (values
        {%- for s in starts %}
        ({{ s[0] }}, timestamp '{{ s[1] }}'){{ "," if not loop.last }}
        {%- endfor %}
    ) as t(user_id, session_start)
    {%- else -%}
    select cast(null as integer) as user_id, cast(null as timestamp) as session_start where false
    {%- endif %}
),

-- The table's readings from the cutoff on, and the staged ones: a staged reading the table lacks (or
-- holds otherwise) is new. Only users with new readings are rebuilt, from the start of the session
-- their first new reading joins.
placed_since_cutoff as (
    select u.user_id, cast(epoch(f.event_datetime) as bigint) as "timestamp", a.activity_id, f.heart_rate,
           f.event_datetime, f.previous_heart_rate
    from {{ this }} f
    join {{ ref('dim_users') }} u on u.user_key = f.user_key
    join {{ ref('dim_activities') }} a on a.activity_key = f.activity_key
    where f.event_datetime >= {{ cutoff }}
),

first_new as (
    select user_id, min("timestamp") as first_new
    from (
        select user_id, "timestamp", activity_id, heart_rate
        from {{ ref('stg_heart_rates') }}
        where "timestamp" >= {{ cutoff_epoch }}
        except
        select user_id, "timestamp", activity_id, heart_rate from placed_since_cutoff
    )
    group by user_id
),

rebuild_from as (
    select
        n.user_id,
        coalesce(max(p.event_datetime) filter (where p.previous_heart_rate is null and p."timestamp" <= n.first_new),
                 any_value(s.session_start),
                 {{ cutoff }}) as session_start
    from first_new n
    left join session_starts s on s.user_id = n.user_id
    left join placed_since_cutoff p on p.user_id = n.user_id
    group by n.user_id, n.first_new
),
{% endif %}

{% if is_incremental() and execute %}
-- The few rebuilt rows: joins on small inputs instead of window partitions where possible.
deliveries as (
    select user_id, "timestamp", activity_id, heart_rate, latitude, longitude, extracted_at
    from {{ ref('stg_heart_rates') }} h
    join rebuild_from b using (user_id)
    where h."timestamp" >= {{ read_from }}
      and h."timestamp" >= epoch(b.session_start)
),

-- One reading per user and second: of several deliveries the last extracted counts, once. Duplicates
-- are rare, so only their keys go through the ranking.
duplicated as (
    select user_id, "timestamp"
    from deliveries
    group by user_id, "timestamp"
    having count(*) > 1
),

readings as (
    select user_id, activity_id, heart_rate, latitude, longitude,
           make_timestamp(cast("timestamp" as bigint) * 1000000) as event_datetime
    from (
        select user_id, activity_id, heart_rate, latitude, longitude, "timestamp"
        from deliveries
        anti join duplicated using (user_id, "timestamp")
        union all
        select user_id, activity_id, heart_rate, latitude, longitude, "timestamp"
        from deliveries
        semi join duplicated using (user_id, "timestamp")
        qualify row_number() over (partition by user_id, "timestamp" order by extracted_at desc, activity_id) = 1
    )
),
{% else %}
-- Every reading, one per user and second: of several deliveries the last extracted counts, once.
readings as (
    select
        user_id,
        activity_id,
        heart_rate,
        latitude,
        longitude,
        make_timestamp(cast("timestamp" as bigint) * 1000000) as event_datetime
    from {{ ref('stg_heart_rates') }} h
    qualify row_number() over (partition by user_id, "timestamp" order by extracted_at desc, activity_id) = 1
),
{% endif %}

-- One pass in reading order per user: whether a reading starts a session, and its predecessor's rate.
-- An incremental build orders its few rows as one sequence, by user and time, and compares users
-- itself rather than partitioning by user; a full build partitions, which scales with the readings.
-- Both give the same rows (WarehouseTest.IncrementalBuildsEqualAFullRebuildRowForRow).
flagged as (
    select
        * exclude (prior_user_id, prior_datetime, prior_activity_id, prior_rate),
        case
            when prior_user_id is distinct from user_id then 1
            when prior_activity_id <> activity_id then 1
            when event_datetime - prior_datetime > interval '{{ var("session_gap_minutes") }} minutes' then 1
            else 0
        end as starts_session,
        case when prior_user_id = user_id then prior_rate end as prior_heart_rate
    from (
        select
            *,
            lag(user_id) over by_user as prior_user_id,
            lag(event_datetime) over by_user as prior_datetime,
            lag(activity_id) over by_user as prior_activity_id,
            lag(heart_rate) over by_user as prior_rate
        from readings
        {% if is_incremental() and execute -%}
        window by_user as (order by user_id, event_datetime)
        {%- else -%}
        window by_user as (partition by user_id order by event_datetime)
        {%- endif %}
    )
),

{% if is_incremental() and execute %}
-- Sessions by their first reading; each reading joins the session whose span holds it (a join on
-- the few session starts instead of a running count over every reading).
session_bounds as (
    select
        user_id,
        event_datetime as session_start,
        -- one sequence by user and time, as in flagged
        case when lead(user_id) over by_user = user_id then lead(event_datetime) over by_user end as next_session_start
    from flagged
    where starts_session = 1
    window by_user as (order by user_id, event_datetime)
),

sessions as (
    select f.*, b.session_start as session_id
    from flagged f
    join session_bounds b
      on b.user_id = f.user_id
     and f.event_datetime >= b.session_start
     and (b.next_session_start is null or f.event_datetime < b.next_session_start)
),
{% else %}
-- Every reading: a running count of session starts (the join above grows with the sessions per user).
sessions as (
    select
        *,
        sum(starts_session) over (partition by user_id order by event_datetime rows unbounded preceding)
            as session_id
    from flagged
),
{% endif %}

-- session statistics by aggregation and a join rather than window partitions (the incremental build's
-- time is measured by bench/warehouse.sh)
session_stats as (
    select
        user_id,
        session_id,
        max(heart_rate) as max_heart_rate,
        min(heart_rate) as min_heart_rate,
        round(avg(heart_rate), 2) as avg_heart_rate,
        max(event_datetime) as session_end
    from sessions
    group by user_id, session_id
),

with_stats as (
    select
        s.*,
        case when s.starts_session = 1 then null else s.prior_heart_rate end as previous_heart_rate,
        st.max_heart_rate,
        st.min_heart_rate,
        st.avg_heart_rate,
        st.session_end
    from sessions s
    join session_stats st using (user_id, session_id)
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
{% if is_incremental() and execute %}
-- an incremental build's rows span the last hours and fill a row group or two of their own, so they
-- need no sorting for date-range queries to skip data
where r.session_end >= {{ cutoff }}
{% else %}
order by event_date, r.event_datetime, u.user_key
{% endif %}
