#include "cli/commands.h"
#include "cli/serve_client.h"

#include <cstdio>
#include <memory>

#include "common/state.h"
#include "transform/project.h"
#include "transform/runner.h"
#include "serve/outside_runs.h"

namespace hrflow::transform {

namespace fs = std::filesystem;

namespace {

struct Opts {
  std::string project_dir;
  std::vector<std::string> select, exclude;
  bool full_refresh = false, fail_fast = false, store_failures = false;
  std::string vars;
  std::string output = "text";
};

const char* kSelectHelp =
    "Nodes to include (dbt syntax): names, +model (and its parents), model+ (and its children), 2+model "
    "(two levels), tag:x, path:models/staging, source:raw[.table], config.materialized:x; separate with "
    "spaces for a union, commas for an intersection";

void add_common(CLI::App* cmd, Opts& o, bool selection) {
  cmd->add_option("--project-dir", o.project_dir,
                  "Project folder with dbt_project.yml or hrflow_project.yml (default: transform.project_dir, "
                  "else the built-in heart-rate warehouse)");
  cmd->add_option("--vars", o.vars, "Values for var(), as YAML: --vars '{start_date: 2024-01-01, limit: 10}'");
  if (selection) {
    cmd->add_option("-s,--select,-m,--models", o.select, kSelectHelp);
    cmd->add_option("--exclude", o.exclude, "Nodes to leave out, same syntax as --select");
  }
}

Result<std::unique_ptr<Project>> open_project(const CliContext& ctx, const Opts& o) {
  ProjectOptions po;
  HRFLOW_ASSIGN_OR_RETURN(po.dir, resolve_project_dir(ctx.config, o.project_dir));
  HRFLOW_ASSIGN_OR_RETURN(po.cli_vars, parse_vars(o.vars));
  return Project::load(po);
}

fs::path target_dir(const CliContext& ctx) { return StateLayout::from(ctx.config).state_dir / "target"; }

// `hrflow build` while `hrflow serve` owns the warehouse: serve builds the selected models and seeds
// (each with its data tests) and this command waits for the runs and reports them.
int handoff_build(const serve::ServeEndpoint& serve, const Project& project, const Opts& o) {
  if (o.full_refresh || o.fail_fast || o.store_failures || !o.vars.empty()) {
    std::fprintf(stderr, "hrflow build: hrflow serve (pid %d) owns the warehouse and builds for you, but only "
                         "plain selections; stop it for --full-refresh, --fail-fast, --store-failures or --vars\n",
                 serve.pid);
    return kExitFailure;
  }
  auto chosen = select_nodes(project, o.select, o.exclude, false);
  if (!chosen.ok()) return report_error(chosen.error());
  std::vector<std::string> assets;
  for (const auto& id : project.topological_order()) {
    const Node* n = project.find(id);
    if (!chosen->count(id) || (n->type != NodeType::kModel && n->type != NodeType::kSeed)) continue;
    if (n->materialized() == "ephemeral") continue;
    assets.push_back(n->schema() + "." + n->alias());
  }
  if (assets.empty()) {
    std::printf("nothing selected to build\n");
    return kExitOk;
  }
  return serve::handoff_materialize(serve, assets, false);
}

// What was built goes into serve's run history and automation state, so a serve started later does
// not rebuild it (only for the project serve runs, i.e. without --project-dir).
void record_for_serve(const Config& config, const Project& project, const std::vector<NodeResult>& results, Command command) {
  std::map<std::string, serve::OutsideRun> runs;  // node id -> run
  std::vector<std::string> order;
  for (const auto& r : results) {
    const Node* n = project.find(r.unique_id);
    if (!n || (n->type != NodeType::kModel && n->type != NodeType::kSeed) || n->materialized() == "ephemeral") continue;
    if (r.status != "success" && r.status != "error") continue;  // skipped: not run
    serve::OutsideRun run{n->schema() + "." + n->alias(),
                          r.status == "success" ? serve::RunOutcome::kSucceeded : serve::RunOutcome::kFailed, r.changed,
                          std::max<int64_t>(r.rows_affected, 0), r.status == "success" ? "" : r.message};
    runs[r.unique_id] = run;
    order.push_back(r.unique_id);
  }
  for (const auto& r : results) {  // a failing test marks what it tests, as serve does
    const Node* t = project.find(r.unique_id);
    if (!t || t->type != NodeType::kTest || (r.status != "fail" && r.status != "error")) continue;
    for (const auto& d : t->depends_on) {
      auto it = runs.find(d);
      if (it == runs.end() || it->second.outcome != serve::RunOutcome::kSucceeded) continue;
      it->second.outcome = serve::RunOutcome::kTestsFailed;
      it->second.error = "data test failed: " + r.unique_id;
    }
  }
  std::vector<serve::OutsideRun> list;
  for (const auto& id : order) list.push_back(runs[id]);
  const char* name = command == Command::kBuild ? "hrflow build" : command == Command::kRun ? "hrflow run" : "hrflow seed";
  if (auto st = serve::record_outside_runs(config, name, list); !st.ok()) {
    std::fprintf(stderr, "%s: warning: not recorded in serve's run history: %s\n", name, st.error().message.c_str());
  }
}

int run_command(CliContext& ctx, const Opts& o, Command command) {
  auto project = open_project(ctx, o);
  if (!project.ok()) return report_error(project.error());
  if (command == Command::kBuild) {
    if (auto serve = serve::find_running_serve(ctx.config)) return handoff_build(*serve, **project, o);
  }
  auto database = open_warehouse(ctx.config);
  if (!database.ok()) return report_error(database.error());
  auto conn = db::Connection::connect(*database);
  if (!conn.ok()) return report_error(conn.error());
  Runner runner(**project, *conn, target_dir(ctx));
  RunOptions ro;
  ro.command = command;
  ro.select = o.select;
  ro.exclude = o.exclude;
  ro.full_refresh = o.full_refresh;
  ro.fail_fast = o.fail_fast;
  ro.store_failures = o.store_failures;
  auto results = runner.run(ro);
  if (!results.ok()) return report_error(results.error());
  if (o.project_dir.empty() && command != Command::kTest && command != Command::kCompile) {
    record_for_serve(ctx.config, **project, *results, command);
  }
  for (const auto& r : *results) {
    if (r.status == "error" || r.status == "fail") {
      if (command == Command::kCompile) std::fprintf(stderr, "%s\n", r.message.c_str());
      return kExitFailure;
    }
  }
  return kExitOk;
}

}  // namespace

void add_transform_commands(CLI::App& app, CliContext& ctx) {
  struct Spec {
    const char* name;
    const char* help;
    Command command;
  };
  const Spec specs[] = {
      {"build",
       "Build and test the warehouse (dbt-style): seeds, models and their data tests in dependency order. A "
       "failing test (severity error) skips everything downstream of it. Results: {state_dir}/target/run_results.json",
       Command::kBuild},
      {"run", "Build models only (views, tables, incremental, ephemeral), in dependency order", Command::kRun},
      {"test", "Run data tests only; each test is a query whose rows are the failures", Command::kTest},
      {"seed", "Load the CSV files under seeds/ into tables", Command::kSeed},
      {"compile", "Print the SQL each selected model and test becomes (also written under {state_dir}/target/compiled)",
       Command::kCompile},
  };
  for (const auto& spec : specs) {
    auto* cmd = app.add_subcommand(spec.name, spec.help);
    auto o = std::make_shared<Opts>();
    add_common(cmd, *o, true);
    if (spec.command == Command::kBuild || spec.command == Command::kRun) {
      cmd->add_flag("--full-refresh", o->full_refresh, "Rebuild incremental models (and seeds) from scratch");
    }
    if (spec.command != Command::kCompile) {
      cmd->add_flag("-x,--fail-fast", o->fail_fast, "Stop at the first failure; the rest is reported as skipped");
    }
    if (spec.command == Command::kBuild || spec.command == Command::kTest) {
      cmd->add_flag("--store-failures", o->store_failures,
                    "Keep each failing test's rows in a table dbt_test__audit.<test name>");
    }
    Command command = spec.command;
    on_run(cmd, ctx, [&ctx, o, command] { return run_command(ctx, *o, command); });
  }

  auto* ls = app.add_subcommand("ls", "List the project's nodes (models, seeds, tests, sources); --output json gives the graph as data");
  ls->alias("list");
  auto lo = std::make_shared<Opts>();
  add_common(ls, *lo, true);
  ls->add_option("--output", lo->output, "text (one node per line) or json (nodes, edges, columns, config, meta, last results)")
      ->check(CLI::IsMember({"text", "json"}));
  on_run(ls, ctx, [&ctx, lo] {
    auto project = open_project(ctx, *lo);
    if (!project.ok()) return report_error(project.error());
    auto chosen = select_nodes(**project, lo->select, lo->exclude, true);
    if (!chosen.ok()) return report_error(chosen.error());
    if (lo->output == "json") {
      auto j = graph_json(**project, target_dir(ctx));
      for (auto it = j["nodes"].begin(); it != j["nodes"].end();) {
        if (!chosen->count(it.key())) it = j["nodes"].erase(it); else ++it;
      }
      std::printf("%s\n", j.dump(2).c_str());
      return kExitOk;
    }
    for (const auto& [id, n] : (*project)->nodes()) {
      if (!chosen->count(id)) continue;
      std::string rel = n.type == NodeType::kTest ? "" : n.schema() + "." + n.alias();
      std::printf("%-7s %-50s %-12s %s\n", to_string(n.type).c_str(),
                  n.type == NodeType::kSource ? (n.source_name + "." + n.name).c_str() : n.name.c_str(),
                  n.materialized().c_str(), rel.c_str());
    }
    return kExitOk;
  });

  auto* source = app.add_subcommand("source", "Sources declared in the project's YAML");
  source->require_subcommand(1);
  auto* fresh = source->add_subcommand(
      "freshness", "Check each source's newest loaded_at_field against its warn_after/error_after; results in "
                   "{state_dir}/target/sources.json");
  auto fo = std::make_shared<Opts>();
  add_common(fresh, *fo, true);
  on_run(fresh, ctx, [&ctx, fo] {
    auto project = open_project(ctx, *fo);
    if (!project.ok()) return report_error(project.error());
    auto database = open_warehouse(ctx.config);
    if (!database.ok()) return report_error(database.error());
    auto conn = db::Connection::connect(*database);
    if (!conn.ok()) return report_error(conn.error());
    Runner runner(**project, *conn, target_dir(ctx));
    RunOptions ro;
    ro.select = fo->select;
    ro.exclude = fo->exclude;
    auto results = runner.freshness(ro);
    if (!results.ok()) return report_error(results.error());
    for (const auto& r : *results) {
      if (r.status == "error") return kExitFailure;
    }
    return kExitOk;
  });

  auto* init = app.add_subcommand(
      "init",
      "Write the built-in heart-rate warehouse project (a dbt project: dbt_project.yml, models, seeds, tests,\n"
      "macros and the semantic layer) into DIR, to read or change it. Then build with it:\n"
      "  hrflow init my-warehouse\n"
      "  hrflow build --project-dir my-warehouse      # or set transform.project_dir: my-warehouse in hrflow.yml");
  auto init_dir = std::make_shared<std::string>();
  auto force = std::make_shared<bool>(false);
  init->add_option("dir", *init_dir, "Folder to write the project into (created if missing)")->required();
  init->add_flag("--force", *force, "Overwrite the project's files if DIR already has them");
  on_run(init, ctx, [init_dir, force] {
    auto n = write_builtin_project(*init_dir, *force);
    if (!n.ok()) return report_error(n.error());
    std::printf("wrote the warehouse project (%zu files) to %s\nuse it with `hrflow build --project-dir %s`, or set "
                "transform.project_dir: %s in hrflow.yml\n",
                *n, init_dir->c_str(), init_dir->c_str(), init_dir->c_str());
    return kExitOk;
  });
}

}  // namespace hrflow::transform
