// `hrflow sink`: the command line of the lake sink (registered from src/cli/main.cpp).
#pragma once

#include "common/cli.h"

namespace hrflow::lake {

void add_sink_command(CLI::App& app, CliContext& ctx);

struct SinkRunOptions {
  bool once = false;      // stop when caught up and every file is closed
  bool progress = false;  // records/s and per-partition lag on stderr
};

// Consume the configured stream into the configured lake until stopped (or caught up with `once`).
// Returns the exit code.
int run_sink(const Config& config, const SinkRunOptions& options);

}  // namespace hrflow::lake
