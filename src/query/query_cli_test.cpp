// `hrflow query` as a user runs it, on a tiny hand-made star schema in a temporary warehouse.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "common/duckdb.h"
#include "query/test_warehouse.h"
#include "support/fixtures.h"

namespace hrflow::testing {
namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

class QueryCli : public ::testing::Test {
 protected:
  void SetUp() override {
    std::filesystem::create_directories(dir_.path() / ".hrflow");
    auto db = db::Database::open((dir_.path() / ".hrflow" / "warehouse.duckdb").string());
    ASSERT_TRUE(db.ok()) << db.error().message;
    auto conn = db::Connection::connect(*db);
    ASSERT_TRUE(conn.ok());
    auto st = query::testing::create_tiny_star_schema(*conn);
    ASSERT_TRUE(st.ok()) << st.error().message;
    // Three people: the exact answers these tests check need suppression off (see SmallCellsAreHidden).
    std::ofstream(dir_.path() / "hrflow.yml") << "query:\n  min_cell_users: 1\n";
  }
  CommandOutput query(std::vector<std::string> args) {
    args.insert(args.begin(), "query");
    return run_hrflow(args, dir_.path());
  }
  int64_t readings() {
    auto db = db::Database::open((dir_.path() / ".hrflow" / "warehouse.duckdb").string());
    auto conn = db::Connection::connect(*db);
    return std::stoll(conn->scalar("SELECT count(*) FROM serving.fct_heart_rates")->value_or("-1"));
  }
  TempDir dir_;
};

TEST_F(QueryCli, MetricByDimensionsWithAFilterAsTableCsvAndJson) {
  auto t = query({"--metric", "avg_heart_rate", "--by", "activity,sex", "--where", "region=Europe"});
  ASSERT_EQ(t.exit_code, 0) << t.output;
  EXPECT_TRUE(contains(t.output, "activity  sex  avg_heart_rate")) << t.output;
  EXPECT_TRUE(contains(t.output, "Run       F             155.0")) << t.output;
  EXPECT_TRUE(contains(t.output, "(5 rows)")) << t.output;

  auto csv = query({"-m", "avg_heart_rate", "-b", "activity,sex", "-w", "region=Europe", "--format", "csv"});
  ASSERT_EQ(csv.exit_code, 0) << csv.output;
  EXPECT_EQ(csv.output, "activity,sex,avg_heart_rate\nRun,F,155.0\nSit,F,70.0\nSleep,F,55.0\nStand,M,90.0\nWalk,M,105.0\n");

  auto json = query({"-m", "readings,users", "-b", "hemisphere", "-f", "json", "--order", "readings desc"});
  ASSERT_EQ(json.exit_code, 0) << json.output;
  EXPECT_EQ(json.output, R"({"columns":["hemisphere","readings","users"],"rows":[["Northern",7,2],["Southern",3,1]]})" "\n");
}

TEST_F(QueryCli, SeveralFiltersDatesAndLimit) {
  auto out = query({"-m", "readings", "-b", "activity", "-w", "activity!=Stand,Sit,Sleep", "-w", "date>=2024-02-01",
                    "--order", "readings desc", "--limit", "1", "-f", "csv"});
  ASSERT_EQ(out.exit_code, 0) << out.output;
  EXPECT_EQ(out.output, "activity,readings\nWalk,2\n");
}

TEST_F(QueryCli, SmallCellsAreHiddenByDefault) {
  std::filesystem::remove(dir_.path() / "hrflow.yml");  // query.min_cell_users: 11
  auto csv = query({"-m", "readings,avg_heart_rate", "-b", "sex", "-f", "csv"});
  ASSERT_EQ(csv.exit_code, 0) << csv.output;
  EXPECT_EQ(csv.output, "sex,readings,avg_heart_rate,suppressed\nF,,,fewer than 11 people\nM,,,fewer than 11 people\n");
  auto table = query({"-m", "readings"});
  ASSERT_EQ(table.exit_code, 0) << table.output;
  EXPECT_TRUE(contains(table.output, "NULL  fewer than 11 people")) << table.output;
  std::ofstream(dir_.path() / "hrflow.yml") << "query:\n  min_cell_users: 3\n";
  auto three = query({"-m", "readings", "-f", "csv"});
  EXPECT_EQ(three.output, "readings,suppressed\n10,\n") << "three people reach a threshold of 3";
}

TEST_F(QueryCli, ReadOnlySql) {
  auto out = query({"--sql", "SELECT count(*) AS n FROM serving.fct_heart_rates", "-f", "csv"});
  ASSERT_EQ(out.exit_code, 0) << out.output;
  EXPECT_EQ(out.output, "n\n10\n");
  for (const char* bad : {"DELETE FROM serving.fct_heart_rates", "SELECT 1; DROP TABLE serving.fct_heart_rates",
                          "COPY serving.dim_users TO 'users.csv'"}) {
    auto r = query({"--sql", bad});
    EXPECT_EQ(r.exit_code, 1) << bad << ": " << r.output;
    // Refused by the SELECT-only check or, for file access, by the read-only connection itself.
    EXPECT_TRUE(contains(r.output, "not a SELECT") || contains(r.output, "disabled by configuration")) << r.output;
  }
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "users.csv"));
  // Reading other files is off, too: the query sees the warehouse only.
  auto file = query({"--sql", "SELECT * FROM read_csv('/etc/passwd')"});
  EXPECT_EQ(file.exit_code, 1) << file.output;
  EXPECT_EQ(readings(), 10);
}

TEST_F(QueryCli, BadInputIsAClearErrorAndNothingRuns) {
  auto metric = query({"-m", "avg_hr"});
  EXPECT_EQ(metric.exit_code, 1);
  EXPECT_TRUE(contains(metric.output, "unknown metric 'avg_hr'; available: readings, users")) << metric.output;
  auto dim = query({"-m", "readings", "-b", "colour"});
  EXPECT_TRUE(contains(dim.output, "unknown dimension 'colour'")) << dim.output;
  auto filter = query({"-m", "readings", "-w", "region"});
  EXPECT_EQ(filter.exit_code, 1);
  EXPECT_TRUE(contains(filter.output, "malformed filter 'region'")) << filter.output;
  auto typed = query({"-m", "readings", "-w", "month=June"});
  EXPECT_TRUE(contains(typed.output, "'June' for 'month' is not an integer")) << typed.output;
  auto nothing = query({});
  EXPECT_EQ(nothing.exit_code, 2) << nothing.output;

  // Injection through a filter value: bound as a parameter, so it is only a region nobody lives in.
  auto inj = query({"-m", "readings", "-w", "region=Europe' OR '1'='1", "-f", "csv", "--show-sql"});
  ASSERT_EQ(inj.exit_code, 0) << inj.output;
  EXPECT_TRUE(contains(inj.output, "readings\n0\n")) << inj.output;
  EXPECT_TRUE(contains(inj.output, "(c.region) = CAST(? AS VARCHAR)")) << inj.output;
  auto drop = query({"-m", "readings", "-w", "country=x'); DROP TABLE serving.fct_heart_rates; --"});
  EXPECT_EQ(drop.exit_code, 0) << drop.output;
  EXPECT_EQ(readings(), 10);
}

TEST_F(QueryCli, HelpTeachesMetricsAndDimensions) {
  auto help = query({"--help"});
  EXPECT_EQ(help.exit_code, 0);
  for (const char* s : {"avg_heart_rate", "resting_heart_rate", "local_hour", "hemisphere", "--where", "Examples:"}) {
    EXPECT_TRUE(contains(help.output, s)) << s << "\n" << help.output;
  }
}

TEST(QueryCliWithoutWarehouse, SaysHowToGetOne) {
  TempDir dir;
  auto out = run_hrflow({"query", "-m", "readings"}, dir.path());
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_TRUE(contains(out.output, "no warehouse at")) << out.output;
  EXPECT_FALSE(std::filesystem::exists(dir.path() / ".hrflow" / "warehouse.duckdb"));
}

}  // namespace
}  // namespace hrflow::testing
