{#- For the fact table's incremental build: the start of each session still open at `cutoff` (a
    timestamp literal): for every user with a reading at most var('session_gap_minutes') before it, the
    last session start at or before it among the table's readings of the day before it.
    previous_heart_rate is NULL exactly at a session's first reading; a user whose readings of that day
    all belong to a session begun earlier gets the day's beginning. A user without such a reading
    cannot continue a session across the cutoff: their first reading after it starts one. -#}
{% macro user_session_starts(cutoff) %}
select
    u.user_id,
    coalesce(max(f.event_datetime) filter (where f.previous_heart_rate is null),
             {{ cutoff }} - interval 1 day) as session_start
from {{ this }} f
join {{ ref('dim_users') }} u on u.user_key = f.user_key
where f.event_datetime between {{ cutoff }} - interval 1 day and {{ cutoff }}
group by u.user_id
having max(f.event_datetime) >= {{ cutoff }} - interval '{{ var("session_gap_minutes") }} minutes'
{% endmacro %}
