// `hrflow sync oltp` against a real PostgreSQL 15 on loopback: snapshot, inserts, updates, deletes,
// a transaction with several changes, a lost slot, a PostgreSQL restart during --follow, and kill -9
// at random moments without losing or duplicating a change.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <random>
#include <thread>

#include "common/duckdb.h"
#include "common/subprocess.h"
#include "common/pg.h"
#include "oltp/postgres_server.h"
#include "support/fixtures.h"

namespace hrflow::ingest {
namespace {
using hrflow::testing::PostgresInstance;
using hrflow::testing::TempDir;
using hrflow::testing::run_hrflow;
using hrflow::testing::wait_until;
namespace fs = std::filesystem;

constexpr const char* kDdl =
    "CREATE TABLE users (user_id int primary key, first_name varchar, last_name varchar, date_of_birth int, "
    "sex varchar(1), height smallint, weight smallint, blood_type varchar(3), race varchar(1), "
    "origin_country_code varchar(2), origin_country_name varchar(45), address varchar(100), "
    "address_country_code varchar(2), address_country_name varchar(45), last_update timestamp default now());"
    "CREATE TABLE activities (activity_id int primary key, activity_name varchar(45), "
    "last_update timestamp default now());";

std::string user_values(int id, int weight) {
  return fmt::format("({}, 'Anna', 'Berg', 19800101, 'F', 165, {}, 'A+', 'W', 'SE', 'Sweden', 'Storgatan 1', "
                     "'SE', 'Sweden')",
                     id, weight);
}
constexpr const char* kUserCols =
    "(user_id, first_name, last_name, date_of_birth, sex, height, weight, blood_type, race, origin_country_code, "
    "origin_country_name, address, address_country_code, address_country_name)";

// A working directory with hrflow.yml pointing at `url`.
struct Workspace {
  TempDir dir;
  fs::path config;
  explicit Workspace(const std::string& url) {
    config = dir.path() / "hrflow.yml";
    std::ofstream(config) << "state_dir: " << (dir.path() / "state").string() << "\noltp:\n  url: " << url << "\n";
  }
  CommandOutput sync(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--config", config.string(), "sync", "oltp", "-q"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_hrflow(args, dir.path());
  }
  fs::path warehouse() const { return dir.path() / "state" / "warehouse.duckdb"; }
  // Run a query on the warehouse (after hrflow has exited) and return the first value.
  std::string scalar(const std::string& sql) {
    auto db = db::Database::open(warehouse().string());
    EXPECT_TRUE(db.ok()) << db.error().message;
    auto conn = db::Connection::connect(*db);
    auto v = conn->scalar(sql);
    EXPECT_TRUE(v.ok()) << sql << ": " << v.error().message;
    return v.ok() ? v->value_or("NULL") : "ERROR";
  }
};

PgConnection connect(const std::string& url) {
  auto c = PgConnection::connect(url);
  EXPECT_TRUE(c.ok()) << c.error().message;
  return std::move(c).value();
}

void exec(PgConnection& pg, const std::string& sql) {
  auto r = pg.exec(sql);
  ASSERT_TRUE(r.ok()) << r.error().message;
}

std::string pg_scalar(PgConnection& pg, const std::string& sql) {
  auto r = pg.exec(sql);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() && r->rows() > 0 ? r->text_or_null(0, 0).value_or("NULL") : "";
}

TEST(CdcSync, SnapshotThenInsertsUpdatesDeletesInOneTransaction) {
  HRFLOW_START_OR_SKIP(pg, PostgresInstance::start());
  auto admin = connect(pg->url());
  exec(admin, kDdl);
  exec(admin, fmt::format("INSERT INTO users {} VALUES {}, {}, {}", kUserCols, user_values(10001, 60),
                          user_values(10002, 61), user_values(10003, 62)));
  exec(admin, "INSERT INTO activities (activity_id, activity_name) VALUES (20001, 'Run'), (20002, 'Walk')");
  Workspace ws(pg->url());

  auto first = ws.sync();
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_NE(first.output.find("5 snapshot rows"), std::string::npos) << first.output;
  EXPECT_EQ(ws.scalar("SELECT count(*) FROM raw.users WHERE _ab_cdc_deleted_at IS NULL AND _ab_cdc_updated_at "
                      "IS NOT NULL AND _ab_cdc_lsn > 0 AND _airbyte_meta::VARCHAR = '{\"changes\":[],\"errors\":[]}'"),
            "3");
  EXPECT_EQ(ws.scalar("SELECT count(*) FROM raw.activities"), "2");
  EXPECT_EQ(ws.scalar("SELECT string_agg(first_name || weight, ',' ORDER BY user_id) FROM raw.users"),
            "Anna60,Anna61,Anna62");

  // One PostgreSQL transaction with an insert, an update and a delete on two tables.
  exec(admin, fmt::format("BEGIN; INSERT INTO users {} VALUES {}; UPDATE users SET weight = 70 WHERE user_id = "
                          "10001; DELETE FROM users WHERE user_id = 10002; UPDATE activities SET activity_name = "
                          "'Running' WHERE activity_id = 20001; COMMIT;",
                          kUserCols, user_values(10004, 63)));
  exec(admin, "INSERT INTO activities (activity_id, activity_name) VALUES (20003, 'Yoga')");
  std::string after = pg_scalar(admin, "SELECT pg_current_wal_insert_lsn()::text");
  auto second = ws.sync();
  ASSERT_EQ(second.exit_code, 0) << second.output;
  EXPECT_NE(second.output.find("5 changes (2 inserts, 2 updates, 1 deletes) in 2 transactions"), std::string::npos)
      << second.output;
  EXPECT_EQ(ws.scalar("SELECT count(*) FROM raw.users"), "6");
  EXPECT_EQ(ws.scalar("SELECT count(DISTINCT _ab_cdc_updated_at) FROM raw.users WHERE _ab_cdc_lsn > (SELECT "
                      "min(_ab_cdc_lsn) FROM raw.users)"),
            "1")
      << "the changes of one transaction share its commit time";
  EXPECT_EQ(ws.scalar("SELECT weight FROM raw.users WHERE user_id = 10001 ORDER BY _ab_cdc_lsn DESC LIMIT 1"), "70");
  EXPECT_EQ(ws.scalar("SELECT count(*) FROM raw.users WHERE user_id = 10002 AND _ab_cdc_deleted_at IS NOT NULL AND "
                      "first_name IS NULL AND weight IS NULL AND _ab_cdc_deleted_at = _ab_cdc_updated_at"),
            "1");
  EXPECT_EQ(ws.scalar("SELECT string_agg(activity_name, ',' ORDER BY _ab_cdc_lsn) FROM raw.activities WHERE "
                      "_ab_cdc_lsn > (SELECT min(_ab_cdc_lsn) FROM raw.activities)"),
            "Running,Yoga");
  EXPECT_EQ(ws.scalar("SELECT count(DISTINCT _airbyte_raw_id) FROM raw.users"), "6");
  // Acknowledged only after the warehouse commit: the slot has moved past the changes.
  EXPECT_EQ(pg_scalar(admin, fmt::format("SELECT confirmed_flush_lsn >= '{}'::pg_lsn FROM pg_replication_slots "
                                         "WHERE slot_name = 'airbyte_slot'",
                                         after)),
            "t");

  auto again = ws.sync();
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("0 changes"), std::string::npos) << again.output;
  EXPECT_EQ(ws.scalar("SELECT count(*) FROM raw.users"), "6") << "re-running loads nothing new";
}

TEST(CdcSync, LostSlotIsExplainedAndResnapshotAddsOnlyNewVersions) {
  HRFLOW_START_OR_SKIP(pg, PostgresInstance::start());
  auto admin = connect(pg->url());
  exec(admin, kDdl);
  exec(admin, fmt::format("INSERT INTO users {} VALUES {}, {}", kUserCols, user_values(10001, 60), user_values(10002, 61)));
  Workspace ws(pg->url());
  ASSERT_EQ(ws.sync().exit_code, 0);
  exec(admin, "SELECT pg_drop_replication_slot('airbyte_slot')");
  auto lost = ws.sync();
  EXPECT_EQ(lost.exit_code, 1) << lost.output;
  EXPECT_NE(lost.output.find("airbyte_slot' no longer exists"), std::string::npos) << lost.output;
  EXPECT_NE(lost.output.find("hrflow sync oltp --resnapshot"), std::string::npos) << lost.output;

  auto re = ws.sync({"--resnapshot"});
  ASSERT_EQ(re.exit_code, 0) << re.output;
  exec(admin, "UPDATE users SET weight = 99 WHERE user_id = 10002");
  ASSERT_EQ(ws.sync().exit_code, 0);
  EXPECT_EQ(ws.scalar("SELECT count(*) FROM raw.users WHERE weight = 99"), "1") << "streaming resumed";
}

// A managed-style server we can restart, with commit timestamps on.
struct RestartablePostgres {
  TempDir dir;
  int port = hrflow::testing::free_port();
  fs::path data() const { return dir.path() / "data"; }
  Status start() { return oltp::PostgresServer::start({data(), port, "hrflow", 60}).ok() ? Status{} : io_error("start"); }
  std::string url() const { return fmt::format("postgresql://postgres@127.0.0.1:{}/hrflow", port); }
  ~RestartablePostgres() { (void)oltp::PostgresServer::stop(data()); }
};

// The slot's confirmed position passed `lsn`: hrflow committed and acknowledged everything before it.
bool acknowledged(const std::string& url, const std::string& lsn) {
  auto c = PgConnection::connect(url);
  if (!c.ok()) return false;
  auto r = c->exec(fmt::format("SELECT confirmed_flush_lsn > '{}'::pg_lsn FROM pg_replication_slots WHERE "
                               "slot_name = 'airbyte_slot'",
                               lsn));
  return r.ok() && r->rows() == 1 && r->text(0, 0) == "t";
}

// Run a transaction that ends with `sql` and return an LSN inside it (before its commit record).
std::string commit_and_mark(PgConnection& pg, const std::string& sql) {
  exec(pg, "BEGIN");
  exec(pg, sql);
  std::string lsn = pg_scalar(pg, "SELECT pg_current_wal_insert_lsn()::text");
  exec(pg, "COMMIT");
  return lsn;
}

TEST(CdcSync, FollowSurvivesPostgresRestartAndUsesCommitTimestamps) {
  RestartablePostgres server;
  if (!fs::exists(oltp::postgres_bin_dir() / "initdb")) GTEST_SKIP() << "PostgreSQL 15 is not installed";
  ASSERT_TRUE(server.start().ok());
  ASSERT_TRUE(oltp::PostgresServer::stop(server.data()).ok());
  std::ofstream(server.data() / "postgresql.auto.conf", std::ios::app) << "track_commit_timestamp = on\n";
  ASSERT_TRUE(server.start().ok());
  {
    auto admin = connect(server.url());
    exec(admin, kDdl);
    exec(admin, fmt::format("INSERT INTO users {} VALUES {}", kUserCols, user_values(10001, 60)));
  }
  Workspace ws(server.url());
  auto follow = Subprocess::start(
      {hrflow::testing::hrflow_bin(), "--config", ws.config.string(), "sync", "oltp", "--follow", "-q"},
      (ws.dir.path() / "follow.log").string());
  ASSERT_TRUE(follow.ok());
  std::string mark;
  {
    auto admin = connect(server.url());
    ASSERT_TRUE(wait_until([&] { return pg_scalar(admin, "SELECT count(*) FROM pg_replication_slots WHERE active") == "1"; },
                           std::chrono::seconds(30)));
    mark = commit_and_mark(admin, fmt::format("INSERT INTO users {} VALUES {}", kUserCols, user_values(10002, 61)));
  }
  ASSERT_TRUE(wait_until([&] { return acknowledged(server.url(), mark); }, std::chrono::seconds(30)));

  ASSERT_TRUE(oltp::PostgresServer::stop(server.data()).ok());
  ASSERT_TRUE(server.start().ok());
  {
    auto admin = connect(server.url());
    mark = commit_and_mark(admin, "UPDATE users SET weight = 77 WHERE user_id = 10001");
  }
  ASSERT_TRUE(wait_until([&] { return acknowledged(server.url(), mark); }, std::chrono::seconds(60)))
      << "no reconnect after the restart";
  EXPECT_EQ(follow->stop(SIGINT, 20000), 0);
  std::ifstream log(ws.dir.path() / "follow.log");
  std::string out((std::istreambuf_iterator<char>(log)), {});
  EXPECT_NE(out.find("reconnect"), std::string::npos) << out;
  EXPECT_EQ(ws.scalar("SELECT string_agg(user_id || ':' || weight, ',' ORDER BY _ab_cdc_lsn) FROM raw.users"),
            "10001:60,10002:61,10001:77");
  // Snapshot rows carry their inserting transaction's commit time, which precedes the later changes.
  EXPECT_EQ(ws.scalar("SELECT count(*) FROM raw.users a, raw.users b WHERE a.user_id = 10001 AND b.user_id = "
                      "10002 AND a._ab_cdc_updated_at < b._ab_cdc_updated_at"),
            "1");
}

TEST(CdcSync, KillNineAtRandomMomentsLosesAndDuplicatesNothing) {
  HRFLOW_START_OR_SKIP(pg, PostgresInstance::start());
  {
    auto admin = connect(pg->url());
    exec(admin, kDdl);
    std::string values;
    for (int i = 0; i < 50; ++i) values += (i ? "," : "") + user_values(10001 + i, 0);
    exec(admin, fmt::format("INSERT INTO users {} VALUES {}", kUserCols, values));
  }
  Workspace ws(pg->url());
  auto initial = ws.sync();
  ASSERT_EQ(initial.exit_code, 0) << initial.output;
  // A writer keeps changing weights (each value once) while sync is killed and restarted.
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::thread writer([&] {
    auto w = connect(pg->url());
    for (int v = 1; !stop && v < 30000; ++v) {
      // Several changes per transaction, sometimes.
      std::string sql = fmt::format("UPDATE users SET weight = {} WHERE user_id = {}", v, 10001 + v % 50);
      if (v % 7 == 0) {
        sql = fmt::format("BEGIN; {}; UPDATE users SET weight = {} WHERE user_id = {}; COMMIT", sql, v + 1,
                          10001 + (v + 1) % 50);
        ++v;
      }
      if (!w.exec(sql).ok()) break;
      written = v;
    }
  });
  std::mt19937 rng(std::random_device{}());
  for (int round = 0; round < 6; ++round) {
    auto p = Subprocess::start({hrflow::testing::hrflow_bin(), "--config", ws.config.string(), "sync", "oltp",
                                "--follow", "-q"},
                               (ws.dir.path() / "follow.log").string());
    ASSERT_TRUE(p.ok());
    int start = written;
    // Let it run until the writer made some progress, plus a random bit.
    wait_until([&] { return written > start + 100; }, std::chrono::seconds(10));
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 1000)(rng)));
    p->stop(SIGKILL, 1000);
  }
  stop = true;
  writer.join();
  auto final_sync = ws.sync();
  ASSERT_EQ(final_sync.exit_code, 0) << final_sync.output;
  int n = written;
  ASSERT_GT(n, 100);
  // Every weight value 1..n appears in exactly one raw row.
  EXPECT_EQ(ws.scalar(fmt::format("SELECT count(*) FROM raw.users WHERE weight BETWEEN 1 AND {}", n)),
            std::to_string(n));
  EXPECT_EQ(ws.scalar(fmt::format("SELECT count(DISTINCT weight) FROM raw.users WHERE weight BETWEEN 1 AND {}", n)),
            std::to_string(n));
  EXPECT_EQ(ws.scalar("SELECT count(*) FROM raw.users WHERE weight = 0"), "50") << "the snapshot, once";
}

}  // namespace
}  // namespace hrflow::ingest
