-- Every staged reading (one per user and second) has exactly one fact row: none lost because no user or
-- activity version was valid at its time, none counted twice.
with staged as (
    select count(*) as n
    from (select distinct user_id, "timestamp" from {{ ref('stg_heart_rates') }})
),
placed as (select count(*) as n from {{ ref('fct_heart_rates') }})
select staged.n as staged_readings, placed.n as fact_rows
from staged, placed
where staged.n <> placed.n
