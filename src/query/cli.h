// `hrflow query`: the semantic layer and read-only SQL from the command line.
#pragma once

#include "common/cli.h"
#include "common/duckdb.h"

namespace hrflow::query {

void add_query_command(CLI::App& app, CliContext& ctx);

// Open the configured warehouse read-only, for queries; the error says what to do when the file is
// missing or another process holds it.
Result<db::Database> open_warehouse_read_only(const Config& config);

}  // namespace hrflow::query
