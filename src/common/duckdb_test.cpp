#include "common/duckdb.h"

#include <gtest/gtest.h>

#include "common/config.h"
#include "common/state.h"
#include "support/fixtures.h"

namespace hrflow::db {
namespace {

TEST(DuckDb, QueryPrepareAppendRoundTrip) {
  auto database = Database::open(":memory:");
  ASSERT_TRUE(database.ok()) << database.error().message;
  auto conn = Connection::connect(*database);
  ASSERT_TRUE(conn.ok());
  ASSERT_TRUE(conn->execute("CREATE TABLE t (id BIGINT, name VARCHAR, hr DOUBLE, ts TIMESTAMP)").ok());
  {
    auto app = conn->appender("", "t");
    ASSERT_TRUE(app.ok()) << app.error().message;
    for (int64_t i = 0; i < 1000; ++i) {
      ASSERT_TRUE(app->append(i).ok());
      ASSERT_TRUE(app->append(std::string_view(i % 2 ? "odd" : "even")).ok());
      ASSERT_TRUE(app->append(60.5 + static_cast<double>(i % 10)).ok());
      ASSERT_TRUE(app->append_timestamp_us(1711943972LL * 1000000).ok());
      ASSERT_TRUE(app->end_row().ok());
    }
    ASSERT_TRUE(app->close().ok());
  }
  auto n = conn->scalar("SELECT count(*) FROM t WHERE name = 'odd'");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(**n, "500");
  auto stmt = conn->prepare("SELECT max(id), min(hr) FROM t WHERE name = $1");
  ASSERT_TRUE(stmt.ok());
  ASSERT_TRUE(stmt->bind(1, std::string_view("even")).ok());
  auto r = stmt->execute();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r->get_int64(0, 0), 998);
  EXPECT_DOUBLE_EQ(*r->get_double(0, 1), 60.5);
  auto ts = conn->scalar("SELECT strftime(max(ts), '%Y-%m-%d %H:%M:%S') FROM t");
  EXPECT_EQ(**ts, "2024-04-01 03:59:32");
}

TEST(DuckDb, ErrorsCarryDuckDbsMessage) {
  auto database = Database::open(":memory:");
  auto conn = Connection::connect(*database);
  auto r = conn->query("SELECT * FROM missing_table");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("missing_table"), std::string::npos) << r.error().message;
  auto a = conn->appender("", "missing_table");
  EXPECT_FALSE(a.ok());
}

TEST(DuckDb, TransactionRollsBackUnlessCommitted) {
  auto database = Database::open(":memory:");
  auto conn = Connection::connect(*database);
  ASSERT_TRUE(conn->execute("CREATE TABLE t (x INT)").ok());
  {
    auto tx = Transaction::begin(*conn);
    ASSERT_TRUE(tx.ok());
    ASSERT_TRUE(conn->execute("INSERT INTO t VALUES (1)").ok());
  }  // no commit
  EXPECT_EQ(**conn->scalar("SELECT count(*) FROM t"), "0");
  {
    auto tx = Transaction::begin(*conn);
    ASSERT_TRUE(conn->execute("INSERT INTO t VALUES (1)").ok());
    ASSERT_TRUE(tx->commit().ok());
  }
  EXPECT_EQ(**conn->scalar("SELECT count(*) FROM t"), "1");
}

TEST(Warehouse, CreatesSchemasUnderStateDir) {
  testing::TempDir dir;
  auto config = Config::parse("state_dir: " + (dir.path() / "state").string(), "test");
  ASSERT_TRUE(config.ok());
  auto wh = open_warehouse(*config);
  ASSERT_TRUE(wh.ok()) << wh.error().message;
  auto conn = Connection::connect(*wh);
  auto n = conn->scalar("SELECT count(*) FROM information_schema.schemata WHERE schema_name IN ('raw','staging','serving')");
  EXPECT_EQ(**n, "3");
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "state" / "warehouse.duckdb"));
}

TEST(Quoting, IdentifiersAndLiterals) {
  EXPECT_EQ(quote_identifier("my \"table\""), "\"my \"\"table\"\"\"");
  EXPECT_EQ(quote_literal("it's"), "'it''s'");
}

}  // namespace
}  // namespace hrflow::db
