// The SQL endpoint as clients meet it: the real `hrflow serve` on a warehouse holding a small star
// schema, queried by programs nobody here wrote (psql, Python's psycopg2, PostgreSQL JDBC,
// node-postgres). A client that is not installed skips its test with the reason; scripts/setup.sh
// installs them all.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>

#include "common/duckdb.h"
#include "query/test_warehouse.h"
#include "support/fixtures.h"

namespace hrflow::testing {
namespace {

using std::chrono::seconds;
namespace fs = std::filesystem;

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

const char* kPassword = "correct horse";

class SqlEndpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!fs::exists("/usr/bin/psql")) GTEST_SKIP() << "psql is not installed (Debian postgresql-client)";
    fs::create_directories(dir_.path() / ".hrflow");
    {
      auto db = db::Database::open(warehouse().string());
      ASSERT_TRUE(db.ok()) << db.error().message;
      auto conn = db::Connection::connect(*db);
      ASSERT_TRUE(conn.ok());
      auto st = query::testing::create_tiny_star_schema(*conn);
      ASSERT_TRUE(st.ok()) << st.error().message;
    }
    // A project with no models: serve runs, nothing rebuilds the hand-made star schema under the test.
    fs::create_directories(dir_.path() / "project" / "models");
    std::ofstream(dir_.path() / "project" / "dbt_project.yml")
        << "name: empty\nversion: \"1.0.0\"\nconfig-version: 2\nprofile: hrflow\nmodel-paths: [\"models\"]\n";
  }

  void start_serve(const std::string& extra_yaml = "") {
    sql_port_ = free_port();
    std::ofstream(dir_.path() / "hrflow.yml") << "state_dir: " << (dir_.path() / ".hrflow").string() << "\n"
                                              << "transform:\n  project_dir: " << (dir_.path() / "project").string()
                                              << "\nserve:\n  sink: false\n  sql:\n    port: " << sql_port_
                                              << "\n    users:\n      researcher: \"" << kPassword << "\"\n"
                                              << extra_yaml;
    auto p = Subprocess::start({hrflow_bin(), "-c", (dir_.path() / "hrflow.yml").string(), "serve", "--port",
                                std::to_string(free_port())},
                               (dir_.path() / "serve.log").string());
    ASSERT_TRUE(p.ok()) << p.error().message;
    serve_ = std::make_unique<Subprocess>(std::move(p).value());
    ASSERT_TRUE(wait_until([&] { return psql("SELECT 1").exit_code == 0; }, seconds(30))) << log();
  }

  fs::path warehouse() const { return dir_.path() / ".hrflow" / "warehouse.duckdb"; }

  std::string conninfo(const std::string& user = "researcher") const {
    return fmt::format("host=127.0.0.1 port={} dbname=warehouse user={} sslmode=disable connect_timeout=5", sql_port_, user);
  }

  // psql -c for each of `commands`, unaligned output, stopping at the first error.
  CommandOutput psql_all(const std::vector<std::string>& commands, const std::string& password = kPassword,
                     const std::string& user = "researcher") {
    std::vector<std::string> argv = {"env", "PGPASSWORD=" + password, "/usr/bin/psql", "-X", "-A", "-F", "|",
                                     "-v", "ON_ERROR_STOP=1", "-v", "VERBOSITY=verbose", conninfo(user)};
    for (const auto& c : commands) {
      argv.push_back("-c");
      argv.push_back(c);
    }
    auto r = run_command(argv);
    return r.ok() ? *r : CommandOutput{-1, r.error().message};
  }
  CommandOutput psql(const std::string& command) { return psql_all({command}); }

  std::string log() {
    std::ifstream in(dir_.path() / "serve.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  // What DuckDB itself answers, before serve owns the file.
  std::string direct(const std::string& sql) {
    auto db = db::Database::open(warehouse().string());
    auto conn = db::Connection::connect(*db);
    auto r = conn->query(sql);
    if (!r.ok()) return "error: " + r.error().message;
    std::string out;
    for (uint64_t i = 0; i < r->row_count(); ++i) {
      for (uint64_t c = 0; c < r->column_count(); ++c) out += (c ? "|" : "") + r->get_string(i, c).value_or("");
      out += "\n";
    }
    return out;
  }

  TempDir dir_;
  int sql_port_ = 0;
  std::unique_ptr<Subprocess> serve_;
};

TEST_F(SqlEndpoint, PsqlListsDescribesAndJoins) {
  const std::string join =
      "SELECT a.activity_name, count(*) AS readings, round(avg(f.heart_rate), 2)::DECIMAL(10, 2) AS avg_hr, min(f.event_date) AS first_day "
      "FROM serving.fct_heart_rates f JOIN serving.dim_activities a USING (activity_key) GROUP BY 1 ORDER BY 1";
  std::string expected = direct(join);
  ASSERT_FALSE(contains(expected, "error")) << expected;
  start_serve();

  auto dt = psql("\\dt serving.*");
  ASSERT_EQ(dt.exit_code, 0) << dt.output << log();
  for (const char* t : {"serving|fct_heart_rates|table|", "serving|dim_users|table|", "serving|dim_activities|table|"}) {
    EXPECT_TRUE(contains(dt.output, t)) << t << " missing from\n" << dt.output;
  }
  auto all = psql("\\dt");
  ASSERT_EQ(all.exit_code, 0) << all.output;
  EXPECT_TRUE(contains(all.output, "staging|country_regions|table|")) << all.output;

  auto dn = psql("\\dn");
  ASSERT_EQ(dn.exit_code, 0) << dn.output;
  EXPECT_TRUE(contains(dn.output, "serving|")) << dn.output;
  EXPECT_TRUE(contains(dn.output, "staging|")) << dn.output;

  auto d = psql("\\d serving.fct_heart_rates");
  ASSERT_EQ(d.exit_code, 0) << d.output << log();
  EXPECT_TRUE(contains(d.output, "Table \"serving.fct_heart_rates\"")) << d.output;
  for (const char* col : {"heart_rate|bigint|", "event_datetime|timestamp without time zone|", "event_date|date|",
                          "avg_heart_rate|double precision|", "user_key|character varying|"}) {
    EXPECT_TRUE(contains(d.output, col)) << col << " missing from\n" << d.output;
  }

  auto j = psql_all({"\\pset tuples_only on", join});
  ASSERT_EQ(j.exit_code, 0) << j.output;
  EXPECT_EQ(j.output, expected);
}

TEST_F(SqlEndpoint, RefusesWritesAndFileAccessWithSqlstateAndChangesNothing) {
  start_serve();
  const fs::path out = dir_.path() / "leak.csv";
  struct Case {
    std::string sql, sqlstate;
  };
  const std::vector<Case> cases = {
      {"CREATE TABLE serving.x AS SELECT 1", "25006"},
      {"DROP TABLE serving.fct_heart_rates", "25006"},
      {"INSERT INTO serving.dim_activities VALUES ('x', 1, 'X', NULL, NULL)", "25006"},
      {"UPDATE serving.fct_heart_rates SET heart_rate = 0", "25006"},
      {"DELETE FROM serving.fct_heart_rates", "25006"},
      {"WITH t AS (SELECT 1) DELETE FROM serving.fct_heart_rates", "25006"},
      {"EXPLAIN ANALYZE DELETE FROM serving.fct_heart_rates", "25006"},
      {"COPY serving.fct_heart_rates TO '" + out.string() + "'", "25006"},
      {"COPY (SELECT 1) TO '" + out.string() + "'", "25006"},
      {"ATTACH '" + (dir_.path() / "other.duckdb").string() + "' AS other", "25006"},
      {"INSTALL httpfs", "25006"},
      {"LOAD httpfs", "25006"},
      {"PRAGMA enable_external_access", "25006"},
      {"CALL pragma_version()", "25006"},
      {"SELECT * FROM read_csv('/etc/passwd')", "42501"},
      {"SELECT * FROM read_text('/etc/hostname')", "42501"},
      {"SELECT * FROM glob('/etc/*')", "42501"},
      {"SELECT * FROM read_csv('" + (dir_.path() / "hrflow.yml").string() + "')", "42501"},
      {"SELECT * FROM read_json('" + (dir_.path() / ".hrflow" / "serve.json").string() + "')", "42501"},
  };
  for (const auto& c : cases) {
    auto r = psql(c.sql);
    EXPECT_NE(r.exit_code, 0) << c.sql << "\n" << r.output;
    EXPECT_TRUE(contains(r.output, "ERROR:  " + c.sqlstate + ":")) << c.sql << "\n" << r.output;
    EXPECT_FALSE(contains(r.output, "root:x:")) << r.output;
  }
  // SET of DuckDB settings is the session's own (it never reaches DuckDB): external access stays off.
  auto set = psql_all({"SET enable_external_access = true", "SELECT count(*) FROM read_csv('/etc/passwd')"});
  EXPECT_TRUE(contains(set.output, "42501")) << set.output;
  // Nothing changed: every table and row is still there, no file was written.
  auto counts = psql_all({"\\pset tuples_only on",
                      "SELECT (SELECT count(*) FROM serving.fct_heart_rates), (SELECT count(*) FROM serving.dim_activities), "
                      "(SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'serving')"});
  EXPECT_TRUE(contains(counts.output, "10|5|5")) << counts.output;
  EXPECT_FALSE(fs::exists(out));
  EXPECT_FALSE(fs::exists(dir_.path() / "other.duckdb"));
  // Statements are logged with the user and their duration.
  EXPECT_TRUE(contains(log(), "sql: user=researcher")) << log();
}

TEST_F(SqlEndpoint, WrongPasswordAndUnknownUsersAreRefused) {
  start_serve();
  auto wrong = psql_all({"SELECT 1"}, "wrong");
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_TRUE(contains(wrong.output, "password authentication failed for user \"researcher\"")) << wrong.output;
  auto unknown = psql_all({"SELECT 1"}, kPassword, "mallory");
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_TRUE(contains(unknown.output, "password authentication failed for user \"mallory\"")) << unknown.output;
  auto right = psql("SELECT current_user");
  EXPECT_EQ(right.exit_code, 0) << right.output;
  EXPECT_TRUE(contains(right.output, "researcher")) << right.output;
}

TEST_F(SqlEndpoint, StatementTimeoutAndCtrlCCancel) {
  start_serve();
  const std::string slow = "SELECT count(*) FROM range(1000000000000) t(a) WHERE a % 7 = 3";
  auto t = psql_all({"SET statement_timeout = '300ms'", slow});
  EXPECT_NE(t.exit_code, 0);
  EXPECT_TRUE(contains(t.output, "57014")) << t.output;
  EXPECT_TRUE(contains(t.output, "canceling statement due to statement timeout")) << t.output;

  // Ctrl-C in psql sends a CancelRequest on a second connection; the statement ends with 57014.
  const fs::path out = dir_.path() / "psql.out";
  auto p = Subprocess::start({"env", std::string("PGPASSWORD=") + kPassword, "/usr/bin/psql", "-X", "-v",
                              "VERBOSITY=verbose", conninfo() + " application_name=canceller", "-c", slow},
                             out.string());
  ASSERT_TRUE(p.ok());
  // psql is connected once serve logs it; then interrupt it until it gives up the statement.
  ASSERT_TRUE(wait_until([&] { return contains(log(), "connected as \"researcher\" (canceller)"); }, seconds(20))) << log();
  ASSERT_TRUE(wait_until([&] {
    ::kill(p->pid(), SIGINT);
    return !p->running();
  }, seconds(20), std::chrono::milliseconds(200)));
  std::ifstream in(out);
  std::string text(std::istreambuf_iterator<char>(in), {});
  EXPECT_TRUE(contains(text, "canceling statement due to user request")) << text;
  // The session that was cancelled is usable again, and so is the endpoint.
  EXPECT_EQ(psql("SELECT 1").exit_code, 0);
}

TEST_F(SqlEndpoint, HrflowQuerySqlGoesThroughTheEndpointWhileServeRuns) {
  start_serve();
  const std::string config = (dir_.path() / "hrflow.yml").string();
  auto out = run_hrflow({"-c", config, "query", "--sql", "SELECT count(*) AS n, max(heart_rate) AS top FROM serving.fct_heart_rates",
                         "-f", "csv"});
  EXPECT_EQ(out.exit_code, 0) << out.output;
  EXPECT_TRUE(contains(out.output, "n,top\n10,160\n")) << out.output;
  auto refused = run_hrflow({"-c", config, "query", "--sql", "DELETE FROM serving.fct_heart_rates"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_TRUE(contains(refused.output, "cannot execute DELETE")) << refused.output;
  EXPECT_TRUE(contains(log(), "hrflow query")) << "the statement is logged with the client";
}

// A client script: exit 0 = its checks held, 77 = its client library is missing (skip with the reason).
#define RUN_CLIENT_SCRIPT(argv)                                                          \
  do {                                                                                   \
    auto r_ = run_command(argv);                                                         \
    ASSERT_TRUE(r_.ok()) << r_.error().message;                                          \
    if (r_->exit_code == 77) GTEST_SKIP() << r_->output;                                 \
    EXPECT_EQ(r_->exit_code, 0) << r_->output << "\n--- serve log ---\n" << log();     \
  } while (0)

TEST_F(SqlEndpoint, Psycopg2ParametersNamedCursorsAndErrors) {
  if (!fs::exists("/usr/bin/python3")) GTEST_SKIP() << "/usr/bin/python3 is not installed";
  start_serve();
  RUN_CLIENT_SCRIPT((std::vector<std::string>{"/usr/bin/python3", std::string(HRFLOW_SQL_TESTS_DIR) + "/psycopg2_client.py",
                                              std::to_string(sql_port_), kPassword}));
}

TEST_F(SqlEndpoint, JdbcMetadataPreparedDateParameterAndFetchSize) {
  const char* jar = "/usr/share/java/postgresql.jar";
  if (!fs::exists(jar)) GTEST_SKIP() << "the PostgreSQL JDBC driver is not installed (Debian libpostgresql-jdbc-java)";
  if (!fs::exists("/usr/bin/java")) GTEST_SKIP() << "java is not installed (Debian default-jre-headless)";
  start_serve();
  RUN_CLIENT_SCRIPT((std::vector<std::string>{"/usr/bin/java", "-cp", jar,
                                              std::string(HRFLOW_SQL_TESTS_DIR) + "/JdbcClient.java",
                                              std::to_string(sql_port_), kPassword}));
}

TEST_F(SqlEndpoint, NodePostgresParametersPoolAndErrors) {
  if (!fs::exists("/usr/bin/node")) GTEST_SKIP() << "node is not installed (Debian nodejs)";
  start_serve();
  RUN_CLIENT_SCRIPT((std::vector<std::string>{"/usr/bin/node", std::string(HRFLOW_SQL_TESTS_DIR) + "/node_client.mjs",
                                              HRFLOW_SQL_NPM, std::to_string(sql_port_), kPassword}));
}

}  // namespace
}  // namespace hrflow::testing
