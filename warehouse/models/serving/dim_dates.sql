-- One row per day from 1900-01-01 to 2099-12-31 (73,049 rows) with the columns of dbt_date's date
-- dimension. Weeks (week_*) start on Sunday; ISO weeks (iso_week_*) on Monday. "Prior year" columns
-- refer to the same weekday 52 weeks (364 days) earlier, as dbt_date does. Built once.
{{ config(materialized='incremental', unique_key='date_day') }}

{%- set first_day = "date '1900-01-01'" %}
{%- set end_day = "date '2100-01-01'" %}
with days as (
    select cast(range as date) as date_day
    from range({{ first_day }}, {{ end_day }}, interval 1 day)
    {% if is_incremental() %}
    -- built once: later builds add only missing days, found before any column is computed, and
    -- none at all when the table already holds every day (counted first, from the table alone)
    {%- set complete = run_query("select count(*) = " ~ end_day ~ " - " ~ first_day ~ " from " ~ this).rows[0][0] if execute else false %}
    where {{ "false" if complete else "cast(range as date) not in (select date_day from " ~ this ~ ")" }}
    {% endif %}
),

parts as (
    select
        date_day,
        cast(date_day - interval 1 day as date) as prior_date_day,
        cast(date_day + interval 1 day as date) as next_date_day,
        cast(date_day - interval 1 year as date) as prior_year_date_day,
        cast(date_day - interval 364 day as date) as prior_year_over_year_date_day,
        cast(dayofweek(date_day) + 1 as integer) as day_of_week,
        cast(isodow(date_day) as integer) as day_of_week_iso,
        dayname(date_day) as day_of_week_name,
        strftime(date_day, '%a') as day_of_week_name_short,
        cast(dayofmonth(date_day) as integer) as day_of_month,
        cast(dayofyear(date_day) as integer) as day_of_year,
        cast(date_day - cast(dayofweek(date_day) as integer) as date) as week_start_date,
        cast(date_day - cast(isodow(date_day) - 1 as integer) as date) as iso_week_start_date,
        cast(strftime(date_day, '%U') as integer) + 1 as week_of_year,
        cast(weekofyear(date_day) as integer) as iso_week_of_year,
        cast(month(date_day) as integer) as month_of_year,
        monthname(date_day) as month_name,
        strftime(date_day, '%b') as month_name_short,
        cast(date_trunc('month', date_day) as date) as month_start_date,
        cast(last_day(date_day) as date) as month_end_date,
        cast(quarter(date_day) as integer) as quarter_of_year,
        cast(date_trunc('quarter', date_day) as date) as quarter_start_date,
        cast(date_trunc('quarter', date_day) + interval 3 month - interval 1 day as date) as quarter_end_date,
        cast(year(date_day) as integer) as year_number,
        cast(date_trunc('year', date_day) as date) as year_start_date,
        cast(make_date(year(date_day), 12, 31) as date) as year_end_date
    from days
)

select
    date_day,
    prior_date_day,
    next_date_day,
    prior_year_date_day,
    prior_year_over_year_date_day,
    day_of_week,
    day_of_week_iso,
    day_of_week_name,
    day_of_week_name_short,
    day_of_month,
    day_of_year,
    week_start_date,
    cast(week_start_date + 6 as date) as week_end_date,
    cast(prior_year_over_year_date_day - cast(dayofweek(prior_year_over_year_date_day) as integer) as date)
        as prior_year_week_start_date,
    cast(prior_year_over_year_date_day - cast(dayofweek(prior_year_over_year_date_day) as integer) + 6 as date)
        as prior_year_week_end_date,
    week_of_year,
    iso_week_start_date,
    cast(iso_week_start_date + 6 as date) as iso_week_end_date,
    cast(prior_year_over_year_date_day - cast(isodow(prior_year_over_year_date_day) - 1 as integer) as date)
        as prior_year_iso_week_start_date,
    cast(prior_year_over_year_date_day - cast(isodow(prior_year_over_year_date_day) - 1 as integer) + 6 as date)
        as prior_year_iso_week_end_date,
    iso_week_of_year,
    cast(strftime(prior_year_over_year_date_day, '%U') as integer) + 1 as prior_year_week_of_year,
    cast(weekofyear(prior_year_over_year_date_day) as integer) as prior_year_iso_week_of_year,
    month_of_year,
    month_name,
    month_name_short,
    month_start_date,
    month_end_date,
    cast(date_trunc('month', prior_year_date_day) as date) as prior_year_month_start_date,
    cast(last_day(prior_year_date_day) as date) as prior_year_month_end_date,
    quarter_of_year,
    quarter_start_date,
    quarter_end_date,
    year_number,
    year_start_date,
    year_end_date
from parts
order by date_day
