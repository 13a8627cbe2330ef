-- The dashboard's queries (no filter set) written for PostgreSQL, over the same star schema as the
-- DuckDB warehouse: the peer tool of bench/dashboard.sh. Same semantics as the compiled semantic
-- layer (`build/src/query/dashboard_bench sql NAME` prints those); local time in each user's zone
-- (dim_users.time_zone) with PostgreSQL's own time-zone conversion. One query per "-- name:" block.

-- name: tiles
SELECT count(*) AS readings, count(DISTINCT u.user_id) AS users, count(DISTINCT u.address_country_code) AS countries,
       round(avg(f.heart_rate), 2) AS avg_heart_rate
FROM fct_heart_rates f JOIN dim_users u ON u.user_key = f.user_key;

-- name: blood_race
SELECT u.blood_type, u.race, round(avg(f.heart_rate), 2), count(*)
FROM fct_heart_rates f JOIN dim_users u ON u.user_key = f.user_key GROUP BY 1, 2 ORDER BY 1, 2;

-- name: exercise_sex
SELECT a.activity_name, u.sex, round(avg(f.heart_rate), 2)
FROM fct_heart_rates f JOIN dim_users u ON u.user_key = f.user_key JOIN dim_activities a ON a.activity_key = f.activity_key
WHERE a.activity_name NOT IN ('Stand', 'Sit', 'Sleep') GROUP BY 1, 2 ORDER BY 1, 2;

-- name: europe_map
SELECT c.numeric, u.address_country_name, round(avg(f.heart_rate), 2), count(DISTINCT u.user_id), count(*)
FROM fct_heart_rates f JOIN dim_users u ON u.user_key = f.user_key LEFT JOIN country_regions c ON c.alpha2 = u.address_country_code
WHERE c.region = 'Europe' GROUP BY 1, 2 ORDER BY 1, 2;

-- name: q1_age
SELECT a.activity_name,
       (ARRAY['18-29', '18-29', '30-39', '40-49', '50-59', '60-69', '70+'])[least(greatest(date_part('year', age(f.event_date, u.date_of_birth))::int / 10, 1), 7)] AS age_group,
       round(avg(f.heart_rate), 2)
FROM fct_heart_rates f JOIN dim_users u ON u.user_key = f.user_key JOIN dim_activities a ON a.activity_key = f.activity_key
GROUP BY 1, 2 ORDER BY 1, 2;

-- name: q1_region
SELECT a.activity_name, c.subregion, round(avg(f.heart_rate), 2)
FROM fct_heart_rates f JOIN dim_users u ON u.user_key = f.user_key JOIN dim_activities a ON a.activity_key = f.activity_key
LEFT JOIN country_regions c ON c.alpha2 = u.address_country_code GROUP BY 1, 2 ORDER BY 1, 2;

-- name: q1_sex
SELECT (ARRAY['18-29', '18-29', '30-39', '40-49', '50-59', '60-69', '70+'])[least(greatest(date_part('year', age(f.event_date, u.date_of_birth))::int / 10, 1), 7)] AS age_group,
       u.sex, round(avg(f.heart_rate), 2), round(avg(f.heart_rate) FILTER (WHERE a.activity_name IN ('Sit', 'Sleep')), 2)
FROM fct_heart_rates f JOIN dim_users u ON u.user_key = f.user_key JOIN dim_activities a ON a.activity_key = f.activity_key
GROUP BY 1, 2 ORDER BY 1, 2;

-- name: q2_month
SELECT d.year_number, d.month_of_year, c.hemisphere,
       round(avg(f.heart_rate) FILTER (WHERE a.activity_name IN ('Sit', 'Sleep')), 2),
       count(*) FILTER (WHERE a.activity_name IN ('Sit', 'Sleep'))
FROM fct_heart_rates f JOIN dim_users u ON u.user_key = f.user_key JOIN dim_activities a ON a.activity_key = f.activity_key
JOIN dim_dates d ON d.date_day = f.event_date LEFT JOIN country_regions c ON c.alpha2 = u.address_country_code
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;

-- name: q2_week
SELECT d.iso_week_of_year, c.subregion, round(avg(f.heart_rate) FILTER (WHERE a.activity_name IN ('Sit', 'Sleep')), 2)
FROM fct_heart_rates f JOIN dim_users u ON u.user_key = f.user_key JOIN dim_activities a ON a.activity_key = f.activity_key
JOIN dim_dates d ON d.date_day = f.event_date LEFT JOIN country_regions c ON c.alpha2 = u.address_country_code
GROUP BY 1, 2 ORDER BY 1, 2;

-- name: q3_hour
SELECT c.subregion, extract(hour FROM (f.event_datetime AT TIME ZONE 'UTC') AT TIME ZONE coalesce(u.time_zone, 'UTC')) AS local_hour,
       a.activity_name, 10 * count(DISTINCT (f.user_key, floor(extract(epoch FROM f.event_datetime) / 600)))
FROM fct_heart_rates f JOIN dim_users u ON u.user_key = f.user_key JOIN dim_activities a ON a.activity_key = f.activity_key
LEFT JOIN country_regions c ON c.alpha2 = u.address_country_code GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;

-- name: q3_weekday
SELECT extract(isodow FROM (f.event_datetime AT TIME ZONE 'UTC') AT TIME ZONE coalesce(u.time_zone, 'UTC')) AS local_weekday,
       a.activity_name, 10 * count(DISTINCT (f.user_key, floor(extract(epoch FROM f.event_datetime) / 600)))
FROM fct_heart_rates f JOIN dim_users u ON u.user_key = f.user_key JOIN dim_activities a ON a.activity_key = f.activity_key
LEFT JOIN country_regions c ON c.alpha2 = u.address_country_code
WHERE a.activity_name NOT IN ('Stand', 'Sit', 'Sleep') GROUP BY 1, 2 ORDER BY 1, 2;
