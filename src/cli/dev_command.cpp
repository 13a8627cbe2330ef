// `hrflow dev kafka`: run a Kafka-protocol broker (librdkafka's mock cluster) until stopped.
#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "cli/commands.h"
#include "stream/mock_kafka.h"

namespace hrflow::stream {

void add_dev_commands(CLI::App& app, CliContext& ctx) {
  auto* dev = app.add_subcommand("dev", "Development services: a Kafka-protocol broker for trying hrflow out");
  dev->require_subcommand(1);
  auto* kafka = dev->add_subcommand(
      "kafka",
      "Run librdkafka's mock Kafka cluster on loopback and print its bootstrap servers; stays up until "
      "Ctrl-C. Any Kafka client (kcat -b ...) can use it. Its log is in memory and drops old segments.");
  struct Opts {
    int partitions = 6;
    int brokers = 1;
    std::string topic;
  };
  auto opts = std::make_shared<Opts>();
  kafka->add_option("--partitions", opts->partitions, "Partitions of the pre-created topic")->check(CLI::Range(1, 1024));
  kafka->add_option("--brokers", opts->brokers, "Number of mock brokers")->check(CLI::Range(1, 16));
  kafka->add_option("--topic", opts->topic, "Topic to create up front (default: stream.topic)");
  on_run(kafka, ctx, [&ctx, opts] {
    auto cluster = MockKafkaCluster::create(opts->brokers);
    if (!cluster.ok()) return report_error(cluster.error());
    std::string topic = opts->topic.empty() ? ctx.config.get_string("stream.topic") : opts->topic;
    if (auto st = (*cluster)->create_topic(topic, opts->partitions); !st.ok()) return report_error(st.error());
    // First line of stdout: the bootstrap servers, for scripts and test fixtures.
    std::printf("%s\n", (*cluster)->bootstrap_servers().c_str());
    std::fflush(stdout);
    std::fprintf(stderr, "mock Kafka cluster (librdkafka %s) with topic '%s' (%d partitions) at %s; Ctrl-C stops it\n",
                 rd_kafka_version_str(), topic.c_str(), opts->partitions, (*cluster)->bootstrap_servers().c_str());
    install_stop_handlers();
    while (!stop_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return kExitOk;
  });
}

}  // namespace hrflow::stream
