#include "stream/mock_kafka.h"

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

namespace hrflow::stream {

struct MockKafkaCluster::Impl {
  rd_kafka_t* rk = nullptr;
  rd_kafka_mock_cluster_t* cluster = nullptr;
  ~Impl() {
    if (cluster) rd_kafka_mock_cluster_destroy(cluster);
    if (rk) rd_kafka_destroy(rk);
  }
};

Result<std::unique_ptr<MockKafkaCluster>> MockKafkaCluster::create(int brokers) {
  std::unique_ptr<MockKafkaCluster> c(new MockKafkaCluster());
  c->impl_ = std::make_unique<Impl>();
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof err);
  c->impl_->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (c->impl_->rk == nullptr) return io_error("cannot create the mock cluster's client: {}", err);
  c->impl_->cluster = rd_kafka_mock_cluster_new(c->impl_->rk, brokers);
  if (c->impl_->cluster == nullptr) return io_error("cannot start librdkafka's mock cluster");
  return c;
}

MockKafkaCluster::~MockKafkaCluster() = default;

std::string MockKafkaCluster::bootstrap_servers() const {
  return rd_kafka_mock_cluster_bootstraps(impl_->cluster);
}

Status MockKafkaCluster::create_topic(const std::string& topic, int partitions) {
  auto err = rd_kafka_mock_topic_create(impl_->cluster, topic.c_str(), partitions, 1);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return io_error("cannot create topic {} on the mock cluster: {}", topic, rd_kafka_err2str(err));
  }
  return {};
}

}  // namespace hrflow::stream
