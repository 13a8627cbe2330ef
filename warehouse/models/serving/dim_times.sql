-- One row per second of the day (86,400 rows). Built once: later builds find nothing to add.
{{ config(materialized='incremental', unique_key='hh_mm_ss') }}

with seconds as (
    select range as second_of_day from range(0, 86400)
)

select
    cast(make_time(second_of_day // 3600, (second_of_day // 60) % 60, second_of_day % 60) as time) as hh_mm_ss,
    cast(second_of_day // 3600 as integer) as hour,
    cast((second_of_day // 60) % 60 as integer) as minute,
    cast(second_of_day % 60 as integer) as second,
    case
        when second_of_day < 6 * 3600 then 'Night'
        when second_of_day < 12 * 3600 then 'Morning'
        when second_of_day < 18 * 3600 then 'Afternoon'
        else 'Evening'
    end as time_of_day
from seconds
{% if is_incremental() %}
where false
{% endif %}
order by hh_mm_ss
