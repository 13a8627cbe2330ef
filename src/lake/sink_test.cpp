// The sink core on a real file lake, with a ManualClock so idle timeouts need no sleeping.
#include "lake/sink.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <random>

#include "lake/file_store.h"
#include "support/fixtures.h"

namespace hrflow::lake {
namespace {
using hrflow::testing::TempDir;

constexpr int64_t kT0 = 1711943972;  // 2024-04-01T03:59:32Z

std::string rec(int64_t seq, int64_t ts) { return fmt::format("{{\"seq\":{},\"timestamp\":{}}}", seq, ts); }

struct LakeFile {
  FileKey key;
  std::vector<std::string> lines;
};

std::vector<LakeFile> read_lake(ObjectStore& store, const std::string& prefix = "") {
  std::vector<LakeFile> out;
  auto listed = store.list(prefix);
  EXPECT_TRUE(listed.ok());
  if (!listed.ok()) return out;
  for (const auto& o : *listed) {
    if (o.key.starts_with("_hrflow/")) continue;
    auto key = parse_key(o.key);
    EXPECT_TRUE(key.ok()) << o.key;
    if (!key.ok()) continue;
    auto data = decompress_all(*store.get(o.key), key->compression);
    EXPECT_TRUE(data.ok());
    LakeFile f{*key, {}};
    size_t start = 0;
    while (start < data->size()) {
      size_t end = data->find('\n', start);
      f.lines.push_back(data->substr(start, end - start));
      start = end + 1;
    }
    out.push_back(std::move(f));
  }
  return out;
}

class SinkTest : public ::testing::Test {
 protected:
  void SetUp() override { store_ = std::move(FileStore::open(dir_.path() / "lake")).value(); }
  SinkOptions opts() {
    SinkOptions o;
    o.topic = "t";
    return o;
  }
  TempDir dir_;
  std::unique_ptr<FileStore> store_;
  ManualClock clock_{1'000'000};
};

TEST_F(SinkTest, PlacesRecordsInTheirEventTimeHourIncludingTheAllStringsForm) {
  LakeSink sink(*store_, opts(), clock_);
  ASSERT_TRUE(sink.add(0, 0, rec(0, kT0)).ok());
  ASSERT_TRUE(sink.add(0, 1, R"({"user_id":"10001","heart_rate":"128","timestamp":"1711944060"})").ok());
  ASSERT_TRUE(sink.add(2, 7, rec(7, kT0 + 1)).ok());
  EXPECT_TRUE(read_lake(*store_).empty());  // nothing visible before files close
  EXPECT_TRUE(sink.committable().empty());
  ASSERT_TRUE(sink.close_all().ok());
  auto files = read_lake(*store_);
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(format_key(files[0].key), "topics/t/year=2024/month=04/day=01/hour=03/t+0+0000000000.json");
  EXPECT_EQ(format_key(files[1].key), "topics/t/year=2024/month=04/day=01/hour=03/t+2+0000000007.json");
  EXPECT_EQ(format_key(files[2].key), "topics/t/year=2024/month=04/day=01/hour=04/t+0+0000000001.json");
  EXPECT_EQ(files[2].lines, std::vector<std::string>{R"({"user_id":"10001","heart_rate":"128","timestamp":"1711944060"})"});
  EXPECT_EQ(sink.committable(), (SinkPositions{{0, 2}, {2, 8}}));
}

TEST_F(SinkTest, RotatesByRecordCount) {
  auto o = opts();
  o.flush_size = 3;
  LakeSink sink(*store_, o, clock_);
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(sink.add(1, 100 + i, rec(i, kT0)).ok());
  ASSERT_TRUE(sink.settle().ok());
  EXPECT_EQ(sink.committable(), (SinkPositions{{1, 106}}));  // two full files stored, the third open
  ASSERT_TRUE(sink.close_all().ok());
  auto files = read_lake(*store_);
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(files[0].key.start_offset, 100);
  EXPECT_EQ(files[1].key.start_offset, 103);
  EXPECT_EQ(files[2].key.start_offset, 106);
  EXPECT_EQ(files[2].lines.size(), 1u);
}

TEST_F(SinkTest, RotatesByBytesAndByEventTimeSpan) {
  auto o = opts();
  o.rotate_bytes = 60;  // two records of ~40 bytes
  LakeSink sink(*store_, o, clock_);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(sink.add(0, i, rec(i, kT0)).ok());
  ASSERT_TRUE(sink.close_all().ok());
  EXPECT_EQ(read_lake(*store_).size(), 2u);

  TempDir d2;
  auto store2 = std::move(FileStore::open(d2.path())).value();
  auto o2 = opts();
  o2.rotate_interval_ms = 600'000;  // 10 minutes of event time
  LakeSink sink2(*store2, o2, clock_);
  ASSERT_TRUE(sink2.add(0, 0, rec(0, 1711940400)).ok());        // 03:00
  ASSERT_TRUE(sink2.add(0, 1, rec(1, 1711940400 + 300)).ok());  // 03:05
  EXPECT_TRUE(sink2.committable().empty());
  ASSERT_TRUE(sink2.add(0, 2, rec(2, 1711940400 + 600)).ok());  // 03:10: span reached, cut before it
  ASSERT_TRUE(sink2.settle().ok());
  EXPECT_EQ(sink2.committable(), (SinkPositions{{0, 2}}));
  ASSERT_TRUE(sink2.close_all().ok());
  auto files = read_lake(*store2);
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].lines.size(), 2u);
  EXPECT_EQ(files[1].key.start_offset, 2);
}

TEST_F(SinkTest, LateRecordsGoToTheirOwnHourWithoutClosingTheCurrentFile) {
  LakeSink sink(*store_, opts(), clock_);
  ASSERT_TRUE(sink.add(0, 0, rec(0, kT0)).ok());          // 03:59
  ASSERT_TRUE(sink.add(0, 1, rec(1, kT0 + 60)).ok());     // 04:00
  ASSERT_TRUE(sink.add(0, 2, rec(2, kT0 + 10)).ok());     // late: 03:59
  ASSERT_TRUE(sink.add(0, 3, rec(3, kT0 + 120)).ok());    // 04:01
  EXPECT_EQ(sink.open_files(), 2u);
  EXPECT_TRUE(read_lake(*store_).empty());
  ASSERT_TRUE(sink.close_all().ok());
  auto files = read_lake(*store_);
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0].key.hour_epoch, kT0 / 3600);
  EXPECT_EQ(files[0].key.start_offset, 0);
  EXPECT_EQ(files[0].lines, (std::vector<std::string>{rec(0, kT0), rec(2, kT0 + 10)}));
  EXPECT_EQ(files[1].key.start_offset, 1);
  EXPECT_EQ(files[1].lines.size(), 2u);
}

TEST_F(SinkTest, MaxOpenFilesClosesThePartitionWithTheOldestFileFirst) {
  auto o = opts();
  o.max_open_files = 2;
  LakeSink sink(*store_, o, clock_);
  ASSERT_TRUE(sink.add(0, 0, rec(0, kT0)).ok());          // partition 0 opens the oldest file
  ASSERT_TRUE(sink.add(1, 0, rec(100, kT0)).ok());
  EXPECT_EQ(sink.open_files(), 2u);
  ASSERT_TRUE(sink.add(1, 1, rec(101, kT0 + 1800)).ok());  // a third file: partition 0 is closed
  EXPECT_EQ(sink.open_files(), 2u);
  ASSERT_TRUE(sink.settle().ok());
  EXPECT_EQ(sink.committable(), (SinkPositions{{0, 1}}));
  auto files = read_lake(*store_);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_EQ(files[0].key.partition, 0);
}

TEST_F(SinkTest, IdleTimeoutClosesAQuietPartitionWithoutSleeping) {
  auto o = opts();
  o.idle_timeout_ms = 30'000;
  LakeSink sink(*store_, o, clock_);
  ASSERT_TRUE(sink.add(0, 0, rec(0, kT0)).ok());
  clock_.advance_ms(29'999);
  ASSERT_TRUE(sink.tick().ok());
  EXPECT_EQ(sink.open_files(), 1u);
  clock_.advance_ms(1);
  ASSERT_TRUE(sink.tick().ok());
  EXPECT_EQ(sink.open_files(), 0u);
  ASSERT_TRUE(sink.settle().ok());
  EXPECT_EQ(read_lake(*store_).size(), 1u);
  EXPECT_EQ(sink.committable(), (SinkPositions{{0, 1}}));
  sink.mark_committed(sink.committable());
  EXPECT_TRUE(sink.committable().empty());
}

TEST_F(SinkTest, MaxFileAgeClosesABusyPartitionsFilesAndTheMarkerTellsWhatIsFinal) {
  auto o = opts();
  o.max_file_age_ms = 5'000;
  LakeSink sink(*store_, o, clock_);
  int64_t off = 0;
  for (int s = 0; s < 4; ++s) {  // a record every second: never idle, yet files close every 5 s
    ASSERT_TRUE(sink.add(0, off, rec(off, kT0 + off)).ok());
    ++off;
    clock_.advance_ms(1'000);
    ASSERT_TRUE(sink.tick().ok());
  }
  EXPECT_EQ(sink.open_files(), 1u);
  ASSERT_TRUE(sink.add(0, off, rec(off, kT0 + off)).ok());
  ++off;
  clock_.advance_ms(1'000);
  ASSERT_TRUE(sink.tick().ok());
  EXPECT_EQ(sink.open_files(), 0u);
  ASSERT_TRUE(sink.settle().ok());
  EXPECT_EQ(sink.committable(), (SinkPositions{{0, 5}}));
  sink.mark_committed(sink.committable());
  for (int s = 0; s < 6; ++s) {
    ASSERT_TRUE(sink.add(0, off, rec(off, kT0 + off)).ok());
    ++off;
    clock_.advance_ms(1'000);
    ASSERT_TRUE(sink.tick().ok());
  }
  ASSERT_TRUE(sink.settle().ok());
  EXPECT_EQ(read_lake(*store_).size(), 2u);
  // The marker written with the second cut says that files below offset 5 are final.
  auto marker = store_->get(sink.flush_marker_key(0));
  ASSERT_TRUE(marker.ok());
  EXPECT_NE(marker->find("\"committed\":5"), std::string::npos) << *marker;
}

TEST_F(SinkTest, BadRecordsLandUnderErrorsWithPartitionAndOffsetAndAreCounted) {
  const std::vector<std::string> corpus = {
      "not json at all",
      "{\"timestamp\":",
      "[1,2,3]",
      "{\"user_id\":1}",
      "{\"timestamp\":\"yesterday\"}",
      "{\"timestamp\":-5}",
      "{\"timestamp\":null}",
      "{\"timestamp\":1e30}",
      "",
      std::string("{\"timestamp\":1711943972,\"x\":\"\xff\xfe\"}"),
      "{\"timestamp\":\"\"}",
  };
  LakeSink sink(*store_, opts(), clock_);
  int64_t off = 0;
  ASSERT_TRUE(sink.add(4, off++, rec(0, kT0)).ok());
  for (const auto& bad : corpus) ASSERT_TRUE(sink.add(4, off++, bad).ok());
  ASSERT_TRUE(sink.add(4, off++, "{\n  \"timestamp\": 1711943972\n}").ok());  // pretty JSON is fine
  ASSERT_TRUE(sink.close_all().ok());
  EXPECT_EQ(sink.stats().bad_records, corpus.size());
  EXPECT_EQ(sink.stats().records, corpus.size() + 2);
  auto errors = read_lake(*store_, "errors/");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(format_key(errors[0].key), "errors/t/partition=4/t+4+0000000001.json");
  ASSERT_EQ(errors[0].lines.size(), corpus.size());
  simdjson::dom::parser parser;
  for (size_t i = 0; i < corpus.size(); ++i) {
    auto doc = parser.parse(errors[0].lines[i]);
    ASSERT_FALSE(doc.error()) << errors[0].lines[i];
    EXPECT_EQ(int64_t(doc["partition"]), 4);
    EXPECT_EQ(int64_t(doc["offset"]), static_cast<int64_t>(i + 1));
    EXPECT_FALSE(std::string_view(doc["error"]).empty());
    std::string_view v;
    if (!doc["value"].get(v)) EXPECT_EQ(v, corpus[i]);
    else EXPECT_FALSE(doc["value_base64"].error());  // not UTF-8: kept byte for byte as base64
  }
  auto data = read_lake(*store_, "topics/");
  ASSERT_EQ(data.size(), 1u);
  EXPECT_EQ(data[0].lines.back(), "{\"timestamp\":1711943972}");
}

// Most records are read by a one-pass scan instead of a full parse; near misses of valid JSON and of a
// valid timestamp must still go to errors/, and the odd valid forms must land in their hour as before.
TEST_F(SinkTest, TheFastPathAgreesWithTheFullParse) {
  const std::vector<std::string> bad = {
      R"({"timestamp":1711943972,})",
      R"({"timestamp":1711943972} x)",
      R"({"timestamp":01711943972})",
      R"({"timestamp":1711943972,"x":tru})",
      R"({"timestamp":"17119.43.972"})",
      R"({"timestamp":"1711943972 "})",
      R"({"a":{"timestamp":1711943972}})",
      R"({"timestamp":253402300800})",
      R"({"timestamp":-1711943972})",
      "{\"timestamp\":1711943972,\"x\":\"a\tb\"}",  // a raw control character in a string
      R"({"timestamp":1711943972,"x":[1,2,})",
      R"({"timestamp" 1711943972})",
  };
  const std::vector<std::pair<std::string, int64_t>> good = {
      {R"({"timestamp":1711943972.99})", kT0},
      {R"({"timestamp":"1711943972.5"})", kT0},
      {R"({"timestamp":"1711944000"})", kT0 + 28},  // 04:00:00
      {R"({"timestamp":1711943972,"timestamp":1})", kT0},  // the first one counts
      {R"({"x":{"timestamp":1},"timestamp":1711943972,"y":[true,false,null,-0.5,{"z":[]}]})", kT0},
      {R"({"x":"\u00e9\n","timestamp":1711943972})", kT0},  // escapes: the full parse
      {"  {\"timestamp\" : 1711943972 ,\t\"x\":1}  ", kT0},
      {R"({"timestamp":1711944000e0})", kT0 + 28},
  };
  LakeSink sink(*store_, opts(), clock_);
  int64_t off = 0;
  for (const auto& v : bad) ASSERT_TRUE(sink.add(0, off++, v).ok());
  for (const auto& [v, ts] : good) ASSERT_TRUE(sink.add(0, off++, v).ok());
  ASSERT_TRUE(sink.close_all().ok());
  EXPECT_EQ(sink.stats().bad_records, bad.size());
  auto errors = read_lake(*store_, "errors/");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].lines.size(), bad.size());
  std::map<int64_t, size_t> per_hour;
  for (const auto& f : read_lake(*store_, "topics/")) per_hour[f.key.hour_epoch] += f.lines.size();
  std::map<int64_t, size_t> expected;
  for (const auto& [v, ts] : good) ++expected[ts / 3600];
  EXPECT_EQ(per_hour, expected);
}

TEST_F(SinkTest, CompressedFilesAreDeterministic) {
  for (auto c : {Compression::kGzip, Compression::kZstd}) {
    std::string text;
    for (int i = 0; i < 1000; ++i) text += rec(i, kT0) + "\n";
    auto a = compress(text, c), b = compress(text, c);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(*a, *b);
    EXPECT_LT(a->size(), text.size() / 4);
    EXPECT_EQ(*decompress_all(*a, c), text);
  }
  auto o = opts();
  o.compression = Compression::kZstd;
  LakeSink sink(*store_, o, clock_);
  ASSERT_TRUE(sink.add(0, 0, rec(0, kT0)).ok());
  ASSERT_TRUE(sink.close_all().ok());
  auto files = read_lake(*store_);
  ASSERT_EQ(files.size(), 1u);
  EXPECT_TRUE(format_key(files[0].key).ends_with(".json.zst"));
  EXPECT_EQ(files[0].lines, std::vector<std::string>{rec(0, kT0)});
}

// A store that fails after a given number of puts, standing in for a crash in the middle of closing
// files (some stored, some not) on top of the real file store.
class CrashingStore final : public ObjectStore {
 public:
  explicit CrashingStore(ObjectStore& inner) : inner_(inner) {}
  int64_t puts_left = -1;  // < 0: never fail
  Status put(std::string_view k, std::string_view d) override {
    if (puts_left == 0) return io_error("simulated crash");
    if (puts_left > 0) --puts_left;
    return inner_.put(k, d);
  }
  Result<std::string> get(std::string_view k) override { return inner_.get(k); }
  Result<std::vector<ObjectInfo>> list(std::string_view p) override { return inner_.list(p); }
  Status remove(std::string_view k) override { return inner_.remove(k); }
  std::string url_of(std::string_view k) const override { return inner_.url_of(k); }

 private:
  ObjectStore& inner_;
};

// Exactly once across crashes: random hours with late records, random limits, random idle closes and
// open-file pressure, crashes at random moments (also between storing files and committing, and in
// the middle of a flush). Each restart resumes from the committed positions. At the end every record
// is in the lake exactly once, in its hour.
TEST_F(SinkTest, CrashesAtRandomMomentsLoseAndDuplicateNothing) {
  for (int round = 0; round < 5; ++round) {
    TempDir d;
    auto fs_store = std::move(FileStore::open(d.path())).value();
    CrashingStore store(*fs_store);
    std::mt19937_64 rng(1000 + round);
    const int partitions = 3;
    const int n = 250;
    // The stream: per partition, records mostly in time order with some late ones and some bad ones.
    std::vector<std::vector<std::pair<std::string, int64_t>>> log(partitions);  // value, ts (-1 bad)
    for (int p = 0; p < partitions; ++p) {
      int64_t t = kT0 + static_cast<int64_t>(rng() % 7200);
      for (int i = 0; i < n; ++i) {
        t += static_cast<int64_t>(rng() % 40);
        int64_t ts = rng() % 10 == 0 ? t - static_cast<int64_t>(rng() % 10000) : t;
        bool bad = rng() % 50 == 0;
        log[p].push_back({bad ? fmt::format("bad {} {}", p, i) : fmt::format("{{\"p\":{},\"o\":{},\"timestamp\":{}}}", p, i, ts),
                          bad ? -1 : ts});
      }
    }
    auto o = opts();
    o.flush_size = 10 + static_cast<int64_t>(rng() % 60);
    o.rotate_bytes = 1000 + static_cast<int64_t>(rng() % 4000);
    o.rotate_interval_ms = (600 + static_cast<int64_t>(rng() % 7200)) * 1000;
    o.max_open_files = 1 + static_cast<int64_t>(rng() % 8);
    o.idle_timeout_ms = 1000;
    o.max_file_age_ms = round % 2 ? 1200 : 0;  // live mode: wall-clock cuts of busy partitions too
    SinkPositions committed;  // the stream's committed positions
    int crashes = 0;
    for (;;) {
      store.puts_left = -1;
      LakeSink sink(store, o, clock_);
      std::vector<int64_t> next(partitions);
      for (int p = 0; p < partitions; ++p) next[p] = committed.count(p) ? committed[p] : 0;
      bool crashed = false;
      int steps_before_crash = crashes < 4 ? static_cast<int>(rng() % 300) : -1;
      for (int step = 0;; ++step) {
        if (step == steps_before_crash) {
          if (rng() % 2) store.puts_left = static_cast<int64_t>(rng() % 3);  // die inside the next flush
          else { crashed = true; break; }                                    // die right here
        }
        int p = static_cast<int>(rng() % partitions);
        bool all_done = true;
        for (int q = 0; q < partitions; ++q) all_done = all_done && next[q] >= n;
        if (all_done) break;
        if (next[p] >= n) continue;
        Status st;
        if (rng() % 100 == 0) {
          clock_.advance_ms(1500);  // a pause long enough for idle closes
          st = sink.tick();
        } else {
          st = sink.add(p, next[p], log[p][next[p]].first);
          if (st.ok()) ++next[p];
        }
        if (!st.ok()) {
          crashed = true;
          break;
        }
        // The driver commits after each poll; sometimes a crash comes before the commit.
        if (rng() % 3 == 0) {
          auto c = sink.committable();
          for (auto [q, at] : c) committed[q] = at;
          sink.mark_committed(c);
        }
      }
      if (crashed) {
        ++crashes;
        continue;  // the sink object is dropped: open files are lost, as in kill -9
      }
      // Files are stored in the background: a simulated crash while storing may surface only here.
      Status closed = sink.close_all();
      if (!closed.ok() && store.puts_left == 0) {
        ++crashes;
        continue;
      }
      ASSERT_TRUE(closed.ok()) << closed.error().message;
      for (auto [q, at] : sink.committable()) committed[q] = at;
      break;
    }
    // Every record exactly once, in the right place.
    std::map<std::pair<int, int>, int> seen;
    auto files = read_lake(*fs_store);
    for (const auto& f : files) {
      for (const auto& line : f.lines) {
        int p = 0, i = 0;
        if (f.key.error_file) {
          simdjson::dom::parser parser;
          auto doc = parser.parse(line);
          p = static_cast<int>(int64_t(doc["partition"]));
          i = static_cast<int>(int64_t(doc["offset"]));
          EXPECT_EQ(log[p][i].second, -1);
        } else {
          ASSERT_EQ(std::sscanf(line.c_str(), "{\"p\":%d,\"o\":%d", &p, &i), 2) << line;
          EXPECT_EQ(f.key.hour_epoch, log[p][i].second / 3600) << line;
        }
        EXPECT_EQ(f.key.partition, p);
        EXPECT_GE(i, f.key.start_offset);
        ++seen[{p, i}];
      }
    }
    for (int p = 0; p < partitions; ++p) {
      for (int i = 0; i < n; ++i) {
        ASSERT_EQ((seen[{p, i}]), 1) << "round " << round << " crashes " << crashes << " partition " << p
                                   << " offset " << i << " flush_size " << o.flush_size << " max_open "
                                   << o.max_open_files;
      }
      EXPECT_EQ(committed[p], n);
    }
  }
}

}  // namespace
}  // namespace hrflow::lake
