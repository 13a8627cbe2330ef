// Merging a closed hour's small lake files (sync.merge_after): one file per hour and partition, each
// record loaded exactly once in every warehouse (the one that loaded the small files and a fresh one),
// and a sync that fails at any step of a merge (the lake refusing a write, or failing after it) leaves
// nothing lost or doubled once the next sync ran.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <thread>

#include "common/compression.h"
#include "common/duckdb.h"
#include "ingest/lake.h"
#include "lake/file_store.h"
#include "lake/layout.h"
#include "support/fixtures.h"

namespace hrflow::ingest {
namespace {
using hrflow::testing::TempDir;

constexpr int64_t kHour = 1711940400 / 3600;  // 2024-04-01 03:00 UTC, long closed
constexpr int64_t kMergeAfter = 15 * 60'000;

// `n` readings of user `user`, one per second from `second` into the hour.
std::string readings(int n, int user, int second) {
  std::string out;
  for (int i = 0; i < n; ++i) {
    out += fmt::format(R"({{"user_id":{},"heart_rate":{},"timestamp":{},"meta":{{"activity_id":20001}}}})", user,
                       60 + i % 90, kHour * 3600 + second + i);
    out += '\n';
  }
  return out;
}

std::string key(int partition, int64_t offset) {
  return lake::format_key({"hr-data-topic", partition, offset, false, kHour, lake::Compression::kZstd});
}

void put(lake::ObjectStore& store, const std::string& k, const std::string& lines) {
  ASSERT_TRUE(store.put(k, *compress(lines, Codec::kZstd)).ok());
}

// The sink's flush marker with its committed position (files below it are final).
void marker(lake::ObjectStore& store, int partition, int64_t committed) {
  ASSERT_TRUE(store.put(fmt::format("_hrflow/sink/hr-data-topic/partition={}.json", partition),
                        fmt::format(R"({{"partition":{},"committed":{},"flush_at":[]}})", partition, committed) + "\n")
                  .ok());
}

struct Warehouse {
  db::Database database = std::move(db::Database::open(":memory:")).value();
  db::Connection conn = std::move(db::Connection::connect(database)).value();
  LakeOptions options;
  Warehouse() {
    options.progress = false;
    options.merge_after_ms = kMergeAfter;
  }
  std::string q(const std::string& sql) {
    auto v = conn.scalar(sql);
    EXPECT_TRUE(v.ok()) << sql << ": " << v.error().message;
    return v.ok() ? v->value_or("NULL") : "ERROR";
  }
  Result<LakeStats> try_sync(lake::ObjectStore& store) { return LakeSource::run(store, database, options); }
  LakeStats sync(lake::ObjectStore& store) {
    auto s = try_sync(store);
    EXPECT_TRUE(s.ok()) << s.error().message;
    return s.ok() ? *s : LakeStats{};
  }
  // Every reading as "user,timestamp,heart_rate" with how often raw holds it.
  std::map<std::string, int> readings() {
    std::map<std::string, int> out;
    auto r = conn.query("SELECT user_id || ',' || \"timestamp\" || ',' || heart_rate FROM raw.heart_rate_stream");
    EXPECT_TRUE(r.ok());
    for (uint64_t i = 0; r.ok() && i < r->row_count(); ++i) out[*r->get_string(i, 0)]++;
    return out;
  }
};

// Every reading in the lake's data files, with how often it is there.
std::map<std::string, int> lake_readings(lake::ObjectStore& store, size_t* files = nullptr) {
  std::map<std::string, int> out;
  auto listed = store.list("topics/");
  EXPECT_TRUE(listed.ok());
  if (files) *files = listed->size();
  for (const auto& o : *listed) {
    auto plain = decompress_all(*store.get(o.key), Codec::kZstd);
    EXPECT_TRUE(plain.ok());
    for (size_t start = 0; start < plain->size();) {
      size_t end = plain->find('\n', start);
      std::string line = plain->substr(start, end - start);
      start = end + 1;
      auto u = line.find("\"user_id\":"), t = line.find("\"timestamp\":"), h = line.find("\"heart_rate\":");
      auto num = [&](size_t at) { return line.substr(at, line.find_first_of(",}", at) - at); };
      out[num(u + 10) + "," + num(t + 12) + "," + num(h + 13)]++;
    }
  }
  return out;
}

std::set<std::string> keys_in(lake::ObjectStore& store) {
  std::set<std::string> out;
  auto listed = store.list("topics/");
  EXPECT_TRUE(listed.ok());
  if (listed.ok()) {
    for (const auto& o : *listed) out.insert(o.key);
  }
  return out;
}

std::map<std::string, int> as_raw(const std::map<std::string, int>& lake) {  // heart_rate as DOUBLE prints "61.0"
  std::map<std::string, int> out;
  for (const auto& [k, n] : lake) out[k + ".0"] = n;
  return out;
}

TEST(LakeMerge, AClosedHoursSmallFilesBecomeOneFilePerPartitionAndNothingIsLoadedTwice) {
  TempDir dir;
  auto store = std::move(lake::FileStore::open(dir.path() / "lake")).value();
  // Partition 0: four files; the last one's cut is not committed yet (first offset 30 >= 30).
  for (int f = 0; f < 4; ++f) put(*store, key(0, f * 10), readings(10, 1, f * 10));
  marker(*store, 0, 30);
  put(*store, key(1, 0), readings(5, 2, 0));
  put(*store, key(1, 5), readings(5, 2, 5));
  marker(*store, 1, 100);
  // Partition 2: no marker (written by an older sink): nothing there is known to be final.
  put(*store, key(2, 0), readings(3, 3, 0));
  put(*store, key(2, 3), readings(3, 3, 3));
  const auto produced = lake_readings(*store);

  Warehouse wh;
  auto first = wh.sync(*store);
  EXPECT_EQ(first.rows, 56u);
  EXPECT_EQ(first.merge.buckets, 2u);
  EXPECT_EQ(first.merge.files_merged, 5u);  // 0, 10, 20 of partition 0; 0, 5 of partition 1
  EXPECT_EQ(first.merge.files_removed, 3u);
  EXPECT_EQ(keys_in(*store), (std::set<std::string>{key(0, 0), key(0, 30), key(1, 0), key(2, 0), key(2, 3)}));
  EXPECT_EQ(lake_readings(*store), produced) << "the lake holds every reading exactly once";
  EXPECT_EQ(wh.readings(), as_raw(produced));
  // The merged file is the inputs' lines in offset order.
  EXPECT_EQ(*decompress_all(*store->get(key(0, 0)), Codec::kZstd), readings(10, 1, 0) + readings(10, 1, 10) + readings(10, 1, 20));

  auto again = wh.sync(*store);
  EXPECT_EQ(again.rows, 0u);
  EXPECT_EQ(again.files_loaded + again.files_reloaded, 0u);
  EXPECT_EQ(again.merge.buckets, 0u);

  // A late reading for the closed hour, and the next cut committed: merged into the same file again.
  put(*store, key(0, 40), readings(4, 1, 40));
  marker(*store, 0, 50);
  auto late = wh.sync(*store);
  EXPECT_EQ(late.rows, 4u);
  EXPECT_EQ(late.merge.buckets, 1u);
  EXPECT_EQ(keys_in(*store), (std::set<std::string>{key(0, 0), key(1, 0), key(2, 0), key(2, 3)}));
  const auto all = lake_readings(*store);
  EXPECT_EQ(all.size(), 60u);
  EXPECT_EQ(wh.readings(), as_raw(all));

  // A fresh warehouse loads the merged files once: the same readings.
  Warehouse fresh;
  fresh.options.merge_after_ms = 0;
  EXPECT_EQ(fresh.sync(*store).rows, 60u);
  EXPECT_EQ(fresh.readings(), wh.readings());

  // An open hour is never merged.
  const int64_t now_hour = SystemClock::instance().now_ms() / 3'600'000;
  for (int f = 0; f < 2; ++f) {
    ASSERT_TRUE(store->put(lake::format_key({"hr-data-topic", 1, 200 + f, false, now_hour, lake::Compression::kZstd}),
                           *compress(readings(1, 9, f), Codec::kZstd)).ok());
  }
  marker(*store, 1, 1000);
  EXPECT_EQ(wh.sync(*store).merge.buckets, 0u);
  // A producer faster than real time: once the partition holds readings of three hours later, this
  // hour is closed by event time, although the clock has not reached its end.
  auto later = [&](int64_t offset) {
    return lake::format_key({"hr-data-topic", 1, offset, false, now_hour + 3, lake::Compression::kZstd});
  };
  ASSERT_TRUE(store->put(later(300), *compress(readings(1, 9, 10), Codec::kZstd)).ok());
  ASSERT_TRUE(store->put(later(301), *compress(readings(1, 9, 11), Codec::kZstd)).ok());
  auto ahead = wh.sync(*store);
  EXPECT_EQ(ahead.merge.buckets, 1u);
  EXPECT_EQ(ahead.merge.files_removed, 1u);
  EXPECT_TRUE(keys_in(*store).count(later(301))) << "the newest hour stays open";
  EXPECT_EQ(wh.readings(), as_raw(lake_readings(*store)));
}

// The sink's replay after a crash stores a file again under its name, byte for byte: raw keeps its rows
// (same ids, same extraction time), so nothing downstream sees new or replaced rows.
TEST(LakeSource, AFileStoredAgainByteForByteChangesNothingInRaw) {
  TempDir dir;
  auto store = std::move(lake::FileStore::open(dir.path() / "lake")).value();
  put(*store, key(0, 0), readings(10, 1, 0));
  Warehouse wh;
  wh.options.merge_after_ms = 0;
  ASSERT_EQ(wh.sync(*store).rows, 10u);
  const std::string ids = wh.q("SELECT string_agg(CAST(_airbyte_raw_id AS VARCHAR), ',' ORDER BY \"timestamp\") FROM raw.heart_rate_stream");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  put(*store, key(0, 0), readings(10, 1, 0));  // same bytes, new modification time
  auto again = wh.sync(*store);
  EXPECT_EQ(again.rows, 0u);
  EXPECT_EQ(again.files_reloaded, 0u);
  EXPECT_EQ(again.files_unchanged, 1u);
  EXPECT_EQ(wh.q("SELECT string_agg(CAST(_airbyte_raw_id AS VARCHAR), ',' ORDER BY \"timestamp\") FROM raw.heart_rate_stream"), ids);
  EXPECT_EQ(wh.sync(*store).files_unchanged, 1u) << "the new fingerprint is remembered";
  // Different bytes under the same name still replace the rows.
  put(*store, key(0, 0), readings(8, 1, 0));
  auto changed = wh.sync(*store);
  EXPECT_EQ(changed.files_reloaded, 1u);
  EXPECT_EQ(changed.rows_replaced, 10u);
  EXPECT_EQ(wh.q("SELECT count(*) FROM raw.heart_rate_stream"), "8");
}

// The lake as a disk or S3 that fails once: refusing the Nth write or remove, or failing it after it
// took effect (the process died before it heard back). Everything else goes to the real store.
class FailingOnce final : public lake::ObjectStore {
 public:
  FailingOnce(lake::ObjectStore& real, int fail_at, bool after) : real_(real), fail_at_(fail_at), after_(after) {}
  Status put(std::string_view k, std::string_view data) override {
    return step([&] { return real_.put(k, data); });
  }
  Result<std::string> get(std::string_view k) override { return real_.get(k); }
  Result<std::vector<lake::ObjectInfo>> list(std::string_view prefix) override { return real_.list(prefix); }
  Status remove(std::string_view k) override {
    return step([&] { return real_.remove(k); });
  }
  std::string url_of(std::string_view k) const override { return real_.url_of(k); }
  bool failed() const { return failed_; }

 private:
  template <typename F>
  Status step(F&& f) {
    if (++calls_ != fail_at_) return f();
    failed_ = true;
    if (after_) (void)f();
    return Error{ErrorKind::kUnavailable, "the lake went away", true};
  }
  lake::ObjectStore& real_;
  int fail_at_, calls_ = 0;
  bool after_, failed_ = false;
};

TEST(LakeMerge, ASyncThatFailsAtAnyStepOfAMergeLosesAndDoublesNothing) {
  int cases = 0;
  for (bool after : {false, true}) {
    for (int fail_at = 1;; ++fail_at) {
      TempDir dir;
      auto real = std::move(lake::FileStore::open(dir.path() / "lake")).value();
      for (int f = 0; f < 4; ++f) put(*real, key(0, f * 10), readings(10, 1, f * 10));
      for (int f = 0; f < 3; ++f) put(*real, key(1, f * 10), readings(10, 2, f * 10));
      marker(*real, 0, 100);
      marker(*real, 1, 100);
      const auto produced = lake_readings(*real);
      Warehouse wh;
      wh.options.merge_after_ms = 0;  // loaded first, merged by a later sync
      ASSERT_EQ(wh.sync(*real).rows, 70u);
      wh.options.merge_after_ms = kMergeAfter;
      FailingOnce failing(*real, fail_at, after);
      auto broken = wh.try_sync(failing);
      if (!failing.failed()) {  // past the last write: every step has been failed once
        EXPECT_TRUE(broken.ok());
        break;
      }
      ++cases;
      EXPECT_FALSE(broken.ok()) << "fail at " << fail_at;
      auto healed = wh.sync(*real);
      EXPECT_EQ(healed.rows, 0u) << "fail at " << fail_at << (after ? " after" : " before");
      wh.sync(*real);  // a merge abandoned by the failure is done now
      size_t files = 0;
      EXPECT_EQ(lake_readings(*real, &files), produced) << "fail at " << fail_at << (after ? " after" : " before");
      EXPECT_EQ(files, 2u) << "fail at " << fail_at;
      EXPECT_EQ(wh.readings(), as_raw(produced)) << "fail at " << fail_at << (after ? " after" : " before");
      Warehouse fresh;
      ASSERT_TRUE(fresh.try_sync(*real).ok());
      EXPECT_EQ(fresh.readings(), as_raw(produced));
    }
  }
  EXPECT_GE(cases, 10);  // 2 puts + 5 removes, each failed before and after it took effect
}

}  // namespace
}  // namespace hrflow::ingest
