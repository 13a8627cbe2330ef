{#- Type 2 dimension: for each business id, versions are ordered by start, each ends after it starts,
    and a version that is followed by another ends exactly where the next begins unless the id was
    deleted in between (then the next version starts after the end). -#}
{% test scd2_versions_are_contiguous(model, id_column) %}
with versions as (
    select
        {{ id_column }} as id,
        start_date,
        end_date,
        lead(start_date) over (partition by {{ id_column }} order by start_date) as next_start
    from {{ model }}
)
select * from versions
where (end_date is not null and end_date <= start_date)
   or (next_start is not null and end_date is null)
   or (next_start is not null and next_start < end_date)
{% endtest %}
