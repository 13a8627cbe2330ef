// The hrflow command line: one registration function per command group. Each adds its subcommands
// to the CLI11 app and registers the action that runs once the configuration is read; the actions
// call the stages' library entry points and turn their Status/Result into output and exit codes.
#pragma once

#include "cli/cli.h"

namespace hrflow {
void add_demo_command(CLI::App& app, CliContext& ctx);
void add_config_command(CLI::App& app, CliContext& ctx);
void add_import_commands(CLI::App& app, CliContext& ctx);  // import_command.cpp: import ..., export fhir
namespace oltp {
void add_oltp_commands(CLI::App& app, CliContext& ctx);  // oltp_command.cpp
}
namespace sim {
void add_produce_command(CLI::App& app, CliContext& ctx);  // produce_command.cpp
void add_bench_commands(CLI::App& app, CliContext& ctx);   // bench_command.cpp
// The `bench` command group, created on first use so that several stages can add benchmarks to it.
CLI::App* bench_group(CLI::App& app);
}  // namespace sim
namespace lake {
void add_sink_command(CLI::App& app, CliContext& ctx);  // sink_command.cpp
}
namespace ingest {
void add_sync_commands(CLI::App& app, CliContext& ctx);  // sync_command.cpp
}
namespace transform {
void add_transform_commands(CLI::App& app, CliContext& ctx);  // transform_command.cpp
}
namespace serve {
void add_serve_commands(CLI::App& app, CliContext& ctx);  // serve_command.cpp
}
namespace query {
void add_query_command(CLI::App& app, CliContext& ctx);  // query_command.cpp
}
namespace stream {
void add_dev_commands(CLI::App& app, CliContext& ctx);  // dev_command.cpp
}
}  // namespace hrflow
