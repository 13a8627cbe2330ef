// The lake source over real object stores (a FileStore directory and S3 through moto) and, end to end,
// `hrflow sync lake` killed with SIGKILL at random moments: every file loaded exactly once, late files
// with older modification times still loaded, changed files replacing their rows, bad input kept and
// counted, objects that are not lake files skipped and reported.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "common/duckdb.h"
#include "ingest/lake.h"
#include "lake/file_store.h"
#include "lake/layout.h"
#include "lake/s3_store.h"
#include "support/fixtures.h"

namespace hrflow::ingest {
namespace {
using hrflow::testing::S3Instance;
using hrflow::testing::TempDir;

constexpr int64_t kHour = 1711940400 / 3600;  // 2024-04-01 03:00 UTC

std::string records(int n, int first_user) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    out += fmt::format(R"({{"user_id":{},"heart_rate":{},"timestamp":{},"meta":{{"activity_id":{}}}}})", first_user + i,
                       60 + i % 100, kHour * 3600 + i, 20000 + i % 7);
    out += '\n';
  }
  return out;
}

std::string key(int partition, int64_t offset, lake::Compression c = lake::Compression::kNone, bool error_file = false) {
  return lake::format_key({"hr-data-topic", partition, offset, error_file, kHour, c});
}



std::string gzip(const std::string& in) { return *compress(in, Codec::kGzip); }
std::string zstd(const std::string& in) { return *compress(in, Codec::kZstd); }

struct Warehouse {
  db::Database database = std::move(db::Database::open(":memory:")).value();
  db::Connection conn = std::move(db::Connection::connect(database)).value();
  LakeOptions options;
  Warehouse() { options.progress = false; }
  std::string q(const std::string& sql) {
    auto v = conn.scalar(sql);
    EXPECT_TRUE(v.ok()) << sql << ": " << v.error().message;
    return v.ok() ? v->value_or("NULL") : "ERROR";
  }
  LakeStats sync(lake::ObjectStore& store) {
    auto s = LakeSource::run(store, database, options);
    EXPECT_TRUE(s.ok()) << s.error().message;
    return s.ok() ? *s : LakeStats{};
  }
  std::string rows_of(lake::ObjectStore& store, const std::string& k) {
    return q(fmt::format("SELECT count(*) FROM raw.heart_rate_stream WHERE _ab_source_file_url = {}",
                         db::quote_literal(store.url_of(k))));
  }
};

std::unique_ptr<lake::FileStore> file_store(const TempDir& dir) {
  return std::move(lake::FileStore::open(dir.path() / "lake")).value();
}

void set_mtime(const lake::FileStore& store, const std::string& k, std::filesystem::file_time_type t) {
  std::filesystem::last_write_time(store.root() / k, t);
}

TEST(LakeSource, LoadsEveryFileOnceAndARerunLoadsNothing) {
  TempDir dir;
  auto store = file_store(dir);
  ASSERT_TRUE(store->put(key(0, 0), records(100, 1)).ok());
  ASSERT_TRUE(store->put(key(0, 100, lake::Compression::kGzip), gzip(records(50, 1000))).ok());
  ASSERT_TRUE(store->put(key(1, 0, lake::Compression::kZstd), zstd(records(70, 2000))).ok());
  Warehouse wh;
  auto first = wh.sync(*store);
  EXPECT_EQ(first.files_loaded, 3u);
  EXPECT_EQ(first.rows, 220u);
  EXPECT_EQ(first.rows_with_errors, 0u);
  EXPECT_EQ(wh.rows_of(*store, key(0, 100, lake::Compression::kGzip)), "50");
  EXPECT_EQ(wh.q("SELECT count(DISTINCT user_id) FROM raw.heart_rate_stream"), "220");

  auto again = wh.sync(*store);
  EXPECT_EQ(again.files_loaded + again.files_reloaded, 0u);
  EXPECT_EQ(again.files_unchanged, 3u);
  EXPECT_EQ(again.rows, 0u);
  EXPECT_EQ(wh.q("SELECT count(*) FROM raw.heart_rate_stream"), "220");
}

TEST(LakeSource, LoadingOnSeveralThreadsLoadsTheSameRowsInEachFilesOrderAsLoadingFileByFile) {
  TempDir dir;
  auto store = file_store(dir);
  // Several data chunks per file (2048 rows each), all encodings, bad lines, an error file, an empty file.
  std::string bad = records(2500, 1) + "{\"user_id\":9,\"heart_rate\n" +
                    R"({"user_id":"77","heart_rate":"61.5","timestamp":1711943972.4,"meta":"{\"a\":1}"})" + "\n" +
                    records(10, 5000);
  ASSERT_TRUE(store->put(key(0, 0), bad).ok());
  ASSERT_TRUE(store->put(key(0, 3000, lake::Compression::kGzip), gzip(records(4100, 10000))).ok());
  ASSERT_TRUE(store->put(key(1, 0, lake::Compression::kZstd), zstd(records(2048, 20000))).ok());
  std::string g = gzip(records(3000, 30000));
  ASSERT_TRUE(store->put(key(1, 2048, lake::Compression::kGzip), g.substr(0, g.size() / 2)).ok());
  ASSERT_TRUE(store->put(key(2, 0), "").ok());
  ASSERT_TRUE(store->put(key(2, 1), records(1, 40000)).ok());  // shorter than simdjson's padding
  ASSERT_TRUE(store->put(key(0, 7, lake::Compression::kNone, true),
                         R"({"partition":0,"offset":7,"error":"bad","value":"{\"timestamp\":\"oops\"}"})")
                  .ok());
  for (int f = 0; f < 6; ++f) ASSERT_TRUE(store->put(key(3, f * 700), records(700, 50000 + f * 700)).ok());

  Warehouse ahead;
  ASSERT_TRUE(ahead.conn.execute("SET threads = 3").ok());
  LakeStats a = ahead.sync(*store);
  EXPECT_EQ(ahead.q("SELECT current_setting('threads')"), "3") << "DuckDB's threads are restored after the load";

  // The same files, one at a time in the source's order, through the direct single-file path.
  Warehouse direct;
  ASSERT_TRUE(direct.conn.execute("CREATE SCHEMA raw").ok());
  ASSERT_TRUE(ensure_lake_tables(direct.conn).ok());
  auto listed = std::move(store->list("")).value();
  std::sort(listed.begin(), listed.end(), [](const auto& x, const auto& y) {
    return std::tie(x.last_modified_ms, x.key) < std::tie(y.last_modified_ms, y.key);
  });
  LakeStats d;
  for (const auto& obj : listed) {
    auto k = std::move(lake::parse_key(obj.key)).value();
    std::string content = std::move(store->get(obj.key)).value();
    ASSERT_TRUE(load_lake_content(direct.conn, content, k.compression, store->url_of(obj.key), obj.last_modified_ms * 1000,
                                  0, d, k.error_file)
                    .ok());
  }
  EXPECT_EQ(a.files_loaded, listed.size());
  EXPECT_EQ(a.rows, d.rows);
  EXPECT_EQ(a.rows_with_errors, d.rows_with_errors);
  EXPECT_EQ(a.rows_coerced, d.rows_coerced);
  EXPECT_EQ(a.files_damaged, d.files_damaged);
  EXPECT_EQ(a.files_empty, d.files_empty);
  EXPECT_GT(a.rows, 2500u + 4100u + 2048u + 6 * 700u);
  // Every column but the random id and the extraction time, file by file, each file's rows in table order.
  const char* rows =
      "SELECT count(*) || ' ' || sum(hash(_ab_source_file_url, epoch_us(_ab_source_file_last_modified), user_id, "
      "heart_rate, \"timestamp\", meta::VARCHAR, _airbyte_meta::VARCHAR)) || ' ' || "
      "md5(string_agg(concat_ws('|', _ab_source_file_url, user_id, heart_rate, \"timestamp\", meta, _airbyte_meta), "
      "'\n' ORDER BY _ab_source_file_url, rowid)) FROM raw.heart_rate_stream";
  EXPECT_EQ(ahead.q(rows), direct.q(rows));
  EXPECT_EQ(ahead.q("SELECT count(DISTINCT _airbyte_raw_id) FROM raw.heart_rate_stream"), std::to_string(a.rows));
}

TEST(LakeSource, AFileThatAppearsLateWithAnOlderModificationTimeIsStillLoaded) {
  TempDir dir;
  auto store = file_store(dir);
  auto now = std::filesystem::file_time_type::clock::now();
  ASSERT_TRUE(store->put(key(0, 0), records(10, 1)).ok());
  set_mtime(*store, key(0, 0), now - std::chrono::hours(1));
  Warehouse wh;
  EXPECT_EQ(wh.sync(*store).files_loaded, 1u);

  // Airbyte skips this one: its modification time is behind the cursor.
  ASSERT_TRUE(store->put(key(0, 10), records(5, 100)).ok());
  set_mtime(*store, key(0, 10), now - std::chrono::hours(30));
  auto late = wh.sync(*store);
  EXPECT_EQ(late.files_loaded, 1u);
  EXPECT_EQ(wh.rows_of(*store, key(0, 10)), "5");
  EXPECT_EQ(wh.q("SELECT count(*) FROM raw.heart_rate_stream"), "15");
  // The cursor column says when each file was modified, the late one included.
  EXPECT_EQ(wh.q("SELECT count(DISTINCT _ab_source_file_last_modified) FROM raw.heart_rate_stream"), "2");
}

TEST(LakeSource, AChangedFileReplacesTheRowsOfItsPreviousVersion) {
  TempDir dir;
  auto store = file_store(dir);
  ASSERT_TRUE(store->put(key(0, 0), records(100, 1)).ok());
  ASSERT_TRUE(store->put(key(0, 100), records(10, 500)).ok());
  Warehouse wh;
  EXPECT_EQ(wh.sync(*store).rows, 110u);

  // The sink rewrote the file under the same name after a crash, with fewer records (the rest went to a
  // new file): the old version's rows must not stay next to the new ones.
  ASSERT_TRUE(store->put(key(0, 0), records(60, 1)).ok());
  ASSERT_TRUE(store->put(key(0, 60), records(40, 61)).ok());
  auto s = wh.sync(*store);
  EXPECT_EQ(s.files_reloaded, 1u);
  EXPECT_EQ(s.files_loaded, 1u);
  EXPECT_EQ(s.rows_replaced, 100u);
  EXPECT_EQ(wh.rows_of(*store, key(0, 0)), "60");
  EXPECT_EQ(wh.q("SELECT count(*) || '/' || count(DISTINCT user_id) FROM raw.heart_rate_stream"), "110/110");
  EXPECT_EQ(wh.sync(*store).rows, 0u);
}

TEST(LakeSource, ObjectsThatAreNotLakeFilesAreSkippedAndReported) {
  TempDir dir;
  auto store = file_store(dir);
  ASSERT_TRUE(store->put(key(0, 0), records(3, 1)).ok());
  ASSERT_TRUE(store->put("README.txt", "hello").ok());
  ASSERT_TRUE(store->put("topics/hr-data-topic/year=2024/month=04/day=01/hour=03/notes.json", "{}").ok());
  ASSERT_TRUE(store->put("_hrflow/sink/hr-data-topic/partition=0.json", "{}").ok());  // the sink's marker
  Warehouse wh;
  auto s = wh.sync(*store);
  EXPECT_EQ(s.rows, 3u);
  ASSERT_EQ(s.skipped.size(), 2u);
  EXPECT_NE(s.skipped[0].find("README.txt"), std::string::npos) << s.skipped[0];
  EXPECT_NE(s.skipped[1].find("notes.json"), std::string::npos) << s.skipped[1];
  EXPECT_EQ(wh.q("SELECT count(*) FROM raw._hrflow_lake_files"), "1");
}

TEST(LakeSource, BadInputIsLoadedWithItsErrorOrReportedNeverDropped) {
  TempDir dir;
  auto store = file_store(dir);
  std::string broken = records(3, 1) + "{\"user_id\":9,\"heart_rate\n" +
                       R"({"user_id":"77","heart_rate":"x","timestamp":"1711943972","meta":"{}"})" + "\n";
  ASSERT_TRUE(store->put(key(0, 0), broken).ok());
  std::string g = gzip(records(400, 100));
  ASSERT_TRUE(store->put(key(0, 10, lake::Compression::kGzip), g.substr(0, g.size() / 2)).ok());
  ASSERT_TRUE(store->put(key(0, 500), "").ok());
  ASSERT_TRUE(store->put(key(0, 7, lake::Compression::kNone, true),
                         R"({"partition":0,"offset":7,"error":"timestamp is not a number","value":"{\"timestamp\":\"oops\"}"})"
                         "\n")
                  .ok());
  Warehouse wh;
  auto s = wh.sync(*store);
  EXPECT_EQ(s.files_loaded, 4u);
  EXPECT_EQ(s.files_empty, 1u);
  EXPECT_EQ(s.files_damaged, 1u);
  EXPECT_EQ(s.rows_coerced, 0u) << "the coerced record also has an unreadable field, so it counts as an error";
  EXPECT_GT(s.rows, 3u + 2u + 1u);
  EXPECT_EQ(wh.q("SELECT count(*) FROM raw.heart_rate_stream WHERE user_id = 77 AND heart_rate IS NULL AND "
                 "\"timestamp\" = 1711943972"),
            "1");
  EXPECT_EQ(wh.q("SELECT count(*) FROM raw.heart_rate_stream WHERE _airbyte_meta::VARCHAR LIKE '%:4: unreadable JSON%'"),
            "1");
  EXPECT_EQ(wh.q("SELECT count(*) FROM raw.heart_rate_stream WHERE _airbyte_meta::VARCHAR LIKE '%gzip stream is truncated%'"),
            "1");
  EXPECT_EQ(wh.q("SELECT _airbyte_meta->>'$.record' FROM raw.heart_rate_stream WHERE _airbyte_meta::VARCHAR LIKE "
                 "'%rejected by the lake sink (partition 0, offset 7)%'"),
            "{\"timestamp\":\"oops\"}");
  EXPECT_EQ(wh.q("SELECT sum(error_rows) = (SELECT count(*) FROM raw.heart_rate_stream WHERE "
                 "json_array_length(_airbyte_meta->'$.errors') > 0) FROM raw._hrflow_lake_files"),
            "true");
  EXPECT_EQ(wh.q("SELECT count(*) FROM raw._hrflow_lake_files"), "4") << "the empty file is recorded as loaded";
  EXPECT_EQ(wh.sync(*store).rows, 0u);
}

// Rows are written into DuckDB's chunks of 2,048 rows, which are reused: a field missing on one row
// is NULL on that row only, in every chunk of a long file.
TEST(LakeSource, AMissingFieldIsNullOnItsOwnRowOnlyAcrossChunks) {
  TempDir dir;
  auto store = file_store(dir);
  std::string content;
  for (int i = 0; i < 7000; ++i) {
    std::string hr = i % 7 == 0 ? "" : fmt::format(R"("heart_rate":{},)", 60 + i % 50);
    std::string meta = i % 11 == 0 ? "" : R"(,"meta":{"activity_id":20001})";
    content += fmt::format(R"({{"user_id":{},{}"timestamp":{}{}}})", i, hr, kHour * 3600 + i, meta) + "\n";
  }
  ASSERT_TRUE(store->put(key(0, 0), content).ok());
  Warehouse wh;
  EXPECT_EQ(wh.sync(*store).rows, 7000u);
  EXPECT_EQ(wh.q("SELECT count(*) FROM raw.heart_rate_stream WHERE (heart_rate IS NULL) <> (user_id % 7 = 0)"), "0");
  EXPECT_EQ(wh.q("SELECT count(*) FROM raw.heart_rate_stream WHERE (meta IS NULL) <> (user_id % 11 = 0)"), "0");
  EXPECT_EQ(wh.q("SELECT count(*) FROM raw.heart_rate_stream WHERE heart_rate <> 60 + user_id % 50"), "0");
  EXPECT_EQ(wh.q("SELECT count(*) FROM raw.heart_rate_stream WHERE user_id IS NULL OR \"timestamp\" IS NULL"), "0");
}

TEST(LakeSource, AFullHistoryIsCompactedWithoutForgettingWhatWasLoaded) {
  TempDir dir;
  auto store = file_store(dir);
  auto now = std::filesystem::file_time_type::clock::now();
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(store->put(key(0, i * 10), records(10, i * 10)).ok());
    set_mtime(*store, key(0, i * 10), now - std::chrono::hours(24 * (10 - i)));  // 10..5 days old
  }
  Warehouse wh;
  wh.options.history_max_files = 3;
  wh.options.days_to_sync_if_history_full = 2;
  EXPECT_EQ(wh.sync(*store).rows, 60u);
  // Files older than (newest - 2 days) keep only a URL hash.
  EXPECT_EQ(wh.q("SELECT count(*) FROM raw._hrflow_lake_files"), "3");
  EXPECT_EQ(wh.q("SELECT count(*) FROM raw._hrflow_lake_files_compacted"), "3");
  EXPECT_EQ(wh.sync(*store).rows, 0u) << "compacted entries still prove those files were loaded";
  ASSERT_TRUE(store->put(key(1, 0), records(4, 900)).ok());
  set_mtime(*store, key(1, 0), now - std::chrono::hours(24 * 20));  // older than everything
  auto late = wh.sync(*store);
  EXPECT_EQ(late.files_loaded, 1u);
  EXPECT_EQ(late.rows, 4u);
}

TEST(LakeSource, S3LakeLoadsOnceAndReloadsAChangedObject) {
  HRFLOW_START_OR_SKIP(s3, S3Instance::start());
  lake::S3Options o;
  o.endpoint = s3->endpoint();
  o.credentials = {S3Instance::kAccessKey, S3Instance::kSecretKey, ""};
  o.list_page_size = 2;
  auto opened = lake::S3Store::open(o, "s3://sync-test/lake");
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  auto store = std::move(opened).value();
  ASSERT_TRUE(store->ensure_bucket().ok());
  ASSERT_TRUE(store->put(key(0, 0), records(20, 1)).ok());
  ASSERT_TRUE(store->put(key(0, 20, lake::Compression::kGzip), gzip(records(30, 100))).ok());
  ASSERT_TRUE(store->put(key(1, 0), records(5, 300)).ok());
  ASSERT_TRUE(store->put("stray.csv", "a,b").ok());
  Warehouse wh;
  auto first = wh.sync(*store);
  EXPECT_EQ(first.files_loaded, 3u);
  EXPECT_EQ(first.rows, 55u);
  EXPECT_EQ(first.skipped.size(), 1u);
  EXPECT_EQ(wh.q("SELECT min(_ab_source_file_url) FROM raw.heart_rate_stream"),
            "s3://sync-test/lake/topics/hr-data-topic/year=2024/month=04/day=01/hour=03/hr-data-topic+0+0000000000.json");
  EXPECT_EQ(wh.sync(*store).rows, 0u);
  ASSERT_TRUE(store->put(key(1, 0), records(7, 300)).ok());  // new ETag and size
  auto changed = wh.sync(*store);
  EXPECT_EQ(changed.files_reloaded, 1u);
  EXPECT_EQ(wh.rows_of(*store, key(1, 0)), "7");
  EXPECT_EQ(wh.q("SELECT count(*) FROM raw.heart_rate_stream"), "57");
}

// `hrflow sync lake` killed at random moments, then restarted until done: per file URL, exactly the
// file's records, and the history lists every file once.
TEST(LakeSyncEndToEnd, KillNineAtRandomMomentsLosesAndDuplicatesNothing) {
  TempDir dir;
  auto lake_dir = dir.path() / "lake";
  constexpr int kFiles = 80, kRows = 2000;
  std::map<std::string, int> expected;  // key -> rows
  {
    auto store = std::move(lake::FileStore::open(lake_dir)).value();
    for (int f = 0; f < kFiles; ++f) {
      std::string k = key(f % 4, static_cast<int64_t>(f / 4) * kRows, f % 5 == 0 ? lake::Compression::kGzip : lake::Compression::kNone);
      int n = kRows - f % 7;
      std::string content = records(n, f * kRows);
      if (f % 5 == 0) content = gzip(content);
      std::filesystem::create_directories((lake_dir / k).parent_path());
      std::ofstream(lake_dir / k, std::ios::binary) << content;
      expected[store->url_of(k)] = n;
    }
  }
  auto config = dir.path() / "hrflow.yml";
  // Small batches (about 4 files each), so that kills land between batches and inside them.
  std::ofstream(config) << fmt::format("state_dir: {}\nlake:\n  url: file://{}\nsync:\n  batch_mb: 1\n",
                                       (dir.path() / "state").string(), lake_dir.string());
  auto warehouse_path = dir.path() / "state" / "warehouse.duckdb";
  auto loaded_files = [&]() -> int64_t {
    if (!std::filesystem::exists(warehouse_path)) return 0;
    auto database = db::Database::open(warehouse_path.string());
    if (!database.ok()) return -1;
    auto conn = db::Connection::connect(*database);
    auto n = conn->scalar("SELECT count(*) FROM raw._hrflow_lake_files");
    return n.ok() && n->has_value() ? std::stoll(**n) : 0;
  };

  std::mt19937 rng(7);
  int interrupted = 0, delay_max = 700;
  for (int k = 0; k < 12; ++k) {
    auto p = hrflow::Subprocess::start({hrflow::testing::hrflow_bin(), "--config", config.string(), "sync", "lake"},
                                       (dir.path() / fmt::format("sync-{}.log", k)).string());
    ASSERT_TRUE(p.ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(50 + rng() % delay_max));  // the random moment
    p->stop(SIGKILL, 1000);
    int64_t n = loaded_files();
    ASSERT_GE(n, 0);
    if (n == kFiles) {
      if (interrupted > 0) break;
      // Everything loaded before a kill landed in the middle (a fast or a slow machine): start again
      // from an empty warehouse and aim earlier.
      std::filesystem::remove_all(dir.path() / "state");
      delay_max = std::max(100, delay_max / 2);
      continue;
    }
    if (n > 0) ++interrupted;
    else delay_max += 300;  // the process had not started loading yet: aim later
  }
  auto out = hrflow::testing::run_hrflow({"--config", config.string(), "sync", "lake", "--quiet"});
  ASSERT_EQ(out.exit_code, 0) << out.output;
  EXPECT_GE(interrupted, 1) << "no kill landed in the middle of a load";

  auto database = std::move(db::Database::open(warehouse_path.string())).value();
  auto conn = std::move(db::Connection::connect(database)).value();
  auto r = conn.query("SELECT _ab_source_file_url, count(*) FROM raw.heart_rate_stream GROUP BY 1");
  ASSERT_TRUE(r.ok());
  std::map<std::string, int> got;
  for (uint64_t i = 0; i < r->row_count(); ++i) got[*r->get_string(i, 0)] = static_cast<int>(*r->get_int64(i, 1));
  EXPECT_EQ(got, expected);
  EXPECT_EQ(conn.scalar("SELECT count(*) FROM raw._hrflow_lake_files")->value_or(""), std::to_string(kFiles));
  EXPECT_EQ(conn.scalar("SELECT count(*) - count(DISTINCT user_id) FROM raw.heart_rate_stream")->value_or(""), "0");
}

TEST(LakeSyncEndToEnd, CommandReportsCountsAndSkippedObjectsAndARerunLoadsNothing) {
  TempDir dir;
  auto store = std::move(lake::FileStore::open(dir.path() / "lake")).value();
  ASSERT_TRUE(store->put(key(0, 0), records(12, 1) + "not json\n").ok());
  ASSERT_TRUE(store->put("notes/readme.md", "#").ok());
  auto config = dir.path() / "hrflow.yml";
  std::ofstream(config) << fmt::format("state_dir: {}\nlake:\n  url: file://{}\n", (dir.path() / "state").string(),
                                       (dir.path() / "lake").string());
  auto first = hrflow::testing::run_hrflow({"--config", config.string(), "sync", "lake"});
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_NE(first.output.find("1 loaded"), std::string::npos) << first.output;
  EXPECT_NE(first.output.find("13 rows (1 with errors"), std::string::npos) << first.output;
  EXPECT_NE(first.output.find("skipped 1 objects that are not lake files"), std::string::npos) << first.output;
  EXPECT_NE(first.output.find("notes/readme.md"), std::string::npos) << first.output;
  auto again = hrflow::testing::run_hrflow({"--config", config.string(), "sync", "lake"});
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find(" 0 loaded"), std::string::npos) << again.output;
  EXPECT_NE(again.output.find("1 already loaded; 0 rows"), std::string::npos) << again.output;
}

}  // namespace
}  // namespace hrflow::ingest
