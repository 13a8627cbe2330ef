// Commands that belong to no single stage, and the stages' registration functions.
#pragma once

#include "common/cli.h"

namespace hrflow {
void add_demo_command(CLI::App& app, CliContext& ctx);
void add_config_command(CLI::App& app, CliContext& ctx);
void add_import_commands(CLI::App& app, CliContext& ctx);  // import ..., export fhir
namespace lake {
void add_sink_command(CLI::App& app, CliContext& ctx);
}
namespace stream {
void add_dev_commands(CLI::App& app, CliContext& ctx);
}
}  // namespace hrflow
