{#- Rows the loader could not read cleanly: their `_airbyte_meta.errors` is not empty. -#}
{% test airbyte_meta_has_no_errors(model) %}
select _airbyte_raw_id, _ab_source_file_url, _airbyte_meta
from {{ model }}
where coalesce(json_array_length(json_extract(_airbyte_meta, '$.errors')), 0) > 0
{% endtest %}
