// The SQL endpoint as clients meet it: the real `hrflow serve` on a warehouse holding a small star
// schema, queried by programs nobody here wrote (psql, Python's psycopg2, PostgreSQL JDBC,
// node-postgres). A client that is not installed skips its test with the reason; scripts/setup.sh
// installs them all.
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/duckdb.h"
#include "query/semantic_layer.h"
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

  std::string conninfo(const std::string& user = "researcher", const std::string& sslmode = "disable") const {
    return fmt::format("host=127.0.0.1 port={} dbname=warehouse user={} sslmode={} connect_timeout=5", sql_port_, user,
                       sslmode);
  }

  // psql -c for each of `commands`, unaligned output, stopping at the first error.
  CommandOutput psql_all(const std::vector<std::string>& commands, const std::string& password = kPassword,
                         const std::string& user = "researcher", const std::string& sslmode = "disable") {
    std::vector<std::string> argv = {"env", "PGPASSWORD=" + password, "/usr/bin/psql", "-X", "-A", "-F", "|",
                                     "-v", "ON_ERROR_STOP=1", "-v", "VERBOSITY=verbose", conninfo(user, sslmode)};
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

  auto l = psql("\\l");
  ASSERT_EQ(l.exit_code, 0) << l.output;
  EXPECT_TRUE(contains(l.output, "\nwarehouse|")) << l.output;
  EXPECT_FALSE(contains(l.output, "\nsystem|")) << "DuckDB's internal databases are not listed\n" << l.output;
  for (const char* meta : {"\\dt+ serving.*", "\\du", "\\df", "\\dv", "\\di"}) {
    auto m = psql(meta);
    EXPECT_EQ(m.exit_code, 0) << meta << "\n" << m.output;
  }

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

TEST_F(SqlEndpoint, TlsWhenConfiguredAndRequiredBeyondLoopback) {
  const fs::path cert = dir_.path() / "cert.pem", key = dir_.path() / "key.pem";
  auto gen = run_command({"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key.string(), "-out",
                          cert.string(), "-days", "1", "-subj", "/CN=127.0.0.1"});
  if (!gen.ok() || gen->exit_code != 0) GTEST_SKIP() << "openssl cannot make a test certificate";
  start_serve("    tls_cert: " + cert.string() + "\n    tls_key: " + key.string() + "\n");
  auto tls = psql_all({"SHOW ssl", "SELECT count(*) FROM serving.fct_heart_rates"}, kPassword, "researcher", "require");
  EXPECT_EQ(tls.exit_code, 0) << tls.output << log();
  EXPECT_TRUE(contains(tls.output, "\non\n")) << tls.output;
  EXPECT_TRUE(contains(tls.output, "\n10\n")) << tls.output;
  EXPECT_TRUE(contains(log(), " TLS")) << log();
  serve_->stop();

  // Beyond loopback without TLS, serve refuses to start rather than take passwords in the clear.
  std::ofstream(dir_.path() / "open.yml") << "state_dir: " << (dir_.path() / ".hrflow").string() << "\n"
                                          << "transform:\n  project_dir: " << (dir_.path() / "project").string()
                                          << "\nserve:\n  sink: false\n  sql:\n    host: 0.0.0.0\n    port: "
                                          << free_port() << "\n    users:\n      researcher: x\n";
  auto open = run_hrflow({"-c", (dir_.path() / "open.yml").string(), "serve", "--port", std::to_string(free_port())});
  EXPECT_NE(open.exit_code, 0);
  EXPECT_TRUE(contains(open.output, "beyond loopback) needs TLS")) << open.output;
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

// The concurrency check: 16 clients for 60 s run the dashboard's queries (the semantic layer's
// compiled SQL, parameters bound through the extended protocol by libpq) while serve loads live
// readings and builds the models. No errors, and every answer is consistent with one snapshot: two
// different dashboard queries over the fact table agree inside a transaction, and a query repeated
// inside it gives the same answer although builds commit meanwhile.
TEST(SqlEndpointLive, SixteenClientsWhileServeLoadsAndBuilds) {
  HRFLOW_START_OR_SKIP(pg, PostgresInstance::start());
  TempDir dir;
  const int sql_port = free_port();
  const std::string cfg = (dir.path() / "hrflow.yml").string();
  std::ofstream(cfg) << "state_dir: " << (dir.path() / ".hrflow").string() << "\n"
                     << "oltp:\n  url: " << pg->url() << "\n"
                     << "sink:\n  rotate_interval: 2m\n"
                     << "serve:\n  sql:\n    port: " << sql_port << "\n";
  auto gen = run_hrflow({"-c", cfg, "oltp", "generate", "--users", "30"});
  ASSERT_EQ(gen.exit_code, 0) << gen.output;
  auto serve = Subprocess::start({hrflow_bin(), "-c", cfg, "serve", "--port", std::to_string(free_port())},
                                 (dir.path() / "serve.log").string());
  ASSERT_TRUE(serve.ok());
  auto produce = Subprocess::start({hrflow_bin(), "-c", cfg, "produce", "--live", "--speed", "60", "--quiet"},
                                   (dir.path() / "produce.log").string());
  ASSERT_TRUE(produce.ok());
  auto serve_log = [&] {
    std::ifstream in(dir.path() / "serve.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  const std::string conninfo = fmt::format("host=127.0.0.1 port={} dbname=warehouse user=analyst sslmode=disable "
                                           "connect_timeout=5", sql_port);
  auto count_readings = [&]() -> int64_t {
    PGconn* c = PQconnectdb(conninfo.c_str());
    int64_t n = -1;
    if (PQstatus(c) == CONNECTION_OK) {
      PGresult* r = PQexec(c, "SELECT count(*) FROM serving.fct_heart_rates");
      if (PQresultStatus(r) == PGRES_TUPLES_OK) n = std::stoll(PQgetvalue(r, 0, 0));
      PQclear(r);
    }
    PQfinish(c);
    return n;
  };
  ASSERT_TRUE(wait_until([&] { return count_readings() > 0; }, seconds(120), std::chrono::milliseconds(250))) << serve_log();
  const int64_t first = count_readings();

  // The dashboard's queries with '?' turned into $n for PostgreSQL's protocol.
  auto layer = query::SemanticLayer::builtin();
  ASSERT_TRUE(layer.ok());
  struct Q {
    std::string name, sql;
    std::vector<std::string> params;
  };
  std::vector<Q> queries;
  for (const auto& r : query::testing::dashboard_requests()) {
    auto c = layer->compile(r.request);
    ASSERT_TRUE(c.ok()) << r.name;
    Q q{r.name, "", {}};
    int n = 0;
    for (char ch : c->sql) q.sql += ch == '?' ? "$" + std::to_string(++n) : std::string(1, ch);
    for (const auto& p : c->params) q.params.push_back(p.text);
    queries.push_back(q);
  }
  const std::string total = "SELECT count(*) FROM serving.fct_heart_rates";
  const std::string by_activity =
      "SELECT sum(n) FROM (SELECT count(*) AS n FROM serving.fct_heart_rates GROUP BY activity_key)";

  std::atomic<int64_t> answers{0}, errors{0}, inconsistent{0};
  std::mutex mu;
  std::string first_error;
  auto note = [&](const std::string& what) {
    std::lock_guard lock(mu);
    if (first_error.empty()) first_error = what;
  };
  const auto until = std::chrono::steady_clock::now() + seconds(60);
  std::vector<std::thread> clients;
  for (int i = 0; i < 16; ++i) {
    clients.emplace_back([&, i] {
      PGconn* c = PQconnectdb(conninfo.c_str());
      if (PQstatus(c) != CONNECTION_OK) {
        errors++;
        note(PQerrorMessage(c));
        PQfinish(c);
        return;
      }
      auto scalar = [&](const std::string& sql) -> std::optional<std::string> {
        PGresult* r = PQexec(c, sql.c_str());
        std::optional<std::string> v;
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) v = PQgetvalue(r, 0, 0);
        else if (PQresultStatus(r) != PGRES_COMMAND_OK) note(sql + ": " + PQresultErrorMessage(r));
        if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK) errors++;
        PQclear(r);
        return v;
      };
      for (size_t k = i; std::chrono::steady_clock::now() < until; ++k) {
        const Q& q = queries[k % queries.size()];
        std::vector<const char*> values;
        for (const auto& p : q.params) values.push_back(p.c_str());
        PGresult* r = PQexecParams(c, q.sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(), nullptr,
                                   nullptr, 0);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
          errors++;
          note(q.name + ": " + PQresultErrorMessage(r));
        } else {
          answers++;
        }
        PQclear(r);
        if (k % 4 == 0) {  // a snapshot check in a transaction
          scalar("BEGIN");
          auto a = scalar(total);
          auto b = scalar(by_activity);
          auto again = scalar(total);
          scalar("COMMIT");
          if (!a || !b || !again || *a != *b || *a != *again) {
            inconsistent++;
            note(fmt::format("snapshot: total {} by activity {} again {}", a.value_or("?"), b.value_or("?"),
                             again.value_or("?")));
          }
        }
      }
      PQfinish(c);
    });
  }
  for (auto& t : clients) t.join();
  const int64_t last = count_readings();
  EXPECT_EQ(produce->stop(SIGINT, 20000), 0);
  EXPECT_EQ(serve->stop(SIGTERM, 30000), 0) << serve_log();
  std::printf("16 clients, 60 s: %lld dashboard answers, %lld errors, %lld inconsistent; readings %lld -> %lld\n",
              static_cast<long long>(answers.load()), static_cast<long long>(errors.load()),
              static_cast<long long>(inconsistent.load()), static_cast<long long>(first), static_cast<long long>(last));
  EXPECT_EQ(errors.load(), 0) << first_error;
  EXPECT_EQ(inconsistent.load(), 0) << first_error;
  EXPECT_GT(answers.load(), 16);
  EXPECT_GT(last, first) << "no build committed during the run, so nothing was tested against one";
}

}  // namespace
}  // namespace hrflow::testing
