// The endpoint's text handling (statement splitting, catalog rewrites) and its value encodings, the
// latter on values DuckDB itself produces, compared with what PostgreSQL sends for the same values.
#include <gtest/gtest.h>

#include "common/duckdb.h"
#include "sql/sql_text.h"
#include "sql/values.h"

namespace hrflow::sql {
namespace {

TEST(SqlText, SplitsStatementsOutsideQuotesDollarQuotesAndComments) {
  auto parts = split_statements(
      "select 1; select ';' ; select E'it\\'s;' ; select $$a;b$$, $tag$;$tag$; -- done;\n"
      "select \"a;b\" /* ; */ from t;;  /* only a comment; */ ");
  ASSERT_EQ(parts.size(), 5u);
  EXPECT_EQ(parts[0], "select 1");
  EXPECT_EQ(parts[1], "select ';'");
  EXPECT_EQ(parts[2], "select E'it\\'s;'");
  EXPECT_EQ(parts[3], "select $$a;b$$, $tag$;$tag$");
  EXPECT_EQ(parts[4], "-- done;\nselect \"a;b\" /* ; */ from t");
  EXPECT_TRUE(leading_words("/* only a comment */", 1).empty());
  EXPECT_TRUE(split_statements("  ;  ; ").empty());
  // $1 is a parameter, not a dollar quote.
  EXPECT_EQ(split_statements("select $1; select $2").size(), 2u);
}

TEST(SqlText, LeadingWordsKeepQuotedNamesAndSkipComments) {
  auto w = leading_words("/* c */ DECLARE \"My Cur\" NO SCROLL CURSOR WITH HOLD FOR SELECT 1", 8);
  ASSERT_GE(w.size(), 7u);
  EXPECT_EQ(w[0], "declare");
  EXPECT_EQ(w[1], "My Cur");
  EXPECT_EQ(w[4], "cursor");
  EXPECT_EQ(std::string(after_words("DECLARE \"My Cur\" CURSOR FOR SELECT 1", 4)), "SELECT 1");
  EXPECT_EQ(leading_words("(SELECT 1)", 1), std::vector<std::string>{"select"});
}

TEST(SqlText, RewritesWhatPostgresClientsAskOfTheCatalog) {
  EXPECT_EQ(rewrite_for_duckdb("SELECT c.relname FROM pg_catalog.pg_class c WHERE c.relname OPERATOR(pg_catalog.~) "
                               "'^(x)$' COLLATE pg_catalog.default AND n.nspname <> 'pg_catalog.x'"),
            "SELECT c.relname FROM pg_class c WHERE c.relname  ~  '^(x)$'  AND n.nspname <> 'pg_catalog.x'");
  // PostgreSQL's regular-expression match finds the pattern anywhere in the text.
  EXPECT_EQ(rewrite_for_duckdb("n !~ '^pg_' AND a ~* 'b' AND c ~~ 'x%'"),
            "n !~ '(?s).*(?:^pg_).*' AND a ~ '(?is).*(?:b).*' AND c ~~ 'x%'");
  EXPECT_EQ(rewrite_for_duckdb("d.classoid = 'pg_class'::regclass AND c.oid = 'serving.t' :: pg_catalog.regclass"),
            "d.classoid = hrflow_regclass('pg_class') AND c.oid = hrflow_regclass('serving.t')");
  EXPECT_EQ(rewrite_for_duckdb("SELECT 'int4'::regtype, 'x'::regclassy"), "SELECT hrflow_regtype('int4'), 'x'::regclassy");
  // Users' queries are left alone: no pg_catalog, nothing changes.
  const std::string user = "SELECT a, 'pg_catalog.' || b FROM serving.t WHERE c COLLATE nocase = 'x'";
  EXPECT_EQ(rewrite_for_duckdb(user), user);
}

TEST(SqlText, UnquotesSettingValues) {
  EXPECT_EQ(unquote_setting(" 'UTC' "), "UTC");
  EXPECT_EQ(unquote_setting("\"$user\", public"), "$user, public");
  EXPECT_EQ(unquote_setting("'it''s'"), "it's");
}

// Encodes the values of the first row of `sql` as the endpoint sends them.
std::vector<std::string> encode(const std::string& sql, bool binary) {
  auto db = db::Database::open(":memory:");
  auto conn = db::Connection::connect(*db);
  EXPECT_TRUE(conn->execute("SET TimeZone = 'UTC'").ok());
  auto r = conn->query(sql);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  std::vector<std::string> out;
  if (!r.ok()) return out;
  duckdb_data_chunk chunk = duckdb_fetch_chunk(*r->raw());
  for (uint64_t c = 0; c < r->column_count(); ++c) {
    duckdb_logical_type t = duckdb_column_logical_type(r->raw(), c);
    ColumnEncoder e(t);
    duckdb_destroy_logical_type(&t);
    std::string v;
    if (binary) {
      e.binary(duckdb_data_chunk_get_vector(chunk, c), 0, v);
    } else {
      e.text(duckdb_data_chunk_get_vector(chunk, c), 0, v);
    }
    out.push_back(v);
  }
  duckdb_destroy_data_chunk(&chunk);
  return out;
}

TEST(Values, TextAsPostgresWritesIt) {
  auto v = encode("SELECT true, 42::SMALLINT, -7::BIGINT, 2.5::DOUBLE, 'inf'::DOUBLE, 0.1::FLOAT, -0.05::DECIMAL(10, 2), "
                  "123456789012345678901234567890::HUGEINT, 'héllo', '\\xAB'::BLOB, DATE '2024-02-29', "
                  "TIME '08:00:00.250', TIMESTAMP '2024-01-10 08:00:00.5', TIMESTAMPTZ '2024-01-10 08:00:00+00', "
                  "INTERVAL '1 year 2 months 3 days 04:05:06', '6ba7b810-9dad-11d1-80b4-00c04fd430c8'::UUID, [1, 2], "
                  "{'a': 1}, 1e20::DOUBLE",
                  false);
  const std::vector<std::string> want = {"t", "42", "-7", "2.5", "Infinity", "0.1", "-0.05",
                                         "123456789012345678901234567890", "héllo", "\\xab", "2024-02-29",
                                         "08:00:00.25", "2024-01-10 08:00:00.5", "2024-01-10 08:00:00+00",
                                         "1 year 2 mons 3 days 04:05:06", "6ba7b810-9dad-11d1-80b4-00c04fd430c8",
                                         "[1, 2]", "{'a': 1}", "1e+20"};
  EXPECT_EQ(v, want);
}

TEST(Values, BinaryAsPostgresSendsIt) {
  auto v = encode("SELECT 258::INTEGER, DATE '2000-01-02', TIMESTAMP '2000-01-01 00:00:01', 12.34::DECIMAL(10, 2), "
                  "-0.5::DECIMAL(4, 1), 0::DECIMAL(4, 1)",
                  true);
  ASSERT_EQ(v.size(), 6u);
  EXPECT_EQ(v[0], std::string("\0\0\x01\x02", 4));
  EXPECT_EQ(v[1], std::string("\0\0\0\x01", 4));                  // days since 2000-01-01
  EXPECT_EQ(v[2], std::string("\0\0\0\0\0\x0f\x42\x40", 8));      // microseconds since 2000-01-01
  // numeric: ndigits, weight, sign, dscale, base-10000 digits
  EXPECT_EQ(v[3], std::string("\0\x02\0\0\0\0\0\x02\0\x0c\x0d\x48", 12));  // 12.34 = 12 | 3400
  EXPECT_EQ(v[4], std::string("\0\x01\xff\xff\x40\0\0\x01\x13\x88", 10));  // -0.5 = -(5000 x 10000^-1)
  EXPECT_EQ(v[5], std::string("\0\0\0\0\0\0\0\x01", 8));
}

}  // namespace
}  // namespace hrflow::sql
