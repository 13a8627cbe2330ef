{#- For the fact table's incremental build: each user's last session start at or before `cutoff` (a
    timestamp literal) among the table's readings of the day before it. previous_heart_rate is NULL
    exactly at a session's first reading; a user whose readings of that day all belong to a session
    begun earlier gets the day's beginning. -#}
{% macro user_session_starts(cutoff) %}
select
    u.user_id,
    coalesce(max(f.event_datetime) filter (where f.previous_heart_rate is null),
             {{ cutoff }} - interval 1 day) as session_start
from {{ this }} f
join {{ ref('dim_users') }} u on u.user_key = f.user_key
where f.event_datetime between {{ cutoff }} - interval 1 day and {{ cutoff }}
group by u.user_id
{% endmacro %}
