// The embedded stream log: checksums, placement, compression, segments, retention, torn tails,
// corruption and locking. The stream contract (round trip, offsets, group positions, last_records) is
// conformance_test.cpp, run over this log and Kafka alike.
#include <gtest/gtest.h>
#include <librdkafka/rdkafka.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "stream/crc32c.h"
#include "stream/local.h"
#include "stream/log.h"
#include "stream/stream.h"
#include "support/fixtures.h"

namespace hrflow::stream {
namespace {

namespace fs = std::filesystem;
using hrflow::testing::TempDir;

TEST(Crc32c, KnownVectors) {
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);
  std::string zeros(32, '\0');
  EXPECT_EQ(crc32c(zeros.data(), zeros.size()), 0x8A9136AAu);
  std::string text = "The quick brown fox jumps over the lazy dog, twice: the quick brown fox.";
  EXPECT_EQ(crc32c(text.data() + 10, text.size() - 10, crc32c(text.data(), 10)), crc32c(text.data(), text.size()));
}

TEST(Partitioner, Murmur2MatchesKafkasKnownValues) {
  // Kafka's Java client test values (org.apache.kafka.common.utils.UtilsTest#testMurmur2).
  EXPECT_EQ(static_cast<int32_t>(murmur2("21")), -973932308);
  EXPECT_EQ(static_cast<int32_t>(murmur2("foobar")), -790332482);
  EXPECT_EQ(static_cast<int32_t>(murmur2("a-little-bit-long-string")), -985981536);
  EXPECT_EQ(static_cast<int32_t>(murmur2("a-little-bit-longer-string")), -1486304829);
  EXPECT_EQ(static_cast<int32_t>(murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8")), -58897971);
  EXPECT_EQ(static_cast<int32_t>(murmur2("abc")), 479470107);
}

TEST(Partitioner, SamePartitionAsLibrdkafkasMurmur2Partitioner) {
  char err[256];
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, rd_kafka_conf_new(), err, sizeof err);
  ASSERT_NE(rk, nullptr) << err;
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk, "t", nullptr);
  for (int32_t partitions : {1, 6, 7, 1024}) {
    for (int user = 0; user < 20000; user += 7) {
      std::string key = std::to_string(10001 + user);
      EXPECT_EQ(partition_for_key(key, partitions),
                rd_kafka_msg_partitioner_murmur2(rkt, key.data(), key.size(), partitions, nullptr, nullptr))
          << key << " over " << partitions;
    }
  }
  rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(rk);
}

LogOptions options_for(const fs::path& dir) {
  LogOptions o;
  o.dir = dir / "hr-data-topic";
  o.partitions = 6;
  return o;
}

std::string value_for(int i) {
  return fmt::format("{{\"user_id\":{},\"heart_rate\":{},\"timestamp\":{},\"seq\":{}}}", 10001 + i % 50, 60 + i % 90,
                     1711943972 + i, i);
}

// Send records [from, to) and flush.
void produce(StreamProducer& producer, int from, int to) {
  for (int i = from; i < to; ++i) {
    ASSERT_TRUE(producer.send(std::to_string(10001 + i % 50), value_for(i), 1711943972000LL + i).ok());
  }
  auto st = producer.flush();
  ASSERT_TRUE(st.ok()) << st.error().message;
}

// Poll until `n` records arrived (or nothing more comes).
std::vector<Record> consume(StreamConsumer& consumer, size_t n) {
  std::vector<Record> all;
  while (all.size() < n) {
    auto batch = consumer.poll(n - all.size(), 200);
    EXPECT_TRUE(batch.ok()) << batch.error().message;
    if (!batch.ok() || batch->empty()) break;
    all.insert(all.end(), std::make_move_iterator(batch->begin()), std::make_move_iterator(batch->end()));
  }
  return all;
}

int seq_of(const Record& r) { return std::stoi(r.value.substr(r.value.find("\"seq\":") + 6)); }

TEST(LocalLog, UncompressedAndCompressedBatchesReadAlike) {
  TempDir dir;
  auto options = options_for(dir.path());
  options.partitions = 1;
  for (bool compress : {false, true, false}) {
    options.compress = compress;
    auto producer = open_local_producer(options);
    ASSERT_TRUE(producer.ok());
    produce(**producer, compress ? 1000 : 0, compress ? 2000 : 1000);
  }
  auto consumer = open_local_consumer(options, "g");
  ASSERT_TRUE(consumer.ok());
  auto records = consume(**consumer, 3000);
  ASSERT_EQ(records.size(), 3000u);
  for (size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(records[i].offset, static_cast<int64_t>(i));
    EXPECT_EQ(records[i].value, value_for(seq_of(records[i])));
  }
}

TEST(LocalLog, ReadsWhileTheWriterAppends) {
  TempDir dir;
  auto options = options_for(dir.path());
  auto producer = open_local_producer(options);
  ASSERT_TRUE(producer.ok());
  auto consumer = open_local_consumer(options, "live");
  ASSERT_TRUE(consumer.ok());
  size_t total = 0;
  for (int round = 0; round < 5; ++round) {
    produce(**producer, round * 700, (round + 1) * 700);
    total += consume(**consumer, 700).size();
    EXPECT_EQ(total, static_cast<size_t>((round + 1) * 700));
  }
}

TEST(LocalLog, SegmentsRollAndConsumersSeekIntoThem) {
  TempDir dir;
  auto options = options_for(dir.path());
  options.segment_bytes = 16 << 10;
  options.partitions = 2;
  {
    auto producer = open_local_producer(options);
    ASSERT_TRUE(producer.ok());
    for (int k = 0; k < 20; ++k) produce(**producer, k * 500, (k + 1) * 500);  // 20 flushes: 20 batches
  }
  EXPECT_GT(list_segments(partition_dir(options.dir, 0)).size(), 5u);
  {
    auto consumer = open_local_consumer(options, "g");
    ASSERT_TRUE(consumer.ok());
    EXPECT_EQ(consume(**consumer, 10000).size(), 10000u);
    ASSERT_TRUE((*consumer)->commit({{0, 1234}, {1, 4321}}).ok());
  }
  auto consumer = open_local_consumer(options, "g");
  ASSERT_TRUE(consumer.ok());
  auto first = (*consumer)->poll(1, 1000);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->size(), 1u);
  EXPECT_EQ(first->front().offset, first->front().partition == 0 ? 1234 : 4321);
  auto rest = consume(**consumer, 10000);
  EXPECT_EQ(rest.size() + 1, static_cast<size_t>(10000 - 1234 - 4321));
}

TEST(LocalLog, RetentionBySizeDeletesTheOldestSegments) {
  TempDir dir;
  auto options = options_for(dir.path());
  options.partitions = 1;
  options.segment_bytes = 16 << 10;
  options.retention_bytes = 64 << 10;
  auto producer = open_local_producer(options);
  ASSERT_TRUE(producer.ok());
  for (int k = 0; k < 40; ++k) produce(**producer, k * 200, (k + 1) * 200);
  uint64_t total = 0;
  auto segments = list_segments(partition_dir(options.dir, 0));
  for (auto& [base, path] : segments) total += fs::file_size(path);
  EXPECT_LE(total, (64u << 10) + (16u << 10));  // the cap, plus the active segment that may exceed it
  ASSERT_GT(segments.front().first, 0);
  // A new group starts at the oldest record kept; everything from there on is intact.
  auto consumer = open_local_consumer(options, "g");
  ASSERT_TRUE(consumer.ok());
  auto records = consume(**consumer, 8000);
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records.front().offset, segments.front().first);
  EXPECT_EQ(records.back().offset, 7999);
  EXPECT_EQ(records.size(), static_cast<size_t>(8000 - segments.front().first));
}

TEST(LocalLog, RetentionByTimeDeletesSegmentsOlderThanTheLimit) {
  TempDir dir;
  auto options = options_for(dir.path());
  options.partitions = 1;
  options.segment_bytes = 16 << 10;
  {
    auto producer = open_local_producer(options);
    ASSERT_TRUE(producer.ok());
    for (int k = 0; k < 10; ++k) produce(**producer, k * 200, (k + 1) * 200);
  }
  auto segments = list_segments(partition_dir(options.dir, 0));
  ASSERT_GE(segments.size(), 4u);
  // The first two segments were last written 8 days ago; the limit is 7 days.
  for (int i = 0; i < 2; ++i) {
    fs::last_write_time(segments[i].second, fs::file_time_type::clock::now() - std::chrono::hours(24 * 8));
  }
  auto producer = open_local_producer(options);  // enforces retention on open
  ASSERT_TRUE(producer.ok());
  auto after = list_segments(partition_dir(options.dir, 0));
  ASSERT_EQ(after.size(), segments.size() - 2);
  EXPECT_EQ(after.front().first, segments[2].first);
}

// Bytes of the last segment of partition `p`.
fs::path last_segment(const LogOptions& o, int32_t p) { return list_segments(partition_dir(o.dir, p)).back().second; }

TEST(LocalLog, TornTailIsNeverServedAndCutOnOpen) {
  TempDir dir;
  auto options = options_for(dir.path());
  options.partitions = 1;
  uint64_t good_size = 0;
  {
    auto producer = open_local_producer(options);
    ASSERT_TRUE(producer.ok());
    produce(**producer, 0, 1000);
    good_size = fs::file_size(last_segment(options, 0));
    produce(**producer, 1000, 2000);
  }
  // A crash in the middle of writing the second batch: only part of it reached the file.
  auto seg = last_segment(options, 0);
  uint64_t full = fs::file_size(seg);
  fs::resize_file(seg, good_size + (full - good_size) / 2);
  {
    auto consumer = open_local_consumer(options, "before-recovery");
    ASSERT_TRUE(consumer.ok());
    auto records = consume(**consumer, 2000);
    EXPECT_EQ(records.size(), 1000u) << "only whole, checksummed batches are served";
  }
  {
    auto producer = open_local_producer(options);  // recovery cuts the torn batch
    ASSERT_TRUE(producer.ok()) << producer.error().message;
    EXPECT_EQ(fs::file_size(seg), good_size);
    produce(**producer, 5000, 5500);
  }
  auto consumer = open_local_consumer(options, "after-recovery");
  ASSERT_TRUE(consumer.ok());
  auto records = consume(**consumer, 3000);
  ASSERT_EQ(records.size(), 1500u);
  for (size_t i = 0; i < records.size(); ++i) {
    EXPECT_EQ(records[i].offset, static_cast<int64_t>(i));
    EXPECT_EQ(seq_of(records[i]), i < 1000 ? static_cast<int>(i) : static_cast<int>(5000 + i - 1000));
  }
}

// What a restarted producer resumes from, where only the embedded log can go wrong: the newest record
// is found in the last of several segments, and a torn batch a crash left behind does not count. (The
// contract itself, over both streams, is in conformance_test.cpp.)
TEST(LocalLog, LastRecordsComeFromTheLastSegmentAndSkipATornBatch) {
  TempDir dir;
  auto options = options_for(dir.path());
  options.segment_bytes = 16 << 10;  // several segments: the newest record is in the last one
  {
    auto producer = open_local_producer(options);
    ASSERT_TRUE(producer.ok()) << producer.error().message;
    for (int k = 0; k < 10; ++k) produce(**producer, k * 500, (k + 1) * 500);
  }
  ASSERT_GE(list_segments(partition_dir(options.dir, partition_for_key("10001", 6))).size(), 2u);
  {
    auto producer = open_local_producer(options);
    ASSERT_TRUE(producer.ok());
    auto end = (*producer)->last_records();
    ASSERT_TRUE(end.ok()) << end.error().message;
    ASSERT_EQ(end->last.size(), 6u);
    for (auto& [p, r] : end->last) {
      EXPECT_GE(seq_of(r), 5000 - 50) << "partition " << p << ": the newest of its keys, in the last segment";
      EXPECT_EQ(r.value, value_for(seq_of(r)));
    }
    produce(**producer, 5000, 5100);
  }
  // A crash in the middle of the last batch of one partition: that partition ends one batch earlier.
  const int32_t torn = partition_for_key(std::to_string(10001 + 5099 % 50), 6);
  auto seg = last_segment(options, torn);
  fs::resize_file(seg, fs::file_size(seg) - 10);
  auto producer = open_local_producer(options);
  ASSERT_TRUE(producer.ok());
  auto end = (*producer)->last_records();
  ASSERT_TRUE(end.ok()) << end.error().message;
  for (auto& [p, r] : end->last) {
    int seq = seq_of(r);
    EXPECT_EQ(seq >= 5000, p != torn) << "partition " << p << " ends at seq " << seq;
  }
}

TEST(LocalLog, GarbageAtTheTailIsCutOnOpen) {
  TempDir dir;
  auto options = options_for(dir.path());
  options.partitions = 1;
  {
    auto producer = open_local_producer(options);
    ASSERT_TRUE(producer.ok());
    produce(**producer, 0, 100);
  }
  auto seg = last_segment(options, 0);
  uint64_t size = fs::file_size(seg);
  {
    std::ofstream out(seg, std::ios::app | std::ios::binary);
    out << std::string(300, '\xAB');
  }
  auto producer = open_local_producer(options);
  ASSERT_TRUE(producer.ok());
  EXPECT_EQ(fs::file_size(seg), size);
}

TEST(LocalLog, ChecksumMismatchIsReportedWithPartitionAndOffset) {
  TempDir dir;
  auto options = options_for(dir.path());
  options.partitions = 2;
  {
    auto producer = open_local_producer(options);
    ASSERT_TRUE(producer.ok());
    produce(**producer, 0, 500);
    produce(**producer, 500, 1000);
  }
  // Flip one byte inside the second batch of partition 1 (a bad disk block, say).
  auto seg = last_segment(options, 1);
  std::string bytes;
  {
    std::ifstream in(seg, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  uint32_t first_len;
  std::memcpy(&first_len, bytes.data() + 4, 4);
  size_t second = kBatchPrefix + first_len;
  int64_t second_base;
  std::memcpy(&second_base, bytes.data() + second + 12, 8);
  bytes[second + kBatchHeader + 20] ^= 0x01;
  {
    std::ofstream out(seg, std::ios::binary | std::ios::trunc);
    out << bytes;
  }
  auto consumer = open_local_consumer(options, "g");
  ASSERT_TRUE(consumer.ok());
  std::vector<Record> got;
  Error error;
  bool failed = false;
  for (int i = 0; i < 100 && !failed; ++i) {
    auto batch = (*consumer)->poll(100, 100);
    if (!batch.ok()) {
      failed = true;
      error = batch.error();
    } else if (batch->empty()) {
      break;
    } else {
      got.insert(got.end(), batch->begin(), batch->end());
    }
  }
  ASSERT_TRUE(failed) << "a corrupt batch must not pass silently";
  EXPECT_EQ(error.kind, ErrorKind::kCorrupt);
  EXPECT_NE(error.message.find("partition 1"), std::string::npos) << error.message;
  EXPECT_NE(error.message.find(fmt::format("offset {}", second_base)), std::string::npos) << error.message;
  for (const auto& r : got) EXPECT_FALSE(r.partition == 1 && r.offset >= second_base) << "served a corrupt record";
}

TEST(LocalLog, OneWriterAndOneConsumerPerGroup) {
  TempDir dir;
  auto options = options_for(dir.path());
  auto first = open_local_producer(options);
  ASSERT_TRUE(first.ok());
  auto second = open_local_producer(options);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.error().message.find("another process"), std::string::npos) << second.error().message;
  auto c1 = open_local_consumer(options, "g");
  ASSERT_TRUE(c1.ok());
  auto c2 = open_local_consumer(options, "g");
  ASSERT_FALSE(c2.ok());
  EXPECT_NE(c2.error().message.find("already being read"), std::string::npos);
  EXPECT_TRUE(open_local_consumer(options, "other").ok());
  EXPECT_FALSE(open_local_consumer(options, "../escape").ok());
}

TEST(LocalLog, PartitionCountMustMatchTheLog) {
  TempDir dir;
  auto options = options_for(dir.path());
  ASSERT_TRUE(open_local_producer(options).ok());
  options.partitions = 8;
  auto again = open_local_producer(options);
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.error().message.find("has 6 partitions"), std::string::npos) << again.error().message;
}

TEST(LocalLog, FsyncAlwaysAcknowledgesEveryRecord) {
  TempDir dir;
  auto options = options_for(dir.path());
  options.fsync = FsyncPolicy::kAlways;
  auto producer = open_local_producer(options);
  ASSERT_TRUE(producer.ok());
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE((*producer)->send("k", value_for(i), i).ok());
    EXPECT_EQ((*producer)->acknowledged(), static_cast<uint64_t>(i + 1));
  }
}

TEST(LocalLog, OpenedThroughTheConfiguration) {
  TempDir dir;
  Config config = Config::defaults();
  ASSERT_TRUE(config.set("stream.log.dir", (dir.path() / "stream").string()).ok());
  ASSERT_TRUE(config.set("stream.partitions", "3").ok());
  {
    auto producer = open_producer(config);
    ASSERT_TRUE(producer.ok()) << producer.error().message;
    produce(**producer, 0, 300);
  }
  EXPECT_TRUE(fs::exists(dir.path() / "stream" / "hr-data-topic" / "partition-2"));
  auto consumer = open_consumer(config, config.get_string("stream.consumer_group"));
  ASSERT_TRUE(consumer.ok());
  EXPECT_EQ(consume(**consumer, 300).size(), 300u);
}

}  // namespace
}  // namespace hrflow::stream
