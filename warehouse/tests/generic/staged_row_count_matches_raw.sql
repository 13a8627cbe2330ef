{#- stg_heart_rates holds exactly the raw readings minus the filtered ones (test records, unreadable rows). -#}
{% test staged_row_count_matches_raw(model) %}
with raw_kept as (
    select count(*) as n from {{ source('raw', 'heart_rate_stream') }}
    where try_cast("timestamp" as bigint) >= {{ var('test_records_before') }}
      and try_cast(user_id as integer) is not null
      and try_cast(heart_rate as integer) is not null
),
staged as (select count(*) as n from {{ model }})
select raw_kept.n as raw_rows, staged.n as staged_rows
from raw_kept, staged
where raw_kept.n <> staged.n
{% endtest %}
