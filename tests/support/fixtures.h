// Test fixtures that start real services on loopback, on free ports, and always clean up (the
// destructor stops the service and removes its files, also when the test failed).
//   PostgresInstance  throwaway PostgreSQL 15, wal_level=logical (as `postgres` when root)
//   KafkaInstance     `hrflow dev kafka`: librdkafka's mock cluster, a real Kafka-protocol broker
//   S3Instance        `moto_server`, an S3 API server
// start() returns an Error when the service cannot run here; tests turn that into a visible skip
// with HRFLOW_START_OR_SKIP, never a silent pass.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "common/subprocess.h"

namespace hrflow::testing {

// A fresh directory removed with everything in it on destruction. World-traversable so that
// services running as another user (PostgreSQL as `postgres`) can use it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

int free_port();
// Poll `condition` until it holds or the deadline passes; never a fixed sleep.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds poll = std::chrono::milliseconds(20));

// The hrflow binary under test ($HRFLOW_BIN, set by ctest) and the source tree ($HRFLOW_SOURCE_DIR).
std::string hrflow_bin();
std::filesystem::path source_dir();
// Run hrflow with `args` in `cwd`; output is stdout+stderr.
CommandOutput run_hrflow(const std::vector<std::string>& args, const std::filesystem::path& cwd = {});

class PostgresInstance {
 public:
  static Result<std::unique_ptr<PostgresInstance>> start();
  ~PostgresInstance();
  std::string url() const;  // postgresql://postgres@127.0.0.1:<port>/hrflow
  int port() const { return port_; }

 private:
  PostgresInstance() = default;
  std::unique_ptr<TempDir> dir_;
  int port_ = 0;
};

class KafkaInstance {
 public:
  static Result<std::unique_ptr<KafkaInstance>> start(int partitions = 6, const std::string& topic = "hr-data-topic");
  const std::string& bootstrap_servers() const { return bootstrap_; }
  // The broker process, e.g. to stop it for a while (SIGSTOP/SIGCONT) and see clients heal.
  pid_t pid() const { return process_->pid(); }

 private:
  KafkaInstance() = default;
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<Subprocess> process_;
  std::string bootstrap_;
};

class S3Instance {
 public:
  static Result<std::unique_ptr<S3Instance>> start();
  std::string endpoint() const;  // http://127.0.0.1:<port>
  pid_t pid() const { return process_->pid(); }  // the server process (SIGSTOP: S3 stops answering)
  // Credentials moto accepts (any); tests set them as the AWS_* environment.
  static constexpr const char* kAccessKey = "testing";
  static constexpr const char* kSecretKey = "testing";

 private:
  S3Instance() = default;
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<Subprocess> process_;
  int port_ = 0;
};

}  // namespace hrflow::testing

// `HRFLOW_START_OR_SKIP(pg, PostgresInstance::start());` declares `pg`, or skips the test with the
// reason when the service cannot be started on this machine.
#define HRFLOW_START_OR_SKIP(var, expr)                                                   \
  auto var##_started_ = (expr);                                                           \
  if (!var##_started_.ok()) GTEST_SKIP() << "service unavailable: " << var##_started_.error().message; \
  auto var = std::move(var##_started_).value()
