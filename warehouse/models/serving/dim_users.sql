-- Users as a type 2 dimension. Each version starts at the CDC commit time of the change that produced
-- it and ends where the next change of the same user begins (next version or delete); the current
-- version has end_date NULL. A delete closes only the open version; a sign-up after a delete opens a
-- new version. The surrogate key is a hash of (user_id, start_date): stable across rebuilds.
-- time_zone: the IANA zone of the address, for local time of day: the zone of its state or territory
-- (the area code before the postcode, seed area_time_zones) in countries spanning several zones,
-- else the country's (seed country_regions); NULL for a country missing from the seed.
{{ config(materialized='table') }}

with changes as (
    select
        *,
        -- several changes committed at the same instant: the last one (highest LSN) wins
        row_number() over (partition by user_id, updated_at order by lsn desc) as rank_in_instant
    from {{ ref('stg_users') }}
),

ordered as (
    select
        *,
        lead(updated_at) over (partition by user_id order by updated_at, lsn) as next_change_at
    from changes
    where rank_in_instant = 1
)

select
    md5(cast(user_id as varchar) || '|' || cast(epoch_us(updated_at) as varchar)) as user_key,
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
    updated_at at time zone 'UTC' as start_date,
    next_change_at at time zone 'UTC' as end_date
from ordered o
left join {{ ref('country_regions') }} c
    on c.alpha2 = o.address_country_code
left join {{ ref('area_time_zones') }} z
    on z.alpha2 = o.address_country_code
   and z.area = regexp_extract(o.address, '([A-Z]{2,3}),? [0-9][0-9-]*$', 1)
where o.deleted_at is null
