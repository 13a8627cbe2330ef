-- Each fact row's user version was valid when the reading was taken (start <= time < end).
select f.user_key, f.event_datetime, u.start_date, u.end_date
from {{ ref('fct_heart_rates') }} f
join {{ ref('dim_users') }} u using (user_key)
where f.event_datetime < u.start_date
   or (u.end_date is not null and f.event_datetime >= u.end_date)
