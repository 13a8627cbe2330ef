{#- Shared by the type 2 dimensions (dim_users, dim_activities). -#}

{#- The versions of each `id_column` in `changes` (a staging model of CDC rows: updated_at = commit
    time, lsn, deleted_at set on deletes), one row per change that is not a delete, with
    next_change_at (the commit time of the id's next change, version or delete; NULL for the current
    version) and valid_from: the commit time, except for the id's first version, which covers the time
    before it from 1900-01-01 on (the first CDC snapshot sees only each row's latest version). Several
    changes committed at the same instant: the last one (highest LSN) wins. -#}
{% macro scd2_versions(changes, id_column) %}
select
    *,
    case when row_number() over (partition by {{ id_column }} order by updated_at, lsn) = 1
         then timestamp '1900-01-01'
         else updated_at at time zone 'UTC' end as valid_from
from (
    select
        *,
        lead(updated_at) over (partition by {{ id_column }} order by updated_at, lsn) as next_change_at
    from (
        select *, row_number() over (partition by {{ id_column }}, updated_at order by lsn desc) as rank_in_instant
        from {{ changes }}
    )
    where rank_in_instant = 1
)
where deleted_at is null
{% endmacro %}

{#- The ids of `id_column` that readings refer to (`reading_ids`: stg_reading_ids) but `versions` lacks:
    the dimension's inferred members. -#}
{% macro scd2_inferred_ids(reading_ids, versions, id_column) %}
select distinct {{ id_column }} from {{ reading_ids }}
where {{ id_column }} not in (select {{ id_column }} from {{ versions }})
{% endmacro %}

{#- A surrogate key: hash of the id and the version's start (a timestamp expression). -#}
{% macro scd2_key(id_column, start) %}md5(cast({{ id_column }} as varchar) || '|' || cast(epoch_us({{ start }}) as varchar)){% endmacro %}
