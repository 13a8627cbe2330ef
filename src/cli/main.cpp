// hrflow's command line: a thin layer that reads the configuration and hands over to the stages.
#include <librdkafka/rdkafka.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>

#include "cli/commands.h"
#include "common/duckdb.h"

namespace {

constexpr const char* kVersion = "0.1.0";

}  // namespace

int main(int argc, char** argv) {
  using namespace hrflow;
  CliContext ctx;
  CLI::App app{
      "hrflow turns a stream of wearable heart-rate readings into a tested warehouse and a research "
      "dashboard.\nStages in data-flow order: oltp -> produce -> sink -> sync -> build -> serve/query.\n"
      "Start with `hrflow demo`, which runs them all on a small simulated fleet.",
      "hrflow"};
  app.set_version_flag("--version",
                       fmt::format("hrflow {} (DuckDB {}, librdkafka {})", kVersion, db::duckdb_version(),
                                   rd_kafka_version_str()));
  app.add_option("-c,--config", ctx.config_path, "Configuration file (default: ./hrflow.yml if present)")
      ->each([&ctx](const std::string&) { ctx.config_explicit = true; });
  std::string log_level;
  app.add_option("--log-level", log_level, "Override log_level: trace, debug, info, warn, error");
  app.require_subcommand(1);
  app.fallthrough();

  add_demo_command(app, ctx);
  add_config_command(app, ctx);
  oltp::add_oltp_commands(app, ctx);
  sim::add_produce_command(app, ctx);
  lake::add_sink_command(app, ctx);
  ingest::add_sync_commands(app, ctx);
  transform::add_transform_commands(app, ctx);
  serve::add_serve_commands(app, ctx);
  query::add_query_command(app, ctx);
  add_import_commands(app, ctx);
  stream::add_dev_commands(app, ctx);
  sim::add_bench_commands(app, ctx);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }

  auto config = Config::load(ctx.config_path, ctx.config_explicit);
  if (!config.ok()) return report_error(config.error());
  ctx.config = std::move(config).value();
  if (!log_level.empty()) {
    if (auto st = ctx.config.set("log_level", log_level); !st.ok()) return report_error(st.error());
  }
  spdlog::set_default_logger(spdlog::stderr_color_mt("hrflow"));
  spdlog::set_level(spdlog::level::from_str(ctx.config.get_string("log_level")));
  spdlog::set_pattern("%^%l%$ %v");

  if (!ctx.action) {
    std::fputs(app.help().c_str(), stderr);
    return kExitUsage;
  }
  try {
    return ctx.action();
  } catch (const std::exception& e) {
    return report_error(make_error(ErrorKind::kInternal, "{}", e.what()));
  }
}
