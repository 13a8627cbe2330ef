// `hrflow serve`: one process that owns the warehouse and keeps the pipeline running.
//
// Threads: the automation loop (observes sources, asks the AutomationEngine what to run, records
// decisions), one worker that executes runs in launch order (runs write the one warehouse), and the
// HTTP server (web UI, JSON API, /metrics). The engine is guarded by one mutex.
// The API is bound to loopback unless a token is configured; with a token every request must carry it
// (Authorization: Bearer, or ?token= which the UI turns into a header). Only the embedded UI files and
// the API routes are served; any other path is 404.
// While it runs, {state_dir}/serve.json names its pid and address so that other commands hand their
// warehouse work to it (client.h).
//
// Lifecycle: start() -> run_until_stopped() (returns on stop() or when options.stop asks: the current run ends,
// state is saved, the address file removed).
#pragma once

#include <memory>
#include <string>

#include "common/clock.h"
#include "common/config.h"
#include "common/status.h"
#include "common/stop.h"

namespace hrflow::serve {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string token;
  int64_t tick_ms = 250;  // how often automation is evaluated
  StopToken stop;         // run_until_stopped() also returns when this asks (commands: Ctrl-C)
};

class Service {
 public:
  static Result<std::unique_ptr<Service>> start(const Config& config, ServeOptions options);
  virtual ~Service() = default;
  virtual void run_until_stopped() = 0;
  virtual void stop() = 0;
  virtual std::string url() const = 0;
  // postgresql://host:port/warehouse of the SQL endpoint, empty when it is not running.
  virtual std::string sql_url() const = 0;
};

bool is_loopback(const std::string& host);

}  // namespace hrflow::serve
