// The lake loader against a real DuckDB: well-formed lines, numbers sent as strings, broken and
// truncated lines, compressed files, empty files, lake key recognition.
#include <gtest/gtest.h>

#include "common/duckdb.h"
#include "ingest/lake.h"

namespace hrflow::ingest {
namespace {

struct Db {
  db::Database database = std::move(db::Database::open(":memory:")).value();
  db::Connection conn = std::move(db::Connection::connect(database)).value();
  Db() {
    EXPECT_TRUE(conn.execute("CREATE SCHEMA raw").ok());
    auto st = ensure_lake_tables(conn);
    EXPECT_TRUE(st.ok()) << st.error().message;
  }
  std::string q(const std::string& sql) {
    auto v = conn.scalar(sql);
    EXPECT_TRUE(v.ok()) << sql << ": " << v.error().message;
    return v.ok() ? v->value_or("NULL") : "ERROR";
  }
  LakeStats load(std::string content, lake::Compression c = lake::Compression::kNone, const std::string& url = "file:///l/a.json") {
    LakeStats stats;
    auto st = load_lake_content(conn, content, c, url, 1711940000000000LL, 1711950000000000LL, stats);
    EXPECT_TRUE(st.ok()) << st.error().message;
    return stats;
  }
};

constexpr const char* kGood =
    R"({"user_id":10001,"heart_rate":128,"timestamp":1711943972,"meta":{"activity_id":20890,"location":{"latitude":37.416834,"longitude":-121.975002}}})";

TEST(LakeLoad, LoadsRecordsWithAirbyteColumns) {
  Db db;
  auto s = db.load(std::string(kGood) + "\n" + kGood + "\n");
  EXPECT_EQ(s.rows, 2u);
  EXPECT_EQ(s.rows_with_errors, 0u);
  EXPECT_EQ(db.q("SELECT count(DISTINCT _airbyte_raw_id) FROM raw.heart_rate_stream"), "2");
  EXPECT_EQ(db.q("SELECT user_id || ',' || heart_rate || ',' || \"timestamp\" || ',' || (meta->>'$.activity_id') "
                 "FROM raw.heart_rate_stream LIMIT 1"),
            "10001,128.0,1711943972,20890");
  EXPECT_EQ(db.q("SELECT (meta->'$.location'->>'$.latitude') FROM raw.heart_rate_stream LIMIT 1"), "37.416834");
  EXPECT_EQ(db.q("SELECT _ab_source_file_url || ' ' || epoch_us(_ab_source_file_last_modified) || ' ' || "
                 "epoch_us(_airbyte_extracted_at) FROM raw.heart_rate_stream LIMIT 1"),
            "file:///l/a.json 1711940000000000 1711950000000000");
  EXPECT_EQ(db.q("SELECT count(*) FROM raw.heart_rate_stream WHERE json_array_length(_airbyte_meta->'$.errors') = 0 "
                 "AND json_array_length(_airbyte_meta->'$.changes') = 0"),
            "2");
  // Ids are version 7 UUIDs of the extraction time that sort in line order.
  EXPECT_EQ(db.q("SELECT count(*) FROM raw.heart_rate_stream WHERE uuid_extract_version(_airbyte_raw_id) = 7 AND "
                 "epoch_ms(uuid_extract_timestamp(_airbyte_raw_id)) = 1711950000000"),
            "2");
  db.load(R"({"user_id":1,"heart_rate":90,"timestamp":1})" "\n" R"({"user_id":1,"heart_rate":60,"timestamp":2})" "\n"
          R"({"user_id":1,"heart_rate":75,"timestamp":3})", lake::Compression::kNone, "file:///l/b.json");
  EXPECT_EQ(db.q("SELECT string_agg(heart_rate::INT, ',' ORDER BY _airbyte_raw_id) FROM raw.heart_rate_stream "
                 "WHERE _ab_source_file_url = 'file:///l/b.json'"),
            "90,60,75");
}

TEST(LakeLoad, CoercesStringsAndKeepsUnreadableLinesWithTheirError) {
  Db db;
  std::string content =
      R"({"user_id":"10002","heart_rate":"97","timestamp":"1711943973","meta":"{\"activity_id\":20001}"})" "\n"
      R"({"user_id":10003,"heart_rate":"fast","timestamp":1711943974,"meta":{}})" "\n"
      "{\"user_id\":10004,\"heart_rate\":1\n"  // broken JSON
      "\n"
      R"({"user_id":10005,"heart_rate":80,"timestamp":1711943975,"meta":{"activity_id":2)";  // truncated last line
  auto s = db.load(content);
  EXPECT_EQ(s.rows, 4u) << "blank lines are not records; everything else is kept";
  EXPECT_EQ(s.rows_with_errors, 3u);
  EXPECT_EQ(s.rows_coerced, 1u);
  EXPECT_EQ(db.q("SELECT user_id || ',' || heart_rate || ',' || (meta->>'$.activity_id') FROM raw.heart_rate_stream "
                 "WHERE user_id = 10002"),
            "10002,97.0,20001");
  EXPECT_EQ(db.q("SELECT json_array_length(_airbyte_meta->'$.changes') FROM raw.heart_rate_stream WHERE user_id = 10002"),
            "4");
  EXPECT_EQ(db.q("SELECT (heart_rate IS NULL) AND ((_airbyte_meta->>'$.errors[0]') LIKE '%a.json:2: field heart_rate is "
                 "\"fast\", not a number%') FROM raw.heart_rate_stream WHERE user_id = 10003"),
            "true");
  EXPECT_EQ(db.q("SELECT string_agg(_airbyte_meta->>'$.record', '|' ORDER BY _airbyte_meta->>'$.record') FROM "
                 "raw.heart_rate_stream WHERE user_id IS NULL"),
            "{\"user_id\":10004,\"heart_rate\":1|{\"user_id\":10005,\"heart_rate\":80,\"timestamp\":1711943975,"
            "\"meta\":{\"activity_id\":2");
  EXPECT_EQ(db.q("SELECT count(*) FROM raw.heart_rate_stream WHERE (_airbyte_meta->>'$.errors[0]') LIKE "
                 "'file:///l/a.json:3: unreadable JSON%'"),
            "1");
}


TEST(LakeLoad, DecompressesGzipAndZstdAndReportsTruncation) {
  Db db;
  std::string lines;
  for (int i = 0; i < 500; ++i) lines += std::string(kGood) + "\n";
  EXPECT_EQ(db.load(*compress(lines, Codec::kGzip), lake::Compression::kGzip).rows, 500u);
  std::string z = *compress(lines, Codec::kZstd);
  EXPECT_EQ(db.load(z, lake::Compression::kZstd).rows, 500u);
  EXPECT_EQ(db.q("SELECT count(*) FROM raw.heart_rate_stream WHERE json_array_length(_airbyte_meta->'$.errors') = 0"),
            "1000");

  std::string g = *compress(lines, Codec::kGzip);
  auto cut = db.load(g.substr(0, g.size() / 2), lake::Compression::kGzip, "file:///l/cut.json.gz");
  EXPECT_GT(cut.rows, 0u);
  EXPECT_GE(cut.rows_with_errors, 1u);
  EXPECT_EQ(db.q("SELECT count(*) FROM raw.heart_rate_stream WHERE _airbyte_meta::VARCHAR LIKE '%gzip stream is "
                 "truncated%'"),
            "1");
}

TEST(LakeLoad, EmptyFileLoadsNothing) {
  Db db;
  auto s = db.load("");
  EXPECT_EQ(s.rows, 0u);
  EXPECT_EQ(db.q("SELECT count(*) FROM raw.heart_rate_stream"), "0");
}

TEST(LakeLoad, SinkErrorFilesKeepEveryRejectedRecordWithItsReason) {
  Db db;
  std::string content =
      R"({"partition":2,"offset":17,"error":"timestamp is missing","value":"{\"user_id\":1}"})" "\n"
      R"({"partition":2,"offset":18,"error":"not JSON","value_base64":"/w=="})" "\n"
      "garbage\n";
  LakeStats s;
  std::string c = content;
  ASSERT_TRUE(load_lake_content(db.conn, c, lake::Compression::kNone, "file:///l/e.json", 1, 2, s, true).ok());
  EXPECT_EQ(s.rows, 3u);
  EXPECT_EQ(s.rows_with_errors, 3u);
  EXPECT_EQ(db.q("SELECT (_airbyte_meta->>'$.errors[0]') || ' | ' || (_airbyte_meta->>'$.record') FROM "
                 "raw.heart_rate_stream ORDER BY _airbyte_meta->>'$.errors[0]' LIMIT 1"),
            "file:///l/e.json:1: rejected by the lake sink (partition 2, offset 17): timestamp is missing | "
            "{\"user_id\":1}");
  EXPECT_EQ(db.q("SELECT count(*) FROM raw.heart_rate_stream WHERE user_id IS NULL AND heart_rate IS NULL AND "
                 "(_airbyte_meta->>'$.record') = 'garbage'"),
            "1");
}

// Batches hold about batch_bytes each and never leave a small last one behind.
TEST(LakeBatches, SplitByBytesAndTheLastTakesASmallRest) {
  using V = std::vector<size_t>;
  // 40 files of 7 units, batches of 256: 37 files reach 256; the rest (21) is under half a batch.
  EXPECT_EQ(plan_batches(std::vector<uint64_t>(40, 7), 256, 1000), V{40});
  // A rest of half a batch or more is a batch of its own.
  EXPECT_EQ(plan_batches(std::vector<uint64_t>(60, 7), 256, 1000), (V{37, 60}));
  EXPECT_EQ(plan_batches(std::vector<uint64_t>(100, 7), 256, 1000), (V{37, 74, 100}));
  // A file larger than a batch is a batch alone; the file count bounds a batch too, merged rest included.
  EXPECT_EQ(plan_batches({500, 60, 60}, 100, 1000), (V{1, 3}));
  EXPECT_EQ(plan_batches({10, 500, 10, 10, 10}, 100, 1000), V{5});
  EXPECT_EQ(plan_batches(std::vector<uint64_t>(7, 1), 256, 3), (V{3, 6, 7}));
  EXPECT_EQ(plan_batches(std::vector<uint64_t>(5, 1), 256, 3), (V{3, 5}));
  EXPECT_EQ(plan_batches({}, 256, 1000), V{});
  EXPECT_EQ(plan_batches({0, 0, 0}, 256, 1000), V{3});
}

}  // namespace
}  // namespace hrflow::ingest
