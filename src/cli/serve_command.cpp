// `hrflow serve` and `hrflow status`: the command line of serve/service.h.
#include <cstdio>

#include "cli/commands.h"
#include "cli/serve_client.h"
#include "common/state.h"
#include "serve/automation.h"
#include "serve/history.h"
#include "serve/pipeline.h"
#include "serve/service.h"
#include "transform/project.h"

namespace hrflow::serve {

namespace {

std::string ago(int64_t now, int64_t t) { return t ? format_duration_ms(now - t) + " ago" : "never"; }

void print_table(const nlohmann::json& assets) {
  int64_t now = SystemClock::instance().now_ms();
  std::printf("%-8s %-32s %-13s %-9s %-12s %s\n", "group", "asset", "status", "lag", "last built", "why");
  for (const auto& a : assets) {
    std::string lag = a["lag_ms"].get<int64_t>() ? format_duration_ms(a["lag_ms"]) : "-";
    std::printf("%-8s %-32s %-13s %-9s %-12s %s\n", a["group"].get<std::string>().c_str(),
                a["key"].get<std::string>().c_str(), a["state"].get<std::string>().c_str(), lag.c_str(),
                ago(now, a["last_success_ms"]).c_str(), a["why"].get<std::string>().c_str());
  }
}

int run_serve(const Config& config, const std::string& host, int port) {
  ServeOptions options;
  options.host = host.empty() ? config.get_string("serve.host") : host;
  options.port = port > 0 ? port : static_cast<int>(config.get_int("serve.port"));
  options.token = config.get_string("serve.token");
  install_stop_handlers();
  options.stop = StopToken::process();
  auto service = Service::start(config, options);
  if (!service.ok()) return report_error(service.error());
  std::string shown = (*service)->url();
  if (!options.token.empty()) shown += "/?token=<serve.token>";
  std::printf("hrflow serve: web UI and API at %s (Ctrl-C to stop)\n", shown.c_str());
  if (auto sql = (*service)->sql_url(); !sql.empty()) {
    std::printf("hrflow serve: SQL (PostgreSQL protocol: psql, JDBC, BI tools) at %s\n", sql.c_str());
  }
  std::fflush(stdout);
  (*service)->run_until_stopped();
  std::printf("hrflow serve: stopped\n");
  return kExitOk;
}


int run_status(const Config& config, bool as_json) {
  nlohmann::json assets;
  if (auto serve = find_running_serve(config)) {
    auto r = call_serve(*serve, "/api/assets");
    if (!r.ok()) return report_error(r.error());
    assets = *r;
  } else {
    // No serve running: the state it saved last (without opening the warehouse).
    auto dir = transform::resolve_project_dir(config, "");
    if (!dir.ok()) return report_error(dir.error());
    auto graph = read_project_graph(*dir);
    if (!graph.ok()) return report_error(graph.error());
    auto engine = AutomationEngine::create(std::move(graph).value(), SystemClock::instance());
    if (!engine.ok()) return report_error(engine.error());
    auto layout = StateLayout::from(config);
    auto history = RunHistory::open(layout.runs_dir, SystemClock::instance().now_ms(),
                                    config.get_duration_ms("serve.history_retention"));
    if (!history.ok()) return report_error(history.error());
    if (auto snap = (*history)->load_automation()) engine->restore(*snap);
    assets = nlohmann::json::array();
    for (const auto& a : engine->assets()) {
      auto st = engine->status(a.key);
      assets.push_back({{"key", a.key}, {"group", group_name(a.group)}, {"state", state_name(st.state)},
                        {"why", st.why}, {"lag_ms", st.lag_ms}, {"last_success_ms", st.last_success_ms}});
    }
    if (!as_json) std::printf("hrflow serve is not running; showing the state it saved last\n");
  }
  if (as_json) {
    std::printf("%s\n", assets.dump(2).c_str());
  } else {
    print_table(assets);
  }
  return kExitOk;
}

}  // namespace

void add_serve_commands(CLI::App& app, CliContext& ctx) {
  auto* serve = app.add_subcommand(
      "serve",
      "Run the pipeline continuously with a web UI, automation and run history.\n"
      "Owns the warehouse: keeps every asset fresh by its automation policy (eager, cron, freshness),\n"
      "retries failures, records every run and decision under {state_dir}/runs. While it runs,\n"
      "`hrflow sync` and `hrflow build` hand their work to it. Stop with Ctrl-C.\n"
      "SQL: a PostgreSQL-protocol endpoint on serve.sql.port (5433, read-only), e.g.\n"
      "  psql \"postgresql://researcher@127.0.0.1:5433/warehouse\" -c '\\dt serving.*'\n"
      "  hrflow query --sql \"SELECT max(event_datetime) FROM serving.fct_heart_rates\"");
  auto host = std::make_shared<std::string>();
  auto port = std::make_shared<int>(0);
  serve->add_option("--host", *host, "Address to listen on (default serve.host, 127.0.0.1); beyond loopback "
                                     "HRFLOW_SERVE_TOKEN is required");
  serve->add_option("--port", *port, "Port (default serve.port, 8080)")->check(CLI::Range(1, 65535));
  on_run(serve, ctx, [&ctx, host, port] { return run_serve(ctx.config, *host, *port); });

  auto* status = app.add_subcommand("status", "Show the freshness of every asset (from hrflow serve, or its "
                                              "last saved state)");
  auto as_json = std::make_shared<bool>(false);
  status->add_flag("--json", *as_json, "Print JSON instead of a table");
  on_run(status, ctx, [&ctx, as_json] { return run_status(ctx.config, *as_json); });
}

}  // namespace hrflow::serve
