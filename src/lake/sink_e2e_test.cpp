// `hrflow sink` end to end: records produced into the real stream (embedded log, and Kafka through the
// mock cluster), the sink killed with SIGKILL at random moments and restarted, then `--once`; the lake
// must hold every record exactly once in its hour folder, bad records under errors/.
#include <gtest/gtest.h>
#include <signal.h>

#include <fstream>
#include <random>
#include <thread>

#include "lake/file_store.h"
#include "lake/s3_store.h"
#include "lake/layout.h"
#include "lake/sink.h"
#include "stream/stream.h"
#include "support/fixtures.h"

namespace hrflow::lake {
namespace {
using namespace hrflow::testing;

constexpr int64_t kT0 = 1711943972;

struct Produced {
  std::map<std::string, int64_t> hour_of;  // record id -> expected hour (-1: bad record)
};

std::filesystem::path write_config(const TempDir& dir, const std::string& extra) {
  auto path = dir.path() / "hrflow.yml";
  std::ofstream(path) << fmt::format(
      "state_dir: {}\nstream:\n  partitions: 3\n{}sink:\n  flush_size: 700\n  idle_timeout: 2s\n",
      (dir.path() / "state").string(), extra);
  return path;
}

// Produce n records: mostly in time order, some late, some in the all-strings form, some broken.
Produced produce(const Config& config, int n) {
  Produced out;
  auto producer = stream::open_producer(config);
  EXPECT_TRUE(producer.ok()) << producer.error().message;
  if (!producer.ok()) return out;
  std::mt19937_64 rng(5);
  for (int i = 0; i < n; ++i) {
    int64_t ts = kT0 + i * 2 - (rng() % 20 == 0 ? static_cast<int64_t>(rng() % 20000) : 0);
    std::string id = fmt::format("r{}", i);
    std::string value;
    if (i % 97 == 0) {
      value = fmt::format("{{\"id\":\"{}\",\"timestamp\":\"oops\"}}", id);
      out.hour_of[id] = -1;
    } else if (i % 3 == 0) {
      value = fmt::format("{{\"id\":\"{}\",\"user_id\":\"{}\",\"heart_rate\":\"71\",\"timestamp\":\"{}\"}}", id, 10000 + i % 50, ts);
      out.hour_of[id] = ts / 3600;
    } else {
      value = fmt::format("{{\"id\":\"{}\",\"user_id\":{},\"heart_rate\":71,\"timestamp\":{}}}", id, 10000 + i % 50, ts);
      out.hour_of[id] = ts / 3600;
    }
    EXPECT_TRUE((*producer)->send(std::to_string(10000 + i % 50), value, ts * 1000).ok());
  }
  EXPECT_TRUE((*producer)->flush().ok());
  return out;
}

// Every produced record exactly once, in its hour folder (or under errors/).
void expect_lake_holds_exactly(ObjectStore* store, const Produced& produced) {
  std::map<std::string, int> seen;
  auto listed = store->list("");
  ASSERT_TRUE(listed.ok());
  for (const auto& o : *listed) {
    if (o.key.starts_with("_hrflow/")) continue;
    auto key = parse_key(o.key);
    ASSERT_TRUE(key.ok()) << o.key;
    std::string data = *store->get(o.key);
    size_t start = 0;
    while (start < data.size()) {
      size_t end = data.find('\n', start);
      std::string line = data.substr(start, end - start);
      start = end + 1;
      auto idpos = line.find("\"id\":\"r");
      if (key->error_file) idpos = line.find("\\\"id\\\":\\\"r");
      ASSERT_NE(idpos, std::string::npos) << line;
      auto begin = line.find('r', idpos + 4);
      std::string id = line.substr(begin, line.find_first_of("\"\\", begin) - begin);
      ++seen[id];
      auto it = produced.hour_of.find(id);
      ASSERT_NE(it, produced.hour_of.end()) << id;
      if (key->error_file) EXPECT_EQ(it->second, -1) << line;
      else EXPECT_EQ(key->hour_epoch, it->second) << o.key << " " << line;
    }
  }
  size_t missing = 0, duplicated = 0;
  for (const auto& [id, hour] : produced.hour_of) {
    if (seen[id] == 0) ++missing;
    if (seen[id] > 1) ++duplicated;
  }
  EXPECT_EQ(missing, 0u);
  EXPECT_EQ(duplicated, 0u);
  EXPECT_EQ(seen.size(), produced.hour_of.size());
}

void expect_lake_holds_exactly(const std::filesystem::path& lake_dir, const Produced& produced) {
  auto store = std::move(FileStore::open(lake_dir)).value();
  expect_lake_holds_exactly(store.get(), produced);
}

// Run the sink, kill -9 it at random moments, restart; then finish with --once.
void kill_restart_then_once(const std::filesystem::path& config, int kills) {
  std::mt19937 rng(11);
  for (int k = 0; k < kills; ++k) {
    auto p = Subprocess::start({hrflow_bin(), "--config", config.string(), "sink"},
                               (config.parent_path() / fmt::format("sink-{}.log", k)).string());
    ASSERT_TRUE(p.ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(300 + rng() % 1500));  // the random moment
    p->stop(SIGKILL, 1000);
  }
  auto out = run_hrflow({"--config", config.string(), "sink", "--once"});
  ASSERT_EQ(out.exit_code, 0) << out.output;
  EXPECT_NE(out.output.find("bad, under errors/"), std::string::npos) << out.output;
}

TEST(SinkEndToEnd, EmbeddedLogSurvivesKillNineAtRandomMoments) {
  TempDir dir;
  auto config_path = write_config(dir, "");
  auto config = Config::load(config_path, true);
  ASSERT_TRUE(config.ok()) << config.error().message;
  auto produced = produce(*config, 30000);
  kill_restart_then_once(config_path, 4);
  expect_lake_holds_exactly(dir.path() / "state" / "lake", produced);
  // A second --once finds nothing new and changes nothing.
  auto again = run_hrflow({"--config", config_path.string(), "sink", "--once"});
  EXPECT_EQ(again.exit_code, 0) << again.output;
  expect_lake_holds_exactly(dir.path() / "state" / "lake", produced);
}

TEST(SinkEndToEnd, KafkaMockClusterSurvivesKillNineAtRandomMoments) {
  HRFLOW_START_OR_SKIP(kafka, KafkaInstance::start(3));
  TempDir dir;
  auto config_path = write_config(dir, fmt::format("  kafka:\n    bootstrap_servers: {}\n", kafka->bootstrap_servers()));
  auto config = Config::load(config_path, true);
  ASSERT_TRUE(config.ok()) << config.error().message;
  auto produced = produce(*config, 20000);
  kill_restart_then_once(config_path, 3);
  expect_lake_holds_exactly(dir.path() / "state" / "lake", produced);
}

TEST(SinkEndToEnd, KafkaStaticAssignmentSurvivesKillNineAtRandomMoments) {
  // Every partition assigned without joining the group; positions still committed to the group.
  HRFLOW_START_OR_SKIP(kafka, KafkaInstance::start(3));
  TempDir dir;
  auto config_path = write_config(
      dir, fmt::format("  kafka:\n    bootstrap_servers: {}\n    assignment: all\n", kafka->bootstrap_servers()));
  auto config = Config::load(config_path, true);
  ASSERT_TRUE(config.ok()) << config.error().message;
  auto produced = produce(*config, 20000);
  kill_restart_then_once(config_path, 3);
  expect_lake_holds_exactly(dir.path() / "state" / "lake", produced);
  // Two sinks, each with its own partitions, in the same group: a rerun of both finds nothing new.
  for (const char* parts : {"0", "1-2"}) {
    write_config(dir, fmt::format("  kafka:\n    bootstrap_servers: {}\n    assignment: {}\n", kafka->bootstrap_servers(), parts));
    auto again = run_hrflow({"--config", config_path.string(), "sink", "--once"});
    EXPECT_EQ(again.exit_code, 0) << again.output;
    EXPECT_NE(again.output.find("sink: 0 records"), std::string::npos) << again.output;
  }
  expect_lake_holds_exactly(dir.path() / "state" / "lake", produced);
}

TEST(SinkEndToEnd, RecordsProducedWithKcatLandInTheirHours) {
  HRFLOW_START_OR_SKIP(kafka, KafkaInstance::start(3));
  auto which = run_command({"sh", "-c", "command -v kcat"});
  if (!which.ok() || which->exit_code != 0) GTEST_SKIP() << "kcat is not installed";
  TempDir dir;
  auto config_path = write_config(dir, fmt::format("  kafka:\n    bootstrap_servers: {}\n", kafka->bootstrap_servers()));
  Produced produced;
  std::string lines;
  for (int i = 0; i < 30; ++i) {
    int64_t ts = kT0 + i * 600;
    std::string id = fmt::format("r{}", i);
    // The original producer's form: every value a string.
    lines += fmt::format("{}:{{\"id\":\"{}\",\"user_id\":\"{}\",\"heart_rate\":\"{}\",\"timestamp\":\"{}\"}}\n",
                         10000 + i % 4, id, 10000 + i % 4, 60 + i, ts);
    produced.hour_of[id] = ts / 3600;
  }
  lines += "10001:{\"id\":\"r-bad\",\"heart_rate\":\"61\"}\n";
  produced.hour_of["r-bad"] = -1;
  std::ofstream(dir.path() / "in.txt") << lines;
  auto kcat = run_command({"sh", "-c", fmt::format("kcat -P -b {} -t hr-data-topic -K: < {}", kafka->bootstrap_servers(),
                                                   (dir.path() / "in.txt").string())});
  ASSERT_TRUE(kcat.ok());
  ASSERT_EQ(kcat->exit_code, 0) << kcat->output;
  auto out = run_hrflow({"--config", config_path.string(), "sink", "--once"});
  ASSERT_EQ(out.exit_code, 0) << out.output;
  EXPECT_NE(out.output.find("31 records (1 bad"), std::string::npos) << out.output;
  expect_lake_holds_exactly(dir.path() / "state" / "lake", produced);
}

TEST(SinkEndToEnd, UnreachableS3IsAClearErrorAndTheNextRunResumesWithoutLoss) {
  HRFLOW_START_OR_SKIP(s3, S3Instance::start());
  setenv("AWS_ACCESS_KEY_ID", S3Instance::kAccessKey, 1);
  setenv("AWS_SECRET_ACCESS_KEY", S3Instance::kSecretKey, 1);
  TempDir dir;
  auto config_path = write_config(dir, "");
  std::string base = std::string(std::istreambuf_iterator<char>(std::ifstream(config_path).rdbuf()), {});
  auto with_endpoint = [&](const std::string& endpoint) {
    std::ofstream(config_path) << base << fmt::format(
        "lake:\n  url: s3://sink-bucket/lake\n  s3:\n    endpoint: {}\n    max_attempts: 2\n", endpoint);
  };
  with_endpoint(fmt::format("http://127.0.0.1:{}", free_port()));  // nothing listens there
  auto config = Config::load(config_path, true);
  ASSERT_TRUE(config.ok()) << config.error().message;
  auto produced = produce(*config, 3000);
  auto down = run_hrflow({"--config", config_path.string(), "sink", "--once"});
  EXPECT_EQ(down.exit_code, 1) << down.output;
  EXPECT_NE(down.output.find("is lake.s3.endpoint reachable?"), std::string::npos) << down.output;

  with_endpoint(s3->endpoint());
  S3Options o;
  o.endpoint = s3->endpoint();
  o.credentials = {S3Instance::kAccessKey, S3Instance::kSecretKey, ""};
  auto store = S3Store::open(o, "s3://sink-bucket/lake");
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->ensure_bucket().ok());
  auto up = run_hrflow({"--config", config_path.string(), "sink", "--once"});
  ASSERT_EQ(up.exit_code, 0) << up.output;
  expect_lake_holds_exactly(store->get(), produced);
}

}  // namespace
}  // namespace hrflow::lake
