// What only the Kafka stream has, against a real Kafka-protocol broker (the mock cluster of `hrflow dev
// kafka`): kcat reading what hrflow wrote, topic creation, a bounded, clear error when no broker
// answers, property and static-assignment checks. The stream contract itself (round trip, placement
// by murmur2, consumer-group resume, last_records) is conformance_test.cpp, run over both streams.
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <sstream>

#include "common/subprocess.h"
#include "stream/kafka.h"
#include "stream/stream.h"
#include "support/fixtures.h"

namespace hrflow::stream {
namespace {

using hrflow::testing::KafkaInstance;

// A short session timeout, passed through stream.kafka.properties: the mock cluster keeps a member
// that left in the group until its session expires, so a restarted consumer would wait 45 s.
Config kafka_config(const std::string& servers, const std::string& topic = "hr-data-topic") {
  auto c = Config::parse(fmt::format("stream:\n  topic: {}\n  kafka:\n    bootstrap_servers: \"{}\"\n"
                                     "    properties:\n      session.timeout.ms: 3000\n"
                                     "      heartbeat.interval.ms: 500\n",
                                     topic, servers),
                         "test.yml");
  EXPECT_TRUE(c.ok()) << c.error().message;
  return *c;
}

std::string value_for(int i) {
  return fmt::format("{{\"user_id\":{},\"heart_rate\":{},\"timestamp\":{}}}", 10001 + i % 40, 60 + i % 90, 1711943972 + i);
}

void produce(StreamProducer& producer, int from, int to) {
  for (int i = from; i < to; ++i) {
    auto st = producer.send(std::to_string(10001 + i % 40), value_for(i), 1711943972000LL + i);
    ASSERT_TRUE(st.ok()) << st.error().message;
  }
  auto st = producer.flush();
  ASSERT_TRUE(st.ok()) << st.error().message;
}

// Poll until `n` records arrived or the deadline passed.
std::vector<Record> consume(StreamConsumer& consumer, size_t n, std::chrono::seconds deadline = std::chrono::seconds(30)) {
  std::vector<Record> all;
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (all.size() < n && std::chrono::steady_clock::now() < until) {
    auto batch = consumer.poll(n - all.size(), 200);
    EXPECT_TRUE(batch.ok()) << batch.error().message;
    if (!batch.ok()) break;
    all.insert(all.end(), batch->begin(), batch->end());
  }
  return all;
}

TEST(Kafka, KcatReadsWhatHrflowProduced) {
  HRFLOW_START_OR_SKIP(kafka, KafkaInstance::start(6));
  auto which = run_command({"sh", "-c", "command -v kcat"});
  if (!which.ok() || which->exit_code != 0) GTEST_SKIP() << "kcat is not installed (apt-get install kafkacat)";
  Config config = kafka_config(kafka->bootstrap_servers());
  {
    auto producer = open_producer(config);
    ASSERT_TRUE(producer.ok()) << producer.error().message;
    produce(**producer, 0, 300);
  }
  auto out = run_command({"kcat", "-C", "-b", kafka->bootstrap_servers(), "-t", "hr-data-topic", "-o", "beginning",
                          "-e", "-q", "-f", "%k|%p|%s\n"});
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->exit_code, 0) << out->output;
  std::istringstream lines(out->output);
  std::string line;
  std::set<std::string> values;
  while (std::getline(lines, line)) {
    auto a = line.find('|'), b = line.find('|', a + 1);
    ASSERT_NE(b, std::string::npos) << line;
    std::string key = line.substr(0, a);
    EXPECT_EQ(std::stoi(line.substr(a + 1, b - a - 1)), partition_for_key(key, 6)) << line;
    values.insert(line.substr(b + 1));
  }
  EXPECT_EQ(values.size(), 300u);
  for (int i = 0; i < 300; ++i) EXPECT_TRUE(values.count(value_for(i))) << i;
}

TEST(Kafka, CreatesAMissingTopicOnlyWhenAllowed) {
  HRFLOW_START_OR_SKIP(kafka, KafkaInstance::start(6, "something-else"));
  Config config = kafka_config(kafka->bootstrap_servers(), "new-topic");
  ASSERT_TRUE(config.set("stream.kafka.create_topic", "false").ok());
  auto refused = open_producer(config);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().kind, ErrorKind::kNotFound);
  EXPECT_NE(refused.error().message.find("new-topic"), std::string::npos) << refused.error().message;

  ASSERT_TRUE(config.set("stream.kafka.create_topic", "true").ok());
  auto producer = open_producer(config);
  if (!producer.ok() && producer.error().message.find("waiting for controller") != std::string::npos) {
    GTEST_SKIP() << "this broker does not implement CreateTopics (the mock cluster of this librdkafka): "
                 << producer.error().message;
  }
  ASSERT_TRUE(producer.ok()) << producer.error().message;
  produce(**producer, 0, 100);
  auto consumer = open_consumer(config, "g");
  ASSERT_TRUE(consumer.ok()) << consumer.error().message;
  auto records = consume(**consumer, 100);
  EXPECT_EQ(records.size(), 100u);
  std::set<int32_t> partitions;
  for (const auto& r : records) partitions.insert(r.partition);
  EXPECT_GT(partitions.size(), 1u) << "created with stream.partitions partitions";
}

TEST(Kafka, UnreachableBrokerIsAClearErrorWithinBoundedTime) {
  const std::string servers = fmt::format("127.0.0.1:{}", hrflow::testing::free_port());  // nothing listens
  Config config = kafka_config(servers);
  for (bool producer : {true, false}) {
    auto start = std::chrono::steady_clock::now();
    Error error;
    if (producer) {
      auto p = open_producer(config);
      ASSERT_FALSE(p.ok());
      error = p.error();
    } else {
      auto c = open_consumer(config, "g");
      ASSERT_FALSE(c.ok());
      error = c.error();
    }
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_LE(took, std::chrono::milliseconds(kKafkaConnectTimeoutMs + 3000));
    EXPECT_EQ(error.kind, ErrorKind::kUnavailable);
    EXPECT_TRUE(error.retriable);
    EXPECT_NE(error.message.find("cannot reach Kafka at " + servers), std::string::npos) << error.message;
    EXPECT_NE(error.message.find("stream.kafka.bootstrap_servers"), std::string::npos) << error.message;
  }
}

TEST(Kafka, BadPropertyIsRejectedByName) {
  auto config = Config::parse(
      "stream:\n  kafka:\n    bootstrap_servers: 127.0.0.1:9\n    properties:\n      compression.type: snappyish\n",
      "hrflow.yml");
  ASSERT_TRUE(config.ok()) << config.error().message;
  auto p = open_producer(*config);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_NE(p.error().message.find("compression.type"), std::string::npos) << p.error().message;
}

TEST(Kafka, PartitionListsOfStaticAssignmentAreParsedAndChecked) {
  EXPECT_EQ(*parse_partition_list("all", 4), (std::vector<int32_t>{0, 1, 2, 3}));
  EXPECT_EQ(*parse_partition_list("0-2, 5,1", 6), (std::vector<int32_t>{0, 1, 2, 5}));
  EXPECT_EQ(*parse_partition_list("3", 4), (std::vector<int32_t>{3}));
  for (const char* bad : {"4", "2-1", "x", "1,,2", "-1", "0-", "", "group2"}) {
    auto r = parse_partition_list(bad, 4);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.error().kind, ErrorKind::kInvalidArgument);
    EXPECT_NE(r.error().message.find("stream.kafka.assignment"), std::string::npos) << r.error().message;
  }
}

}  // namespace
}  // namespace hrflow::stream
