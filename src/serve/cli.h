// Registration of `hrflow serve` and `hrflow status` in the CLI (src/cli/main.cpp).
#pragma once

#include "common/cli.h"

namespace hrflow::serve {
void add_serve_commands(CLI::App& app, CliContext& ctx);
}  // namespace hrflow::serve
