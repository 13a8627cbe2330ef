-- Activities as a type 2 dimension (renames and retirements), with the same rules as dim_users.
{{ config(materialized='table') }}

with changes as (
    select
        *,
        row_number() over (partition by activity_id, updated_at order by lsn desc) as rank_in_instant
    from {{ ref('stg_activities') }}
),

ordered as (
    select
        *,
        lead(updated_at) over (partition by activity_id order by updated_at, lsn) as next_change_at
    from changes
    where rank_in_instant = 1
)

select
    md5(cast(activity_id as varchar) || '|' || cast(epoch_us(updated_at) as varchar)) as activity_key,
    activity_id,
    activity_name,
    updated_at at time zone 'UTC' as start_date,
    next_change_at at time zone 'UTC' as end_date
from ordered
where deleted_at is null
