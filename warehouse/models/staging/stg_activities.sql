-- Every version of every activity from CDC (renames, retirements), incremental on extraction time.
{{ config(materialized='incremental', incremental_strategy='append') }}

select
    cast(activity_id as integer) as activity_id,
    activity_name,
    cast(last_update as timestamp) as last_update,
    cast(_ab_cdc_lsn as bigint) as lsn,
    cast(_ab_cdc_updated_at as timestamptz) as updated_at,
    cast(_ab_cdc_deleted_at as timestamptz) as deleted_at,
    _airbyte_extracted_at as extracted_at
from {{ source('raw', 'activities') }}
{% if is_incremental() %}
where _airbyte_extracted_at > (select coalesce(max(extracted_at), '1970-01-01'::timestamptz) from {{ this }})
{% endif %}
