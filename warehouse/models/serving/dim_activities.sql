-- Activities as a type 2 dimension (renames and retirements), with the same rules as dim_users: the
-- first version covers the time before it (from 1900-01-01), and an activity id that readings refer
-- to but CDC never captured gets an inferred member (is_inferred, activity_name 'Unknown').
{{ config(materialized='table') }}

with versions as (
    {{ scd2_versions(ref('stg_activities'), 'activity_id') }}
),

inferred as (
    {{ scd2_inferred_ids(ref('stg_reading_ids'), 'versions', 'activity_id') }}
)

select
    {{ scd2_key('activity_id', 'valid_from') }} as activity_key,
    activity_id,
    activity_name,
    valid_from as start_date,
    next_change_at at time zone 'UTC' as end_date,
    false as is_inferred
from versions

union all

select
    {{ scd2_key('activity_id', "timestamp '1900-01-01'") }},
    activity_id,
    'Unknown',
    timestamp '1900-01-01',
    null,
    true
from inferred
