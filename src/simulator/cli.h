// The simulator's commands: `hrflow produce` (fleet readings into the stream, backfill or live) and
// `hrflow bench formats|simulator`. Registered by src/cli/main.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/cli.h"
#include "common/fleet.h"
#include "common/status.h"

namespace hrflow::sim {

void add_bench_commands(CLI::App& app, CliContext& ctx);
void add_produce_command(CLI::App& app, CliContext& ctx);

// The fleet from a user source: "oltp" (the operational database), "csv:DIR" (an `hrflow oltp
// export` directory) or "sample:N" (sample_fleet.h). Anything else is a clear error.
Result<Fleet> load_users(const Config& config, const std::string& source);

// "2025-01-01", "2025-01-01T06:30", "2025-01-01T06:30:15Z" (UTC) -> epoch seconds.
Result<int64_t> parse_utc_time(std::string_view text);

// The `bench` command group, created on first use so that several stages can add benchmarks to it.
CLI::App* bench_group(CLI::App& app);

}  // namespace hrflow::sim
