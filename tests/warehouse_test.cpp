// The heart-rate warehouse over a real pipeline run: the type 2 dimensions follow the operational
// change history to the microsecond, and a sequence of incremental builds (new hours of readings, new
// changes, late readings) ends with exactly what a full rebuild produces.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <ctime>
#include <fstream>

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
  // follow the simulated clock to within a second).
  EXPECT_EQ(scalar_int(*conn,
                       "SELECT count(*) FROM history h WHERE kind IN ('move', 'weight', 'name', 'signup', 'resignup') "
                       "AND NOT EXISTS (SELECT 1 FROM serving.dim_users d WHERE d.user_id = h.user_id "
                       "  AND abs(epoch_us(d.start_date) - h.at_us) < 1000000 "
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
  TempDir copy;
  std::filesystem::create_directories(copy.path() / ".hrflow");
  std::filesystem::copy_file(warehouse(), copy.path() / ".hrflow" / "warehouse.duckdb");
  auto full = run_hrflow({"build", "--full-refresh"}, copy.path());
  ASSERT_EQ(full.exit_code, 0) << full.output;
  EXPECT_TRUE(contains(full.output, "ERROR=0")) << full.output;

  auto database = db::Database::open((copy.path() / ".hrflow" / "warehouse.duckdb").string());
  ASSERT_TRUE(database.ok()) << database.error().message;
  auto conn = db::Connection::connect(*database);
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE(conn->execute(fmt::format("ATTACH {} AS inc (READ_ONLY)", db::quote_literal(warehouse().string()))).ok());
  for (const char* table : {"serving.fct_heart_rates", "serving.dim_users", "serving.dim_activities",
                            "staging.stg_heart_rates", "staging.stg_users"}) {
    std::string incremental = fmt::format("inc.{}", table);
    auto select = [](const std::string& t) { return fmt::format("SELECT * FROM {}", t); };
    EXPECT_EQ(scalar_int(*conn, fmt::format("SELECT count(*) FROM ({} EXCEPT ALL {})", select(incremental), select(table))), 0)
        << table << ": rows of the incremental build missing from the full rebuild";
    EXPECT_EQ(scalar_int(*conn, fmt::format("SELECT count(*) FROM ({} EXCEPT ALL {})", select(table), select(incremental))), 0)
        << table << ": rows of the full rebuild missing from the incremental build";
    EXPECT_GT(scalar_int(*conn, fmt::format("SELECT count(*) FROM {}", table)), 0) << table;
  }
}

}  // namespace
}  // namespace hrflow::testing
