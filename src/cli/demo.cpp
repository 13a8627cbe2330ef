// `hrflow demo`: run every built stage once on a small simulated fleet, with zero configuration.
#include <spdlog/spdlog.h>

#include <cstdio>

#include "cli/commands.h"
#include "common/state.h"

namespace hrflow {

namespace {
int run_demo(const Config& config, bool no_serve) {
  (void)no_serve;  // the demo ends by serving the web UI once `hrflow serve` exists
  auto layout = StateLayout::from(config);
  std::printf("hrflow demo: state under %s\n", layout.state_dir.c_str());
  auto warehouse = open_warehouse(config);
  if (!warehouse.ok()) return report_error(warehouse.error());
  auto conn = db::Connection::connect(*warehouse);
  if (!conn.ok()) return report_error(conn.error());
  std::printf("  warehouse  %s  schemas:", layout.warehouse_path.c_str());
  for (const char* schema : kWarehouseSchemas) {
    auto found = conn->scalar(fmt::format(
        "SELECT count(*) FROM information_schema.schemata WHERE catalog_name = current_database() AND "
        "schema_name = '{}'",
        schema));
    if (!found.ok()) return report_error(found.error());
    if (**found == "1") std::printf(" %s", schema);
  }
  std::printf("\n");
  return kExitOk;
}
}  // namespace

void add_demo_command(CLI::App& app, CliContext& ctx) {
  auto* cmd = app.add_subcommand(
      "demo", "Run the whole pipeline once on a small simulated fleet under .hrflow/ (zero configuration)");
  auto no_serve = std::make_shared<bool>(false);
  cmd->add_flag("--no-serve", *no_serve, "Exit after the one-shot pipeline run instead of serving the web UI");
  on_run(cmd, ctx, [&ctx, no_serve] { return run_demo(ctx.config, *no_serve); });
}

}  // namespace hrflow
