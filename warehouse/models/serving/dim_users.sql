-- Users as a type 2 dimension. Each version starts at the CDC commit time of the change that produced
-- it and ends where the next change of the same user begins (next version or delete); the current
-- version has end_date NULL. A delete closes only the open version; a sign-up after a delete opens a
-- new version. The surrogate key is a hash of (user_id, start_date): stable across rebuilds.
-- Every reading finds a version (Kimball's early-arriving facts):
-- - the first version of a user starts at 1900-01-01 (the first day of dim_dates), not at its commit
--   time: the first CDC snapshot sees only each user's latest row, valid from its last change, and
--   readings from before it belong to that person too;
-- - a user id that readings refer to (stg_reading_ids) but CDC never captured (deleted before the
--   first snapshot) gets an inferred member: is_inferred, attributes NULL, from 1900-01-01 on. Its
--   key is the one a first version gets, so when the user returns (a re-sign-up) the real row takes
--   it over and the readings already placed keep pointing at the right row.
-- time_zone: the IANA zone of the address, for local time of day: the zone of its state or territory
-- (the area code before the postcode, seed area_time_zones) in countries spanning several zones,
-- else the country's (seed country_regions); NULL for a country missing from the seed.
{{ config(materialized='table') }}

with versions as (
    {{ scd2_versions(ref('stg_users'), 'user_id') }}
),

inferred as (
    {{ scd2_inferred_ids(ref('stg_reading_ids'), 'versions', 'user_id') }}
)

select
    {{ scd2_key('user_id', 'valid_from') }} as user_key,
    user_id,
    first_name,
    last_name,
    case when date_of_birth > 0
         then try_strptime(cast(date_of_birth as varchar), '%Y%m%d')::date end as date_of_birth,
    sex,
    height,
    weight,
    blood_type,
    race,
    origin_country_code,
    origin_country_name,
    address,
    address_country_code,
    address_country_name,
    coalesce(z.time_zone, c.time_zone) as time_zone,
    valid_from as start_date,
    next_change_at at time zone 'UTC' as end_date,
    false as is_inferred
from versions o
left join {{ ref('country_regions') }} c
    on c.alpha2 = o.address_country_code
left join {{ ref('area_time_zones') }} z
    on z.alpha2 = o.address_country_code
   and z.area = regexp_extract(o.address, '([A-Z]{2,3}),? [0-9][0-9-]*$', 1)

union all

select
    {{ scd2_key('user_id', "timestamp '1900-01-01'") }},
    user_id,
    null, null, null, null, null, null, null, null, null, null, null, null, null, null,
    timestamp '1900-01-01',
    null,
    true
from inferred
