// Child processes: run a command to completion (capturing its output), or start one in the background
// in its own process group and stop it later. Used to drive PostgreSQL's tools and, in tests, the
// services that fixtures start. A Subprocess kills its process group when destroyed unless detached.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/status.h"

namespace hrflow {

struct CommandOutput {
  int exit_code = -1;
  std::string output;  // stdout and stderr, interleaved
};

// Run argv[0] (searched in PATH) with argv; waits for it. Fails only if it could not be started.
Result<CommandOutput> run_command(const std::vector<std::string>& argv);
// Run argv with this process's stdin/stdout/stderr (its output shows live); returns its exit code.
Result<int> run_attached(const std::vector<std::string>& argv);
// Same, but as `user` when running as root (via runuser), e.g. PostgreSQL's tools as "postgres".
Result<CommandOutput> run_command_as(const std::string& user, const std::vector<std::string>& argv);

class Subprocess {
 public:
  // Start in the background; stdout/stderr go to `log_path` (or /dev/null when empty).
  static Result<Subprocess> start(const std::vector<std::string>& argv, const std::string& log_path = "");
  Subprocess(Subprocess&& o) noexcept : pid_(o.pid_) { o.pid_ = -1; }
  Subprocess& operator=(Subprocess&& o) noexcept;
  Subprocess(const Subprocess&) = delete;
  Subprocess& operator=(const Subprocess&) = delete;
  ~Subprocess();

  pid_t pid() const { return pid_; }
  bool running();
  // Send `signal` to the process group, then wait up to `timeout_ms` before SIGKILL. Returns exit status.
  int stop(int signal = 15, int timeout_ms = 5000);
  void detach() { pid_ = -1; }

 private:
  explicit Subprocess(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
};

bool running_as_root();

}  // namespace hrflow
