// `hrflow config`: the effective configuration (secrets masked) or the generated reference.
#include <cstdio>

#include "cli/commands.h"

namespace hrflow {

void add_config_command(CLI::App& app, CliContext& ctx) {
  auto* cmd = app.add_subcommand(
      "config", "Print the effective configuration (secrets masked), or the reference of every setting");
  auto reference = std::make_shared<bool>(false);
  cmd->add_flag("--reference", *reference, "Print the reference of every setting as Markdown (docs/configuration.md)");
  on_run(cmd, ctx, [&ctx, reference] {
    if (*reference) {
      std::fputs(Config::reference_markdown().c_str(), stdout);
    } else {
      std::printf("# effective configuration (%s)\n", ctx.config_path.c_str());
      std::fputs(ctx.config.to_display_yaml().c_str(), stdout);
    }
    return kExitOk;
  });
}

}  // namespace hrflow
