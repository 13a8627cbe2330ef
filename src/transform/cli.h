// The transformation commands of the hrflow CLI: build, run, test, seed, ls, compile, source freshness.
#pragma once

#include <filesystem>

#include "common/cli.h"

namespace hrflow::transform {

void add_transform_commands(CLI::App& app, CliContext& ctx);
// The project folder: --project-dir, else transform.project_dir, else the built-in warehouse project.
std::filesystem::path resolve_project_dir(const Config& config, const std::string& flag);

}  // namespace hrflow::transform
