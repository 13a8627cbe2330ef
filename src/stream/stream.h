// The stream between the producer and the sink: either the embedded durable log (default, under
// stream.log.dir) or a Kafka topic (stream.kafka.bootstrap_servers set). Both place a record on a
// partition by Kafka's default partitioner (murmur2 of the key), so a user lands on the same
// partition in either, and both keep consumer-group positions.
//
// Delivery contract: a record counts as sent only after flush() returned OK (acknowledged: fsynced per
// stream.log.fsync, or acknowledged by the brokers). A consumer receives records of each assigned
// partition in offset order; after a restart it resumes from the last committed position.
//
// Resuming: last_records() tells a restarted producer where the stream ends, partition by partition,
// so it can skip what an earlier (killed) run already delivered instead of sending it twice.
//
// Thread-safety: one thread per producer or consumer object.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.h"
#include "common/status.h"

namespace hrflow::stream {

struct Record {
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_ms = 0;  // the stream's record timestamp (event time when the producer sets it)
  std::string key;
  std::string value;
};

// Where the stream ends: its partition count (placement: partition_for_key(key, partitions)) and the
// newest record of every partition that holds any.
struct StreamEnd {
  int32_t partitions = 0;
  std::map<int32_t, Record> last;
};

class StreamProducer {
 public:
  virtual ~StreamProducer() = default;
  // Queue a record; may block while buffers are full. Errors here are delivery errors seen so far.
  virtual Status send(std::string_view key, std::string_view value, int64_t timestamp_ms) = 0;
  // Wait until every queued record is acknowledged (or fails).
  virtual Status flush() = 0;
  // Records acknowledged so far.
  virtual uint64_t acknowledged() const = 0;
  // Flush, then read the newest acknowledged record of every non-empty partition (in Kafka: the
  // record at high watermark - 1, bounded in time). Records from any earlier producer count too.
  virtual Result<StreamEnd> last_records() = 0;
};

// Partition -> next offset to read (Kafka's committed-offset convention).
using Positions = std::map<int32_t, int64_t>;

class StreamConsumer {
 public:
  virtual ~StreamConsumer() = default;
  // Up to `max_records` records, waiting at most `timeout_ms` for the first one. Empty = nothing now.
  virtual Result<std::vector<Record>> poll(size_t max_records, int timeout_ms) = 0;
  // Durably record the consumer group's positions (only for currently assigned partitions).
  virtual Status commit(const Positions& positions) = 0;
  // Partitions currently assigned to this consumer (changes on rebalance in Kafka mode).
  virtual std::vector<int32_t> assignment() const = 0;
  // Per-partition lag (end offset - position) for progress and metrics.
  virtual Result<std::map<int32_t, int64_t>> lag() = 0;
};

// Kafka's default partitioner: murmur2(key) & 0x7fffffff % partitions.
int32_t partition_for_key(std::string_view key, int32_t partitions);
// Kafka's murmur2 hash (seed 0x9747b28c), as the Java client and librdkafka compute it.
uint32_t murmur2(std::string_view key);

// Open the configured stream (embedded log or Kafka) for producing / consuming as `group`.
Result<std::unique_ptr<StreamProducer>> open_producer(const Config& config);
Result<std::unique_ptr<StreamConsumer>> open_consumer(const Config& config, const std::string& group);

}  // namespace hrflow::stream
