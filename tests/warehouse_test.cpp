// The heart-rate warehouse over a real pipeline run: the type 2 dimensions follow the operational
// change history to the microsecond, and a sequence of incremental builds (new hours of readings, new
// changes, late readings) ends with exactly what a full rebuild produces. Every reading is placed,
// whether the change history was captured by CDC as it happened or lies before the first snapshot.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <iterator>

#include "common/civil_time.h"
#include "common/duckdb.h"
#include "common/pg.h"
#include "support/fixtures.h"

namespace hrflow::testing {
namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

int64_t scalar_int(db::Connection& conn, const std::string& sql) {
  auto r = conn.scalar(sql);
  EXPECT_TRUE(r.ok()) << sql << "\n" << (r.ok() ? "" : r.error().message);
  return r.ok() && *r ? std::stoll(**r) : -1;
}

// The warehouse at `path` rebuilt from scratch in a copy (`hrflow build --full-refresh`) holds, in each
// of `tables`, exactly the rows it holds after its incremental builds.
void expect_a_full_rebuild_to_equal(const std::filesystem::path& path, const std::vector<std::string>& tables) {
  TempDir copy;
  std::filesystem::create_directories(copy.path() / ".hrflow");
  std::filesystem::copy_file(path, copy.path() / ".hrflow" / "warehouse.duckdb");
  auto full = run_hrflow({"build", "--full-refresh"}, copy.path());
  ASSERT_EQ(full.exit_code, 0) << full.output;
  EXPECT_TRUE(contains(full.output, "ERROR=0")) << full.output;

  auto database = db::Database::open((copy.path() / ".hrflow" / "warehouse.duckdb").string());
  ASSERT_TRUE(database.ok()) << database.error().message;
  auto conn = db::Connection::connect(*database);
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE(conn->execute(fmt::format("ATTACH {} AS inc (READ_ONLY)", db::quote_literal(path.string()))).ok());
  for (const auto& table : tables) {
    std::string incremental = fmt::format("inc.{}", table);
    auto select = [](const std::string& t) { return fmt::format("SELECT * FROM {}", t); };
    EXPECT_EQ(scalar_int(*conn, fmt::format("SELECT count(*) FROM ({} EXCEPT ALL {})", select(incremental), select(table))), 0)
        << table << ": rows of the incremental build missing from the full rebuild";
    EXPECT_EQ(scalar_int(*conn, fmt::format("SELECT count(*) FROM ({} EXCEPT ALL {})", select(table), select(incremental))), 0)
        << table << ": rows of the full rebuild missing from the incremental build";
    EXPECT_GT(scalar_int(*conn, fmt::format("SELECT count(*) FROM {}", table)), 0) << table;
  }
}

class WarehouseTest : public ::testing::Test {
 protected:
  // One pipeline run shared by the tests: the demo (2 days), then a second round of 12 hours with a
  // dense change history, then late readings; each round built incrementally.
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    port_ = free_port();
    std::ofstream(dir_->path() / "hrflow.yml") << "oltp:\n  port: " << port_ << "\n";
    run({"demo", "--no-serve", "--users", "50", "--days", "2"});
    if (::testing::Test::HasFailure()) return;
    int64_t from = 0, to = 0;
    std::ifstream(dir_->path() / ".hrflow" / "demo" / "period") >> from >> to;
    ASSERT_GT(to, from);
    const int64_t end = to + 12 * 3600;
    run({"oltp", "mutate", "--from", format_utc(to + 1), "--to", format_utc(end), "--rate", "120"});
    run({"sync", "oltp"});
    run({"produce", "--from", format_utc(to), "--to", format_utc(end)});
    run({"sink", "--once"});
    run({"sync"});
    run({"build"});
    write_late_readings();
    run({"sync", "lake"});
    run({"build"});
  }

  static void TearDownTestSuite() {
    run_hrflow({"oltp", "down"}, dir_->path());
    delete dir_;
    dir_ = nullptr;
  }

  static void run(const std::vector<std::string>& args) {
    auto out = run_hrflow(args, dir_->path());
    ASSERT_EQ(out.exit_code, 0) << fmt::format("hrflow {}\n", fmt::join(args, " ")) << out.output;
  }

  static std::filesystem::path warehouse() { return dir_->path() / ".hrflow" / "warehouse.duckdb"; }

  // Readings one second before 40 recent readings (inside the fact table's lookback), in a lake file
  // of their own: they arrive after the hour they belong to was built.
  static void write_late_readings() {
    std::vector<std::string> lines;
    int64_t first_ts = 0;
    {
      auto database = db::Database::open(warehouse().string());
      ASSERT_TRUE(database.ok()) << database.error().message;
      auto conn = db::Connection::connect(*database);
      ASSERT_TRUE(conn.ok());
      auto r = conn->query(
          "WITH r AS (SELECT user_id, heart_rate, \"timestamp\" AS ts, meta FROM raw.heart_rate_stream), "
          "newest AS (SELECT max(ts) AS m FROM r) "
          "SELECT user_id, heart_rate, ts - 1, CAST(meta AS VARCHAR) FROM r, newest "
          "WHERE ts > m - 3 * 3600 AND NOT EXISTS (SELECT 1 FROM r r2 WHERE r2.user_id = r.user_id AND r2.ts = r.ts - 1) "
          "ORDER BY ts, user_id LIMIT 40");
      ASSERT_TRUE(r.ok()) << r.error().message;
      ASSERT_EQ(r->row_count(), 40u);
      for (uint64_t i = 0; i < r->row_count(); ++i) {
        int64_t ts = *r->get_int64(i, 2);
        if (i == 0) first_ts = ts;
        lines.push_back(fmt::format(R"({{"user_id":{},"heart_rate":{},"timestamp":{},"meta":{}}})", *r->get_int64(i, 0),
                                    *r->get_int64(i, 1), ts, *r->get_string(i, 3)));
      }
    }
    std::time_t tt = static_cast<std::time_t>(first_ts);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char hour[64];
    std::strftime(hour, sizeof hour, "year=%Y/month=%m/day=%d/hour=%H", &tm);
    auto folder = dir_->path() / ".hrflow" / "lake" / "topics" / "hr-data-topic" / hour;
    std::filesystem::create_directories(folder);
    std::ofstream out(folder / "hr-data-topic+0+9000000000.json");
    for (const auto& l : lines) out << l << "\n";
  }

  static TempDir* dir_;
  static int port_;
};

TempDir* WarehouseTest::dir_ = nullptr;
int WarehouseTest::port_ = 0;

TEST_F(WarehouseTest, TypeTwoVersionsStartAndEndAtTheCommitTimesOfTheOperationalChanges) {
  // The operational history (every change `hrflow oltp mutate` applied, with its commit time).
  auto pg = PgConnection::connect(fmt::format("postgresql://postgres@127.0.0.1:{}/hrflow", port_));
  ASSERT_TRUE(pg.ok()) << pg.error().message;
  auto history = pg->exec(
      "SELECT kind, user_id, activity_id, (extract(epoch FROM effective_at) * 1000000)::bigint, "
      "row_after->>'address', row_after->>'weight', row_after->>'last_name', row_after->>'activity_name' "
      "FROM hrflow_user_history ORDER BY change_id");
  ASSERT_TRUE(history.ok()) << history.error().message;

  auto database = db::Database::open(warehouse().string());
  ASSERT_TRUE(database.ok()) << database.error().message;
  auto conn = db::Connection::connect(*database);
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE(conn->execute("CREATE TEMP TABLE history (kind VARCHAR, user_id INT, activity_id INT, at_us BIGINT, "
                            "address VARCHAR, weight INT, last_name VARCHAR, activity_name VARCHAR)").ok());
  for (int i = 0; i < history->rows(); ++i) {
    std::vector<std::string> v;
    for (int c = 0; c < 8; ++c) {
      v.push_back(history->is_null(i, c) ? "NULL" : db::quote_literal(history->text(i, c)));
    }
    ASSERT_TRUE(conn->execute(fmt::format("INSERT INTO history VALUES ({})", fmt::join(v, ", "))).ok());
  }
  for (const char* kind : {"move", "weight", "name", "signup", "delete", "resignup", "activity_rename"}) {
    EXPECT_GT(scalar_int(*conn, fmt::format("SELECT count(*) FROM history WHERE kind = '{}'", kind)), 0)
        << "the change history should hold at least one " << kind;
  }

  // A change of a user's row opens a version at its commit time with the new values (commit times
  // follow the simulated clock to within a second); a user's first version (a sign-up's) starts at
  // 1900-01-01 instead, so that readings from before the first captured change find it too.
  EXPECT_EQ(scalar_int(*conn,
                       "SELECT count(*) FROM history h WHERE kind IN ('move', 'weight', 'name', 'signup', 'resignup') "
                       "AND NOT EXISTS (SELECT 1 FROM serving.dim_users d WHERE d.user_id = h.user_id "
                       "  AND (abs(epoch_us(d.start_date) - h.at_us) < 1000000 OR (d.start_date = TIMESTAMP '1900-01-01' "
                       "       AND h.kind IN ('signup', 'resignup') "
                       "       AND (d.end_date IS NULL OR epoch_us(d.end_date) > h.at_us))) "
                       "  AND (h.kind <> 'move' OR d.address = h.address) "
                       "  AND (h.kind <> 'weight' OR d.weight = h.weight) "
                       "  AND (h.kind <> 'name' OR d.last_name = h.last_name))"),
            0);
  // A delete closes the open version at its commit time, and no version covers the time after it
  // until a re-sign-up.
  EXPECT_EQ(scalar_int(*conn,
                       "SELECT count(*) FROM history h WHERE kind = 'delete' AND NOT EXISTS ("
                       "  SELECT 1 FROM serving.dim_users d WHERE d.user_id = h.user_id "
                       "  AND abs(epoch_us(d.end_date) - h.at_us) < 1000000)"),
            0);
  EXPECT_EQ(scalar_int(*conn,
                       "SELECT count(*) FROM history h WHERE kind = 'delete' AND EXISTS ("
                       "  SELECT 1 FROM serving.dim_users d WHERE d.user_id = h.user_id "
                       "  AND epoch_us(d.start_date) <= h.at_us + 1000000 "
                       "  AND (d.end_date IS NULL OR epoch_us(d.end_date) > h.at_us + 1000000))"),
            0);
  // A renamed activity gets a version with its new name from the rename on.
  EXPECT_EQ(scalar_int(*conn,
                       "SELECT count(*) FROM history h WHERE kind = 'activity_rename' AND NOT EXISTS ("
                       "  SELECT 1 FROM serving.dim_activities d WHERE d.activity_id = h.activity_id "
                       "  AND abs(epoch_us(d.start_date) - h.at_us) < 1000000 AND d.activity_name = h.activity_name)"),
            0);
  // Every fact row points at the user version valid at its event time.
  EXPECT_EQ(scalar_int(*conn,
                       "SELECT count(*) FROM serving.fct_heart_rates f JOIN serving.dim_users d USING (user_key) "
                       "WHERE f.event_datetime < d.start_date OR f.event_datetime >= d.end_date"),
            0);
}

TEST_F(WarehouseTest, IncrementalBuildsEqualAFullRebuildRowForRow) {
  // The late readings were placed by the last incremental build.
  {
    auto database = db::Database::open(warehouse().string());
    ASSERT_TRUE(database.ok()) << database.error().message;
    auto conn = db::Connection::connect(*database);
    ASSERT_TRUE(conn.ok());
    EXPECT_EQ(scalar_int(*conn, "SELECT count(*) FROM raw.heart_rate_stream WHERE _ab_source_file_url LIKE "
                                "'%hr-data-topic+0+9000000000.json'"),
              40);
    EXPECT_EQ(scalar_int(*conn, "SELECT count(*) FROM serving.fct_heart_rates"),
              scalar_int(*conn, "SELECT count(*) FROM staging.stg_heart_rates"));
  }
  // The same warehouse rebuilt from scratch elsewhere.
  expect_a_full_rebuild_to_equal(warehouse(), {"serving.fct_heart_rates", "serving.dim_users", "serving.dim_activities",
                                               "staging.stg_heart_rates", "staging.stg_users"});
}

// A small pipeline in a directory of its own with its own managed PostgreSQL (stopped at the end),
// driven by the commands a user types.
class Pipeline {
 public:
  Pipeline() : port_(free_port()) { std::ofstream(dir_.path() / "hrflow.yml") << "oltp:\n  port: " << port_ << "\n"; }
  ~Pipeline() { run_hrflow({"oltp", "down"}, dir_.path()); }
  Pipeline(const Pipeline&) = delete;
  Pipeline& operator=(const Pipeline&) = delete;

  // Runs `hrflow args`; a failure is a test failure (the caller stops on HasFailure()).
  std::string run(const std::vector<std::string>& args) {
    auto out = run_hrflow(args, dir_.path());
    EXPECT_EQ(out.exit_code, 0) << fmt::format("hrflow {}\n", fmt::join(args, " ")) << out.output;
    return out.output;
  }
  // `hrflow produce` over [from, to); adds what it reports to produced().
  void produce(const std::string& from, const std::string& to) {
    std::string out = run({"produce", "--from", from, "--to", to, "--quiet"});
    auto at = out.find("produced ");
    unsigned long long n = 0;
    EXPECT_TRUE(at != std::string::npos && std::sscanf(out.c_str() + at, "produced %llu events", &n) == 1) << out;
    EXPECT_GT(n, 0u) << out;
    produced_ += static_cast<int64_t>(n);
  }
  // The stream into the lake, the lake and the changes into the warehouse, and a build; the build's
  // data tests, every_reading_is_placed among them, must pass.
  void land_and_build() {
    run({"sink", "--once"});
    run({"sync"});
    std::string out = run({"build"});
    EXPECT_TRUE(contains(out, "PASS every_reading_is_placed")) << out;
    EXPECT_TRUE(contains(out, "ERROR=0")) << out;
  }
  int64_t produced() const { return produced_; }
  std::filesystem::path warehouse() const { return dir_.path() / ".hrflow" / "warehouse.duckdb"; }
  PgConnection oltp() {
    auto pg = PgConnection::connect(fmt::format("postgresql://postgres@127.0.0.1:{}/hrflow", port_));
    EXPECT_TRUE(pg.ok()) << pg.error().message;
    return std::move(pg).value();
  }

 private:
  TempDir dir_;
  int port_;
  int64_t produced_ = 0;
};

// The user ids (ascending) that `sql` selects in the warehouse at `path`.
std::vector<int64_t> ids_in(const std::filesystem::path& path, const std::string& sql) {
  std::vector<int64_t> ids;
  auto database = db::Database::open(path.string());
  EXPECT_TRUE(database.ok()) << database.error().message;
  if (!database.ok()) return ids;
  auto conn = db::Connection::connect(*database);
  EXPECT_TRUE(conn.ok());
  auto r = conn->query(sql + " ORDER BY 1");
  EXPECT_TRUE(r.ok()) << sql << "\n" << (r.ok() ? "" : r.error().message);
  for (uint64_t i = 0; r.ok() && i < r->row_count(); ++i) ids.push_back(*r->get_int64(i, 0));
  return ids;
}

int64_t count_in(const std::filesystem::path& path, const std::string& sql) {
  auto database = db::Database::open(path.string());
  EXPECT_TRUE(database.ok()) << database.error().message;
  if (!database.ok()) return -1;
  auto conn = db::Connection::connect(*database);
  EXPECT_TRUE(conn.ok());
  return scalar_int(*conn, sql);
}

// `hrflow oltp --help`'s typical order: the users generated as of a date, their history over the
// period, the readings of the period, and only then the first `hrflow sync`. Its CDC snapshot sees
// each user's latest row only (valid from the last change) and none of the users deleted before it;
// the readings from before still land in the fact table: on the user's first version, or on an
// inferred member. A deleted user who returns later takes the inferred member's place, and the
// incremental builds still equal a full rebuild.
TEST(EveryReadingIsPlaced, WhenTheHistoryPrecedesTheFirstCdcSnapshot) {
  Pipeline p;
  p.run({"oltp", "generate", "--users", "20", "--as-of", "2025-06-01"});
  p.run({"oltp", "mutate", "--from", "2025-06-01 00:00:01", "--to", "2025-06-03 23:59:59", "--rate", "30"});
  p.produce("2025-06-01", "2025-06-04");
  p.land_and_build();
  if (HasFailure()) return;
  EXPECT_EQ(count_in(p.warehouse(), "SELECT count(*) FROM serving.fct_heart_rates"), p.produced());
  // The users deleted before the snapshot (not in the users table) whose readings landed are the
  // inferred members, nothing known about them but the id.
  std::vector<int64_t> deleted_with_readings;
  {
    auto pg = p.oltp();
    auto gone = pg.exec("SELECT DISTINCT user_id FROM hrflow_user_history h WHERE kind = 'delete' "
                        "AND NOT EXISTS (SELECT 1 FROM users u WHERE u.user_id = h.user_id) ORDER BY 1");
    ASSERT_TRUE(gone.ok()) << gone.error().message;
    const auto with_readings = ids_in(p.warehouse(), "SELECT DISTINCT user_id FROM staging.stg_heart_rates");
    for (int i = 0; i < gone->rows(); ++i) {
      if (std::binary_search(with_readings.begin(), with_readings.end(), gone->int64(i, 0))) {
        deleted_with_readings.push_back(gone->int64(i, 0));
      }
    }
  }
  ASSERT_FALSE(deleted_with_readings.empty()) << "the history should delete users who had readings";
  const auto inferred = ids_in(p.warehouse(), "SELECT user_id FROM serving.dim_users WHERE is_inferred");
  EXPECT_EQ(inferred, deleted_with_readings);
  EXPECT_EQ(count_in(p.warehouse(), "SELECT count(*) FROM serving.dim_users WHERE is_inferred AND (sex IS NOT NULL "
                                    "OR start_date <> TIMESTAMP '1900-01-01' OR end_date IS NOT NULL)"),
            0);
  // Readings from before a user's last change sit on the first version, which covers them.
  EXPECT_GT(count_in(p.warehouse(), "SELECT count(*) FROM serving.fct_heart_rates f JOIN serving.dim_users u USING "
                                    "(user_key) WHERE NOT u.is_inferred AND u.start_date = TIMESTAMP '1900-01-01' "
                                    "AND f.event_datetime < TIMESTAMP '2025-06-01 12:00:00'"),
            0);

  // Two more days, now captured as they happen: deleted users come back (re-sign-ups), new ones join.
  p.run({"oltp", "mutate", "--from", "2025-06-04 00:00:01", "--to", "2025-06-05 23:59:59", "--rate", "60"});
  p.produce("2025-06-04", "2025-06-06");
  p.land_and_build();
  if (HasFailure()) return;
  EXPECT_EQ(count_in(p.warehouse(), "SELECT count(*) FROM serving.fct_heart_rates"), p.produced());
  const auto still_inferred = ids_in(p.warehouse(), "SELECT user_id FROM serving.dim_users WHERE is_inferred");
  std::vector<int64_t> returned;
  std::set_difference(inferred.begin(), inferred.end(), still_inferred.begin(), still_inferred.end(),
                      std::back_inserter(returned));
  ASSERT_FALSE(returned.empty()) << "a user deleted before the snapshot should have come back";
  // Their earlier readings now belong to their real first version (the inferred member's key).
  EXPECT_EQ(count_in(p.warehouse(), fmt::format("SELECT count(*) FROM serving.fct_heart_rates f JOIN serving.dim_users u "
                                                "USING (user_key) WHERE u.user_id IN ({}) AND u.sex IS NULL",
                                                fmt::join(returned, ", "))),
            0);
  expect_a_full_rebuild_to_equal(p.warehouse(), {"serving.fct_heart_rates", "serving.dim_users", "serving.dim_activities",
                                                 "serving.agg_heart_rates_daily", "serving.agg_heart_rates_local_hourly"});
}

// The demo's order: the first `hrflow sync` right after generating, so CDC sees every change as it
// happens; every reading is placed and no member needs inferring.
TEST(EveryReadingIsPlaced, WhenTheFirstCdcSnapshotPrecedesTheHistory) {
  Pipeline p;
  p.run({"oltp", "generate", "--users", "20", "--as-of", "2025-06-01"});
  p.run({"sync", "oltp"});
  p.run({"oltp", "mutate", "--from", "2025-06-01 00:00:01", "--to", "2025-06-03 23:59:59", "--rate", "30"});
  p.produce("2025-06-01", "2025-06-04");
  p.land_and_build();
  if (HasFailure()) return;
  EXPECT_EQ(count_in(p.warehouse(), "SELECT count(*) FROM serving.fct_heart_rates"), p.produced());
  EXPECT_EQ(count_in(p.warehouse(), "SELECT count(*) FROM serving.dim_users WHERE is_inferred"), 0);
  EXPECT_GT(count_in(p.warehouse(), "SELECT count(*) FROM serving.dim_users WHERE end_date IS NOT NULL"), 0)
      << "the history should have been captured as versions";
}

}  // namespace
}  // namespace hrflow::testing
