// `hrflow demo`: run every stage once on a small simulated fleet, with zero configuration, then serve
// the web UI. Each step is the same hrflow command a user would type, run as a child process so its
// progress shows as it would on its own. Finished steps are recorded under {state_dir}/demo, so running
// the demo again skips what is already done (and a failed step can simply be retried).
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "common/civil_time.h"
#include "common/state.h"
#include "common/subprocess.h"

namespace hrflow {

namespace {

struct DemoOptions {
  int users = 300;
  int days = 14;
  bool no_serve = false;
};

struct Step {
  std::string name;   // recorded once done
  std::string title;  // what the user reads
  std::vector<std::string> args;
};

std::string self_exe() {
  char buf[4096];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "hrflow";
}

// The demo's period: the last `days` days up to the current hour, so live production can follow on.
struct Period {
  int64_t from, to;
};

Period demo_period(const std::filesystem::path& dir, int days) {
  auto file = dir / "period";
  std::ifstream in(file);
  Period p{};
  if (in >> p.from >> p.to) return p;  // keep the period of the first run
  int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  p.to = now - now % 3600;
  p.from = p.to - static_cast<int64_t>(days) * 86400;
  std::ofstream(file) << p.from << " " << p.to << "\n";
  return p;
}

int print_summary(const Config& config) {
  auto warehouse = open_warehouse(config);
  if (!warehouse.ok()) return report_error(warehouse.error());
  auto conn = db::Connection::connect(*warehouse);
  if (!conn.ok()) return report_error(conn.error());
  auto tables = conn->query(
      "SELECT schema_name, table_name, estimated_size FROM duckdb_tables() "
      "WHERE schema_name IN ('raw', 'staging', 'serving') AND NOT starts_with(table_name, '_') "
      "ORDER BY CASE schema_name WHEN 'raw' THEN 0 WHEN 'staging' THEN 1 ELSE 2 END, table_name");
  if (!tables.ok()) return report_error(tables.error());
  std::printf("\nwarehouse %s\n", StateLayout::from(config).warehouse_path.c_str());
  for (uint64_t i = 0; i < tables->row_count(); ++i) {
    std::string name = *tables->get_string(i, 0) + "." + *tables->get_string(i, 1);
    auto rows = conn->scalar("SELECT count(*) FROM " + db::quote_identifier(*tables->get_string(i, 0)) + "." +
                             db::quote_identifier(*tables->get_string(i, 1)));
    std::printf("  %-34s %12s rows\n", name.c_str(), rows.ok() && *rows ? rows->value().c_str() : "?");
  }
  // The data tests of the last build, from the results `hrflow build` leaves for tools.
  auto results_path = StateLayout::from(config).state_dir / "target" / "run_results.json";
  std::ifstream in(results_path);
  auto results = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (results.is_object() && results["results"].is_array()) {
    std::map<std::string, int> tests;
    for (const auto& r : results["results"]) {
      if (r.value("unique_id", "").rfind("test.", 0) == 0) ++tests[r.value("status", "?")];
    }
    std::printf("data tests: %d passed, %d warned, %d failed, %d errored, %d skipped (%s)\n", tests["pass"],
                tests["warn"], tests["fail"], tests["error"], tests["skipped"], results_path.c_str());
  }
  return kExitOk;
}

int run_demo(const Config& config, const DemoOptions& o) {
  auto layout = StateLayout::from(config);
  if (auto st = layout.ensure_dirs(); !st.ok()) return report_error(st.error());
  auto dir = layout.state_dir / "demo";
  std::filesystem::create_directories(dir);
  Period period = demo_period(dir, o.days);
  std::string from = format_utc(period.from), to = format_utc(period.to);
  std::string before = format_utc(period.from - 86400);
  std::printf("hrflow demo: %d users, readings from %s to %s UTC, state under %s\n", o.users, from.c_str(),
              to.c_str(), layout.state_dir.c_str());

  std::set<std::string> done;
  {
    std::ifstream in(dir / "steps-done");
    for (std::string line; std::getline(in, line);) done.insert(line);
  }
  const std::vector<Step> steps = {
      {"oltp-up", "start the operational PostgreSQL", {"oltp", "up"}},
      {"oltp-generate", "generate users and activities",
       {"oltp", "generate", "--users", std::to_string(o.users), "--as-of", before}},
      // The CDC slot must exist before the history is written, so that every change is captured.
      {"sync-snapshot", "snapshot the operational tables (CDC)", {"sync", "oltp"}},
      {"oltp-mutate", "apply a history of changes over the period", {"oltp", "mutate", "--from", from, "--to", to}},
      {"produce", "simulate the fleet's readings into the stream", {"produce", "--from", from, "--to", to}},
      {"sink", "write the stream into the lake", {"sink", "--once"}},
      {"sync", "load the lake and the changes into the warehouse", {"sync"}},
      {"build", "build and test the warehouse", {"build"}},
  };
  std::string exe = self_exe();
  std::vector<std::string> base = {exe};
  if (!config.source_path().empty()) base.insert(base.end(), {"--config", config.source_path()});
  for (size_t i = 0; i < steps.size(); ++i) {
    const Step& step = steps[i];
    bool always = step.name == "oltp-up";  // the server may have been stopped since
    if (done.count(step.name) && !always) {
      std::printf("\n[%zu/%zu] %s: done in an earlier run\n", i + 1, steps.size(), step.title.c_str());
      continue;
    }
    std::string shown = "hrflow";
    for (const auto& a : step.args) shown += " " + (a.find(' ') == std::string::npos ? a : "'" + a + "'");
    std::printf("\n[%zu/%zu] %s: %s\n", i + 1, steps.size(), step.title.c_str(), shown.c_str());
    std::fflush(stdout);
    std::vector<std::string> argv = base;
    argv.insert(argv.end(), step.args.begin(), step.args.end());
    auto rc = run_attached(argv);
    if (!rc.ok()) return report_error(rc.error());
    if (*rc != 0) {
      std::fprintf(stderr, "\nhrflow demo: step '%s' failed (exit %d); fix the cause above and run `hrflow demo` "
                           "again: finished steps are skipped\n", step.title.c_str(), *rc);
      return *rc;
    }
    std::ofstream(dir / "steps-done", std::ios::app) << step.name << "\n";
  }
  if (int rc = print_summary(config); rc != kExitOk) return rc;
  if (o.no_serve) return kExitOk;
  std::printf("\nserving the web UI (Ctrl-C stops it)\n");
  std::fflush(stdout);
  std::vector<std::string> argv = base;
  argv.push_back("serve");
  auto rc = run_attached(argv);
  if (!rc.ok()) return report_error(rc.error());
  return *rc;
}

}  // namespace

void add_demo_command(CLI::App& app, CliContext& ctx) {
  auto* cmd = app.add_subcommand(
      "demo",
      "Run the whole pipeline once on a small simulated fleet under {state_dir} (zero configuration), print what\n"
      "the warehouse holds, then serve the web UI. Re-running skips the steps already done.");
  auto o = std::make_shared<DemoOptions>();
  cmd->add_option("--users", o->users, "Users in the simulated fleet")->capture_default_str()->check(CLI::Range(1, 100000));
  cmd->add_option("--days", o->days, "Days of readings, ending at the current hour")->capture_default_str()->check(CLI::Range(1, 3650));
  cmd->add_flag("--no-serve", o->no_serve, "Exit after the one-shot pipeline run instead of serving the web UI");
  on_run(cmd, ctx, [&ctx, o] { return run_demo(ctx.config, *o); });
}

}  // namespace hrflow
