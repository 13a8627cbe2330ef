-- The ids the staged readings refer to: one row per (user_id, activity_id) pair, with the newest
-- extraction that held it. dim_users and dim_activities give an id that readings refer to but CDC never
-- captured (deleted before the first snapshot) an inferred member from it, so that every reading is
-- placed. Incremental: only the readings staged since the last build are looked at, and the pairs they
-- hold are merged in (at most users x activities rows).
{{ config(materialized='incremental', incremental_strategy='merge', unique_key=['user_id', 'activity_id']) }}

{% if is_incremental() %}
{#- the newest extraction already seen, as a literal so the scan skips the row groups staged before it -#}
{%- set seen = run_query("select cast(coalesce(max(extracted_at), '1970-01-01'::timestamptz) as varchar) from " ~ this) -%}
{% endif %}
select user_id, activity_id, max(extracted_at) as extracted_at
from {{ ref('stg_heart_rates') }}
{% if is_incremental() and execute %}
where extracted_at > timestamptz '{{ seen.rows[0][0] }}'
{% endif %}
group by user_id, activity_id
