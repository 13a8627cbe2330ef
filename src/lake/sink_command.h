// `hrflow sink`: the command line of the lake sink (registered from src/cli/main.cpp).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

#include "common/cli.h"

namespace hrflow::lake {

void add_sink_command(CLI::App& app, CliContext& ctx);

struct SinkRunOptions {
  bool once = false;      // stop when caught up and every file is closed
  bool progress = false;  // records/s and per-partition lag on stderr
  // When to stop (then every open file is closed and committed); default: stop_requested() (Ctrl-C).
  // `hrflow serve` runs the sink as a service thread and stops it with its own flag.
  std::function<bool()> stop;
  std::atomic<uint64_t>* records = nullptr;  // if set: records accepted so far (for /metrics)
};

// Consume the configured stream into the configured lake until stopped (or caught up with `once`).
// Returns the exit code. Safe to run on any one thread; errors are logged and reported on stderr.
int run_sink(const Config& config, const SinkRunOptions& options);

}  // namespace hrflow::lake
