// Choosing the stream: Kafka when stream.kafka.bootstrap_servers is set, the embedded log otherwise.
#include "stream/stream.h"

#include "stream/kafka.h"
#include "stream/local.h"

namespace hrflow::stream {

Result<std::unique_ptr<StreamProducer>> open_producer(const Config& config) {
  if (!config.get_string("stream.kafka.bootstrap_servers").empty()) return open_kafka_producer(config);
  return open_local_producer(LogOptions::from_config(config));
}

Result<std::unique_ptr<StreamConsumer>> open_consumer(const Config& config, const std::string& group) {
  if (!config.get_string("stream.kafka.bootstrap_servers").empty()) return open_kafka_consumer(config, group);
  return open_local_consumer(LogOptions::from_config(config), group);
}

}  // namespace hrflow::stream
