-- Every version of every user, as captured by CDC: one row per insert, update or delete, with the
-- commit time of the change (`updated_at`) and, for deletes, `deleted_at`. Incremental on extraction time.
{{ config(materialized='incremental', incremental_strategy='append') }}

select
    cast(user_id as integer) as user_id,
    first_name,
    last_name,
    cast(date_of_birth as integer) as date_of_birth,
    sex,
    cast(height as smallint) as height,
    cast(weight as smallint) as weight,
    blood_type,
    race,
    origin_country_code,
    origin_country_name,
    address,
    address_country_code,
    address_country_name,
    cast(last_update as timestamp) as last_update,
    cast(_ab_cdc_lsn as bigint) as lsn,
    cast(_ab_cdc_updated_at as timestamptz) as updated_at,
    cast(_ab_cdc_deleted_at as timestamptz) as deleted_at,
    _airbyte_extracted_at as extracted_at
from {{ source('raw', 'users') }}
{% if is_incremental() %}
where _airbyte_extracted_at > (select coalesce(max(extracted_at), '1970-01-01'::timestamptz) from {{ this }})
{% endif %}
