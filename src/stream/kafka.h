// Kafka through librdkafka behind the StreamProducer / StreamConsumer interfaces.
//
// Producer: idempotent (enable.idempotence=true: no duplicates or reordering on retries), batching and
// lz4 compression tuned for throughput, keys placed by murmur2 (librdkafka's "murmur2_random", the Java
// client's default) so a user lands on the same partition as in the embedded log. A record counts as
// acknowledged only when its delivery report says the brokers have it. Opening checks that the cluster
// answers within a bounded time and creates the topic when missing (stream.kafka.create_topic).
// last_records() reads each partition's record at high watermark - 1 with a short-lived group-less
// consumer (same properties), within kKafkaConnectTimeoutMs.
// Consumer: a member of a consumer group with auto-commit off; commit() commits synchronously;
// assignment() follows rebalances. With stream.kafka.assignment `all` or a partition list it assigns
// those partitions itself (no group membership, no rebalances) and still commits to the group.
// Every property in stream.kafka.properties is passed to librdkafka as is (after hrflow's defaults, so
// it wins); stream.kafka.sasl_password becomes sasl.password.
// Thread-safety: one thread per object (librdkafka's own threads are internal).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.h"
#include "stream/stream.h"

namespace hrflow::stream {

// How long opening waits for the cluster to answer before giving up with an error.
inline constexpr int kKafkaConnectTimeoutMs = 10000;

Result<std::unique_ptr<StreamProducer>> open_kafka_producer(const Config& config);
Result<std::unique_ptr<StreamConsumer>> open_kafka_consumer(const Config& config, const std::string& group);

// The partitions named by stream.kafka.assignment's `all` or a list such as "0-5,9" (sorted, each once),
// checked against the topic's `partition_count`.
Result<std::vector<int32_t>> parse_partition_list(std::string_view text, int partition_count);

}  // namespace hrflow::stream
