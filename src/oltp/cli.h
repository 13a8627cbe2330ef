// `hrflow oltp ...`: the operational source's commands (up, down, status, generate, mutate, export).
#pragma once

#include "common/cli.h"

namespace hrflow::oltp {
void add_oltp_commands(CLI::App& app, CliContext& ctx);
}
