// `hrflow sync`: the ingestion commands (lake files and PostgreSQL CDC into the warehouse raw schema).
#pragma once

#include "common/cli.h"

namespace hrflow::ingest {
void add_sync_commands(CLI::App& app, CliContext& ctx);
}
