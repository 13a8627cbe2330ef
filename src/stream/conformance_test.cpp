// The stream contract of stream.h, run against both implementations: the embedded log and Kafka
// (librdkafka against the mock cluster of `hrflow dev kafka`, a real Kafka-protocol broker). Each test
// opens the stream through the configuration, as the producer and the sink do, so a difference
// between the two is a failure here. What only one of them has (segments, torn tails, kcat, topic
// creation) is tested in log_test.cpp and kafka_test.cpp.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <set>

#include "stream/stream.h"
#include "support/fixtures.h"

namespace hrflow::stream {
namespace {

using hrflow::testing::KafkaInstance;
using hrflow::testing::TempDir;

constexpr int kPartitions = 6;
constexpr int kUsers = 50;

// One running stream and the configuration that opens it.
class StreamBackend {
 public:
  virtual ~StreamBackend() = default;
  virtual Config config() const = 0;
};

class LocalBackend : public StreamBackend {
 public:
  Config config() const override {
    Config c = Config::defaults();
    EXPECT_TRUE(c.set("stream.log.dir", (dir_.path() / "stream").string()).ok());
    EXPECT_TRUE(c.set("stream.partitions", std::to_string(kPartitions)).ok());
    return c;
  }

 private:
  TempDir dir_;
};

class KafkaBackend : public StreamBackend {
 public:
  explicit KafkaBackend(std::unique_ptr<KafkaInstance> kafka) : kafka_(std::move(kafka)) {}
  // A short session timeout, passed through stream.kafka.properties: the mock cluster keeps a member
  // that left in the group until its session expires, so a restarted consumer would wait 45 s.
  Config config() const override {
    auto c = Config::parse(fmt::format("stream:\n  topic: hr-data-topic\n  kafka:\n    bootstrap_servers: \"{}\"\n"
                                       "    properties:\n      session.timeout.ms: 3000\n"
                                       "      heartbeat.interval.ms: 500\n",
                                       kafka_->bootstrap_servers()),
                           "test.yml");
    EXPECT_TRUE(c.ok()) << c.error().message;
    return *c;
  }

 private:
  std::unique_ptr<KafkaInstance> kafka_;
};

std::string key_for(int seq) { return std::to_string(10001 + seq % kUsers); }
int64_t timestamp_for(int seq) { return 1711943972000LL + seq; }
std::string value_for(int seq) {
  return fmt::format("{{\"user_id\":{},\"heart_rate\":{},\"seq\":{}}}", 10001 + seq % kUsers, 60 + seq % 90, seq);
}
int seq_of(const Record& r) { return std::stoi(r.value.substr(r.value.find("\"seq\":") + 6)); }

class StreamConformance : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "Local") {
      backend_ = std::make_unique<LocalBackend>();
      return;
    }
    auto kafka = KafkaInstance::start(kPartitions);
    if (!kafka.ok()) GTEST_SKIP() << "Kafka mock cluster unavailable: " << kafka.error().message;
    backend_ = std::make_unique<KafkaBackend>(std::move(kafka).value());
  }

  std::unique_ptr<StreamProducer> producer() {
    auto p = open_producer(backend_->config());
    EXPECT_TRUE(p.ok()) << p.error().message;
    return p.ok() ? std::move(p).value() : nullptr;
  }
  std::unique_ptr<StreamConsumer> consumer(const std::string& group) {
    auto c = open_consumer(backend_->config(), group);
    EXPECT_TRUE(c.ok()) << c.error().message;
    return c.ok() ? std::move(c).value() : nullptr;
  }

  // Send records [from, to) and flush.
  static void produce(StreamProducer& producer, int from, int to) {
    for (int i = from; i < to; ++i) {
      auto st = producer.send(key_for(i), value_for(i), timestamp_for(i));
      ASSERT_TRUE(st.ok()) << st.error().message;
    }
    auto st = producer.flush();
    ASSERT_TRUE(st.ok()) << st.error().message;
  }

  // Poll until `n` records arrived or the deadline passed (a Kafka consumer may first wait for its
  // group's assignment). Never more than `n`: asks for exactly what is missing.
  static std::vector<Record> consume(StreamConsumer& consumer, size_t n,
                                     std::chrono::seconds deadline = std::chrono::seconds(30)) {
    std::vector<Record> all;
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (all.size() < n && std::chrono::steady_clock::now() < until) {
      auto batch = consumer.poll(n - all.size(), 200);
      EXPECT_TRUE(batch.ok()) << batch.error().message;
      if (!batch.ok()) break;
      all.insert(all.end(), std::make_move_iterator(batch->begin()), std::make_move_iterator(batch->end()));
    }
    return all;
  }

  // Nothing more arrives within a short wait (the end of the stream for this group).
  static void expect_nothing_more(StreamConsumer& consumer) {
    auto more = consumer.poll(100, 500);
    ASSERT_TRUE(more.ok()) << more.error().message;
    EXPECT_TRUE(more->empty()) << more->size() << " records past the end, first: " << more->front().value;
  }

  static int64_t total_lag(StreamConsumer& consumer) {
    auto lag = consumer.lag();
    EXPECT_TRUE(lag.ok()) << lag.error().message;
    int64_t total = 0;
    if (lag.ok()) {
      for (auto [p, l] : *lag) total += l;
    }
    return total;
  }

  std::unique_ptr<StreamBackend> backend_;
};

// Every record arrives once with its key, value and timestamp, on murmur2's partition (so a user lands
// on the same partition in either stream), offsets of each partition dense from 0, each key in order.
TEST_P(StreamConformance, RoundTripPlacesKeysByMurmur2AndKeepsOffsetOrder) {
  auto p = producer();
  ASSERT_TRUE(p);
  produce(*p, 0, 5000);
  EXPECT_EQ(p->acknowledged(), 5000u);
  p.reset();

  auto c = consumer("sink");
  ASSERT_TRUE(c);
  auto records = consume(*c, 5000);
  ASSERT_EQ(records.size(), 5000u);
  expect_nothing_more(*c);
  std::map<int32_t, int64_t> next_offset;
  std::map<std::string, int> last_seq;
  std::set<int> seen;
  for (const auto& r : records) {
    int seq = seq_of(r);
    EXPECT_TRUE(seen.insert(seq).second) << "delivered twice: " << r.value;
    EXPECT_EQ(r.value, value_for(seq));
    EXPECT_EQ(r.key, key_for(seq));
    EXPECT_EQ(r.timestamp_ms, timestamp_for(seq));
    EXPECT_EQ(r.partition, partition_for_key(r.key, kPartitions));
    EXPECT_EQ(r.offset, next_offset[r.partition]++) << "partition " << r.partition;
    if (last_seq.count(r.key)) {
      EXPECT_GT(seq, last_seq[r.key]) << "records of one key stay in order";
    }
    last_seq[r.key] = seq;
  }
  EXPECT_EQ(c->assignment(), (std::vector<int32_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(total_lag(*c), 0);
}

// A producer opened again appends after what is there: offsets go on, nothing is overwritten.
TEST_P(StreamConformance, OffsetsContinueAfterTheProducerReopens) {
  for (int round = 0; round < 3; ++round) {
    auto p = producer();
    ASSERT_TRUE(p);
    produce(*p, round * 1000, (round + 1) * 1000);
  }
  auto c = consumer("g");
  ASSERT_TRUE(c);
  auto records = consume(*c, 3000);
  ASSERT_EQ(records.size(), 3000u);
  std::map<int32_t, int64_t> next_offset;
  std::set<int> seen;
  for (const auto& r : records) {
    EXPECT_EQ(r.offset, next_offset[r.partition]++) << "partition " << r.partition;
    seen.insert(seq_of(r));
  }
  EXPECT_EQ(seen.size(), 3000u);
}

// Lag counts what the consumer has not read yet; a consumer of the same group opened again resumes
// at the committed positions (no gap, no duplicate); another group has positions of its own.
TEST_P(StreamConformance, ConsumerGroupResumesFromCommittedPositions) {
  {
    auto p = producer();
    ASSERT_TRUE(p);
    produce(*p, 0, 6000);
  }
  std::set<int> seen;
  {
    auto c = consumer("sink");
    ASSERT_TRUE(c);
    auto first = consume(*c, 2500);
    ASSERT_EQ(first.size(), 2500u);
    Positions committed;
    for (const auto& r : first) {
      committed[r.partition] = r.offset + 1;
      seen.insert(seq_of(r));
    }
    ASSERT_TRUE(c->commit(committed).ok());
    EXPECT_EQ(total_lag(*c), 3500);
  }
  {
    auto again = consumer("sink");
    ASSERT_TRUE(again);
    auto rest = consume(*again, 3500);
    ASSERT_EQ(rest.size(), 3500u);
    expect_nothing_more(*again);
    for (const auto& r : rest) EXPECT_TRUE(seen.insert(seq_of(r)).second) << "delivered twice: " << r.value;
    EXPECT_EQ(seen.size(), 6000u);
    EXPECT_EQ(total_lag(*again), 0);
    // Not committed: a restart reads these 3500 again.
  }
  {
    auto again = consumer("sink");
    ASSERT_TRUE(again);
    EXPECT_EQ(consume(*again, 3500).size(), 3500u) << "uncommitted records are delivered again";
  }
  auto other = consumer("audit");
  ASSERT_TRUE(other);
  EXPECT_EQ(consume(*other, 6000).size(), 6000u) << "another group starts from the beginning";
}

// What a restarted producer resumes from: the newest acknowledged record of each partition, records
// sent but not yet flushed included (last_records flushes first), the same seen from a new producer.
TEST_P(StreamConformance, LastRecordsAreTheNewestAcknowledgedOfEachPartition) {
  auto expect_last = [](const StreamEnd& end, int n) {
    std::map<int32_t, int> newest;
    for (int i = 0; i < n; ++i) newest[partition_for_key(key_for(i), kPartitions)] = i;
    ASSERT_EQ(end.partitions, kPartitions);
    ASSERT_EQ(end.last.size(), newest.size());
    for (auto [p, seq] : newest) {
      const Record& r = end.last.at(p);
      EXPECT_EQ(r.partition, p);
      EXPECT_EQ(r.value, value_for(seq)) << "partition " << p;
      EXPECT_EQ(r.key, key_for(seq));
      EXPECT_EQ(r.timestamp_ms, timestamp_for(seq));
    }
  };
  {
    auto p = producer();
    ASSERT_TRUE(p);
    auto empty = p->last_records();
    ASSERT_TRUE(empty.ok()) << empty.error().message;
    EXPECT_EQ(empty->partitions, kPartitions);
    EXPECT_TRUE(empty->last.empty());
    produce(*p, 0, 3000);
    ASSERT_TRUE(p->send(key_for(3000), value_for(3000), timestamp_for(3000)).ok());  // not flushed
    auto end = p->last_records();
    ASSERT_TRUE(end.ok()) << end.error().message;
    expect_last(*end, 3001);
    EXPECT_EQ(p->acknowledged(), 3001u);
  }
  auto p = producer();
  ASSERT_TRUE(p);
  auto reopened = p->last_records();
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  expect_last(*reopened, 3001);
  produce(*p, 3001, 3008);  // only some partitions get newer records
  auto end = p->last_records();
  ASSERT_TRUE(end.ok()) << end.error().message;
  expect_last(*end, 3008);
}

// A commit of some partitions moves only those: here one partition is rewound to its start, and a
// consumer opened again reads that partition again and nothing of the others.
TEST_P(StreamConformance, CommitOfSomePartitionsKeepsTheOthers) {
  {
    auto p = producer();
    ASSERT_TRUE(p);
    produce(*p, 0, 600);
  }
  std::map<int32_t, int64_t> ends;
  {
    auto c = consumer("g");
    ASSERT_TRUE(c);
    auto all = consume(*c, 600);
    ASSERT_EQ(all.size(), 600u);
    for (const auto& r : all) ends[r.partition] = r.offset + 1;
    ASSERT_TRUE(c->commit(ends).ok());
    Positions first_only = {{ends.begin()->first, 0}};  // rewind one partition to its start
    ASSERT_TRUE(c->commit(first_only).ok());
  }
  auto c = consumer("g");
  ASSERT_TRUE(c);
  auto again = consume(*c, static_cast<size_t>(ends.begin()->second));
  ASSERT_EQ(again.size(), static_cast<size_t>(ends.begin()->second));
  for (const auto& r : again) EXPECT_EQ(r.partition, ends.begin()->first) << "only the rewound partition is read again";
  expect_nothing_more(*c);
}

INSTANTIATE_TEST_SUITE_P(Stream, StreamConformance, ::testing::Values("Local", "Kafka"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace hrflow::stream
