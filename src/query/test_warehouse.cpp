#include "query/test_warehouse.h"

#include <fmt/format.h>
#include <unistd.h>

#include <filesystem>

#include "transform/project.h"
#include "transform/runner.h"

namespace hrflow::query::testing {

namespace {

constexpr const char* kDimensionTables = R"sql(
CREATE SCHEMA IF NOT EXISTS serving;
CREATE SCHEMA IF NOT EXISTS staging;
CREATE OR REPLACE TABLE serving.dim_dates AS
SELECT CAST(range AS DATE) AS date_day,
       CAST(isodow(range) AS INTEGER) AS day_of_week_iso,
       CAST(month(range) AS INTEGER) AS month_of_year,
       CAST(date_trunc('month', range) AS DATE) AS month_start_date,
       CAST(weekofyear(range) AS INTEGER) AS iso_week_of_year,
       CAST(year(range) AS INTEGER) AS year_number
FROM range(DATE '2000-01-01', DATE '2040-01-01', INTERVAL 1 DAY);
CREATE OR REPLACE TABLE serving.dim_times AS
SELECT CAST(make_time(range // 3600, (range // 60) % 60, range % 60) AS TIME) AS hh_mm_ss,
       CAST(range // 3600 AS INTEGER) AS hour
FROM range(0, 86400);
)sql";

constexpr const char* kFactColumns = R"sql(
    user_key VARCHAR, activity_key VARCHAR, event_date DATE, event_time TIME, event_datetime TIMESTAMP,
    heart_rate BIGINT, previous_heart_rate BIGINT, max_heart_rate BIGINT, min_heart_rate BIGINT,
    avg_heart_rate DOUBLE, latitude DOUBLE, longitude DOUBLE)sql";

}  // namespace

Status load_country_regions(db::Connection& conn) {
  HRFLOW_TRY(conn.execute("CREATE SCHEMA IF NOT EXISTS staging"));
  return conn.execute(fmt::format(
      "CREATE OR REPLACE TABLE staging.country_regions AS SELECT * FROM read_csv({}, header = true, all_varchar = true)",
      db::quote_literal(std::string(HRFLOW_SOURCE_DIR) + "/warehouse/seeds/country_regions.csv")));
}

Status create_tiny_star_schema(db::Connection& conn) {
  HRFLOW_TRY(conn.execute(kDimensionTables));
  HRFLOW_TRY(load_country_regions(conn));
  HRFLOW_TRY(conn.execute(R"sql(
CREATE OR REPLACE TABLE serving.dim_users (user_key VARCHAR, user_id BIGINT, first_name VARCHAR, last_name VARCHAR,
  date_of_birth DATE, sex VARCHAR, height BIGINT, weight BIGINT, blood_type VARCHAR, race VARCHAR,
  origin_country_code VARCHAR, origin_country_name VARCHAR, address VARCHAR, address_country_code VARCHAR,
  address_country_name VARCHAR, time_zone VARCHAR, start_date TIMESTAMP, end_date TIMESTAMP);
INSERT INTO serving.dim_users VALUES
  ('k1', 1, 'Ana', 'Ruiz', DATE '1990-06-15', 'F', 165, 60, 'A+', 'W', 'ES', 'Spain', 'Madrid', 'ES', 'Spain', 'Europe/Madrid', TIMESTAMP '2020-01-01', NULL),
  ('k2', 2, 'Bob', 'Lee', DATE '1960-01-01', 'M', 180, 85, 'O-', 'B', 'AU', 'Australia', 'Sydney', 'AU', 'Australia', 'Australia/Sydney', TIMESTAMP '2020-01-01', NULL),
  ('k3a', 3, 'Jan', 'Berg', DATE '1985-03-10', 'M', 175, 75, 'B+', 'W', 'DE', 'Germany', 'Berlin', 'DE', 'Germany', 'Europe/Berlin', TIMESTAMP '2020-01-01', TIMESTAMP '2024-06-01'),
  ('k3b', 3, 'Jan', 'Berg', DATE '1985-03-10', 'M', 175, 75, 'B+', 'W', 'DE', 'Germany', 'Stockholm', 'SE', 'Sweden', 'Europe/Stockholm', TIMESTAMP '2024-06-01', NULL);
CREATE OR REPLACE TABLE serving.dim_activities (activity_key VARCHAR, activity_id BIGINT, activity_name VARCHAR,
  start_date TIMESTAMP, end_date TIMESTAMP);
INSERT INTO serving.dim_activities VALUES
  ('a_stand', 20001, 'Stand', TIMESTAMP '2020-01-01', NULL), ('a_sit', 20002, 'Sit', TIMESTAMP '2020-01-01', NULL),
  ('a_sleep', 20003, 'Sleep', TIMESTAMP '2020-01-01', NULL), ('a_walk', 20004, 'Walk', TIMESTAMP '2020-01-01', NULL),
  ('a_run', 20005, 'Run', TIMESTAMP '2020-01-01', NULL);
)sql"));
  HRFLOW_TRY(conn.execute(fmt::format("CREATE OR REPLACE TABLE serving.fct_heart_rates ({})", kFactColumns)));
  return conn.execute(R"sql(
INSERT INTO serving.fct_heart_rates
SELECT user_key, activity_key, CAST(ts AS DATE), CAST(ts AS TIME), ts, hr, NULL, NULL, NULL, NULL, 0, 0
FROM (VALUES
  ('k1', 'a_run', TIMESTAMP '2024-01-10 08:00:00', 150),
  ('k1', 'a_run', TIMESTAMP '2024-01-10 08:00:05', 160),
  ('k1', 'a_sit', TIMESTAMP '2024-01-10 12:00:00', 70),
  ('k1', 'a_sleep', TIMESTAMP '2024-07-10 02:00:00', 55),
  ('k2', 'a_run', TIMESTAMP '2024-01-10 20:00:00', 140),
  ('k2', 'a_sit', TIMESTAMP '2024-07-10 02:00:00', 80),
  ('k2', 'a_sleep', TIMESTAMP '2024-01-10 14:00:00', 60),
  ('k3a', 'a_walk', TIMESTAMP '2024-03-01 10:00:00', 100),
  ('k3b', 'a_walk', TIMESTAMP '2024-07-01 10:00:00', 110),
  ('k3b', 'a_stand', TIMESTAMP '2024-07-01 10:10:00', 90)
) AS r(user_key, activity_key, ts, hr)
ORDER BY ts;
)sql");
}

Status create_synthetic_star_schema(db::Connection& conn, const SyntheticOptions& o) {
  HRFLOW_TRY(conn.execute(kDimensionTables));
  HRFLOW_TRY(load_country_regions(conn));
  // Users over the fleet's 14 countries; ages 18-80; a resting rate of their own.
  HRFLOW_TRY(conn.execute(fmt::format(R"sql(
CREATE OR REPLACE TABLE serving.dim_users AS
WITH countries AS (
  SELECT * FROM (VALUES (0, 'US', 'United States of America'), (1, 'GB', 'United Kingdom'), (2, 'AU', 'Australia'),
    (3, 'BR', 'Brazil'), (4, 'ES', 'Spain'), (5, 'FR', 'France'), (6, 'DE', 'Germany'), (7, 'IT', 'Italy'),
    (8, 'NL', 'Netherlands'), (9, 'SE', 'Sweden'), (10, 'NO', 'Norway'), (11, 'FI', 'Finland'), (12, 'DK', 'Denmark'),
    (13, 'PL', 'Poland')) AS t(i, code, name))
SELECT md5(CAST(10001 + range AS VARCHAR)) AS user_key, 10001 + range AS user_id, 'First' AS first_name, 'Last' AS last_name,
       CAST(DATE '1944-01-01' + CAST(hash(range, 'dob') % 22000 AS INTEGER) AS DATE) AS date_of_birth,
       CASE WHEN hash(range, 'sex') % 2 = 0 THEN 'F' ELSE 'M' END AS sex,
       160 + CAST(hash(range, 'h') % 35 AS BIGINT) AS height, 55 + CAST(hash(range, 'w') % 45 AS BIGINT) AS weight,
       ['O+', 'A+', 'B+', 'AB+', 'O-', 'A-', 'B-', 'AB-'][1 + CAST(hash(range, 'b') % 8 AS INTEGER)] AS blood_type,
       ['W', 'B', 'A', 'H', 'O'][1 + CAST(hash(range, 'r') % 5 AS INTEGER)] AS race,
       c.code AS origin_country_code, c.name AS origin_country_name, 'Main street' AS address,
       c.code AS address_country_code, c.name AS address_country_name, r.time_zone,
       TIMESTAMP '2015-01-01' AS start_date, CAST(NULL AS TIMESTAMP) AS end_date
FROM range({}) JOIN countries c ON c.i = range % 14 JOIN staging.country_regions r ON r.alpha2 = c.code
)sql", o.users)));
  HRFLOW_TRY(conn.execute(R"sql(
CREATE OR REPLACE TABLE serving.dim_activities AS
SELECT md5(CAST(20001 + i AS VARCHAR)) AS activity_key, 20001 + i AS activity_id, name AS activity_name,
       TIMESTAMP '2015-01-01' AS start_date, CAST(NULL AS TIMESTAMP) AS end_date
FROM (SELECT unnest(['Stand', 'Sit', 'Sleep', 'Walk', 'Run', 'Cycling', 'Elliptical', 'Rower', 'Stair Stepper', 'HIIT',
      'Hiking', 'Yoga', 'Functional Strength Training', 'Dance', 'Cooldown', 'Core Training', 'Pilates', 'Tai Chi',
      'Swimming', 'Wheelchair', 'Multisport', 'Kickboxing', 'Other']) AS name,
      generate_subscripts(['Stand', 'Sit', 'Sleep', 'Walk', 'Run', 'Cycling', 'Elliptical', 'Rower', 'Stair Stepper', 'HIIT',
      'Hiking', 'Yoga', 'Functional Strength Training', 'Dance', 'Cooldown', 'Core Training', 'Pilates', 'Tai Chi',
      'Swimming', 'Wheelchair', 'Multisport', 'Kickboxing', 'Other'], 1) - 1 AS i)
)sql"));
  // Readings: each user's day sampled at evenly spread local times (+ jitter). The activity follows a
  // schedule by local hour (sleep at night, sitting by day, workouts mornings or evenings - later in
  // southern Europe), heart rate = the user's resting rate + the activity's intensity + season by
  // hemisphere (peak mid-January north, mid-July south) + a night dip + noise.
  const int per_day = o.readings_per_day;
  return conn.execute(fmt::format(R"sql(
CREATE OR REPLACE TABLE serving.fct_heart_rates AS
WITH u AS (
  SELECT u.user_key, u.user_id,
         CASE WHEN u.address_country_code IN ('AU', 'BR') THEN 1 ELSE 0 END AS south,
         CASE u.address_country_code WHEN 'US' THEN -5 WHEN 'AU' THEN 10 WHEN 'BR' THEN -3 WHEN 'GB' THEN 0
              WHEN 'FI' THEN 2 ELSE 1 END AS utc_offset,
         CASE WHEN u.address_country_code IN ('ES', 'IT') THEN 2 ELSE 0 END AS evening_shift,
         58 + CAST(hash(u.user_id, 'rest') % 15 AS INTEGER) AS rest
  FROM serving.dim_users u
),
slots AS (
  SELECT u.*, d.range AS day, s.range AS slot,
         ({first_day} + d.range) * 86400 + CAST(s.range * 86400 / {per_day} AS BIGINT)
           + CAST(hash(u.user_id, d.range, s.range) % GREATEST(1, 86400 // {per_day}) AS BIGINT) AS local_epoch
  FROM u CROSS JOIN range({days}) d CROSS JOIN range({per_day}) s
),
shaped AS (
  SELECT *, ((local_epoch % 86400) / 3600.0) AS local_h,
         hash(user_id, day) % 3 AS workout_kind,
         CAST(local_epoch / 86400 AS BIGINT) AS local_day
  FROM slots
),
activity AS (
  SELECT *,
    CASE WHEN local_h < 6.5 OR local_h >= 23 + evening_shift * 0.5 THEN 'Sleep'
         WHEN workout_kind = 0 AND local_h >= 7 AND local_h < 8 THEN 'Run'
         WHEN workout_kind = 1 AND local_h >= 18 + evening_shift AND local_h < 19 + evening_shift THEN 'Functional Strength Training'
         WHEN workout_kind = 2 AND local_h >= 17 + evening_shift AND local_h < 18 + evening_shift THEN 'Cycling'
         WHEN local_h >= 8 AND local_h < 8.5 THEN 'Walk'
         WHEN local_h >= 9 AND local_h < 17 THEN CASE WHEN hash(local_epoch) % 4 = 0 THEN 'Stand' ELSE 'Sit' END
         ELSE 'Sit' END AS activity_name
  FROM shaped
)
SELECT x.user_key, a.activity_key, CAST(x.ts AS DATE) AS event_date, CAST(x.ts AS TIME) AS event_time,
       x.ts AS event_datetime, x.hr AS heart_rate, CAST(NULL AS BIGINT) AS previous_heart_rate,
       CAST(NULL AS BIGINT) AS max_heart_rate, CAST(NULL AS BIGINT) AS min_heart_rate, CAST(NULL AS DOUBLE) AS avg_heart_rate,
       0.0 AS latitude, 0.0 AS longitude
FROM (
  SELECT user_key, activity_name, make_timestamp((local_epoch - utc_offset * 3600) * 1000000) AS ts,
         CAST(round(rest
           + CASE activity_name WHEN 'Sleep' THEN -4 WHEN 'Sit' THEN 2 WHEN 'Stand' THEN 8 WHEN 'Walk' THEN 30
                 WHEN 'Cycling' THEN 60 WHEN 'Functional Strength Training' THEN 55 WHEN 'Run' THEN 85 ELSE 0 END
           + 1.05 * cos(2 * pi() * (dayofyear(make_timestamp(local_epoch * 1000000)) - 15 - 182.5 * south) / 365.25)
           + (hash(local_epoch, user_id) % 9) - 4.0) AS BIGINT) AS hr
  FROM activity
) x JOIN serving.dim_activities a ON a.activity_name = x.activity_name
ORDER BY event_date, event_datetime
)sql", fmt::arg("first_day", o.first_day), fmt::arg("per_day", per_day), fmt::arg("days", o.days)));
}

std::vector<NamedRequest> dashboard_requests() {
  const std::vector<std::string> resting = {"Stand", "Sit", "Sleep"};
  return {
      {"tiles", {{"readings", "users", "countries", "avg_heart_rate"}, {}, {}, {}, {}}},
      {"blood_race", {{"avg_heart_rate", "readings"}, {"blood_type", "race"}, {}, {}, {}}},
      {"exercise_sex", {{"avg_heart_rate"}, {"activity", "sex"}, {{"activity", FilterOp::kNe, resting}}, {}, {}}},
      {"europe_map", {{"avg_heart_rate", "users", "readings"}, {"country_numeric", "country_name"}, {{"region", FilterOp::kEq, {"Europe"}}}, {}, {}}},
      {"q1_age", {{"avg_heart_rate"}, {"activity", "age_group"}, {}, {}, {}}},
      {"q1_region", {{"avg_heart_rate"}, {"activity", "subregion"}, {}, {}, {}}},
      {"q1_sex", {{"avg_heart_rate", "resting_heart_rate"}, {"age_group", "sex"}, {}, {}, {}}},
      {"q2_month", {{"resting_heart_rate", "resting_readings"}, {"year", "month", "hemisphere"}, {}, {}, {}}},
      {"q2_week", {{"resting_heart_rate"}, {"week", "subregion"}, {}, {}, {}}},
      {"q3_hour", {{"activity_minutes"}, {"subregion", "local_hour", "activity"}, {}, {}, {}}},
      {"q3_weekday", {{"activity_minutes"}, {"local_weekday", "activity"}, {{"activity", FilterOp::kNe, resting}}, {}, {}}},
  };
}

Status build_rollups(db::Connection& conn, bool full_refresh) {
  HRFLOW_ASSIGN_OR_RETURN(auto project, transform::Project::load({HRFLOW_SOURCE_DIR "/warehouse", {}}));
  const auto target = std::filesystem::temp_directory_path() / fmt::format("hrflow-rollups-{}", ::getpid());
  transform::Runner runner(*project, conn, target);
  transform::RunOptions options;
  options.command = transform::Command::kRun;
  options.select = {"agg_heart_rates_daily agg_heart_rates_local_hourly"};
  options.full_refresh = full_refresh;
  options.out = stderr;
  auto results = runner.run(options);
  std::error_code ignored;
  std::filesystem::remove_all(target, ignored);
  if (!results.ok()) return results.error();
  for (const auto& r : *results) {
    if (r.status != "success") return make_error(ErrorKind::kInternal, "{}: {} {}", r.unique_id, r.status, r.message);
  }
  return {};
}

}  // namespace hrflow::query::testing
