// A Kafka-protocol broker for development and tests: librdkafka's built-in mock cluster, which speaks
// the real wire protocol (produce, fetch, consumer groups, offsets) on loopback. Any Kafka client
// (kcat, librdkafka, Java) can use its bootstrap servers.
// Its log lives in memory and is bounded: old segments are dropped, so it is not a durable store.
// Lifecycle: create() starts the brokers; destruction stops them. Not thread-safe.
#pragma once

#include <memory>
#include <string>

#include "common/status.h"

namespace hrflow::stream {

class MockKafkaCluster {
 public:
  static Result<std::unique_ptr<MockKafkaCluster>> create(int brokers = 1);
  ~MockKafkaCluster();
  MockKafkaCluster(const MockKafkaCluster&) = delete;
  MockKafkaCluster& operator=(const MockKafkaCluster&) = delete;

  std::string bootstrap_servers() const;
  Status create_topic(const std::string& topic, int partitions);

 private:
  MockKafkaCluster() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hrflow::stream
