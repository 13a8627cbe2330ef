-- A delete closes only the version open at that moment: every deleted user's earlier versions keep the
-- end they had (the start of the next version), and the closed version ends exactly at the delete.
with deletes as (
    select user_id, updated_at at time zone 'UTC' as deleted_at
    from {{ ref('stg_users') }}
    where deleted_at is not null
),
open_at_delete as (
    select d.user_id, d.deleted_at, u.user_key, u.end_date
    from deletes d
    join {{ ref('dim_users') }} u
      on u.user_id = d.user_id and u.start_date < d.deleted_at
     and (u.end_date is null or u.end_date >= d.deleted_at)
)
select * from open_at_delete
where end_date is null or end_date <> deleted_at
