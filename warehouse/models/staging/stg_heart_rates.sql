-- Readings with types cast (the original producer sent every value as a string), the original
-- system's test records removed, location taken out of `meta`. Appends only rows extracted since the
-- last build. Rows the loader could not read (user, time or heart rate missing) stay in raw with their
-- error and are counted by the raw tests; they are not staged.
{{ config(materialized='incremental', incremental_strategy='append') }}

{% if is_incremental() %}
{#- The newest extraction already staged, as a literal: raw rows are stored in extraction order, so the
    scan skips every row group loaded before it (DuckDB prunes on constants, not on subqueries). -#}
{%- set staged = run_query("select cast(coalesce(max(extracted_at), '1970-01-01'::timestamptz) as varchar) from " ~ this) -%}
{% endif %}
with source as (
    select * from {{ source('raw', 'heart_rate_stream') }}
    {% if is_incremental() and execute %}
    where _airbyte_extracted_at > timestamptz '{{ staged.rows[0][0] }}'
    {% endif %}
)

select
    try_cast(user_id as integer) as user_id,
    try_cast("timestamp" as bigint) as "timestamp",
    try_cast(heart_rate as integer) as heart_rate,
    try_cast(json_extract_string(meta, '$.activity_id') as integer) as activity_id,
    try_cast(json_extract_string(meta, '$.location.latitude') as double) as latitude,
    try_cast(json_extract_string(meta, '$.location.longitude') as double) as longitude,
    _airbyte_extracted_at as extracted_at
from source
where try_cast("timestamp" as bigint) >= {{ var('test_records_before') }}
  and try_cast(user_id as integer) is not null
  and try_cast(heart_rate as integer) is not null
