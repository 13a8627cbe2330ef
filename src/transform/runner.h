// Runs a loaded Project against the warehouse: node selection (dbt syntax), materializations,
// data tests, seeds, source freshness, dbt-like output and a run_results.json file.
//
// Lifecycle: construct with a Project and an open warehouse Connection, call one of run()/freshness()
// per command. Nodes run one at a time in dependency order (DuckDB parallelises inside each query);
// a failing node or error-severity test skips everything downstream of it. Not thread-safe.
#pragma once

#include <cstdio>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/duckdb.h"
#include "common/status.h"
#include "common/stop.h"
#include "transform/project.h"
#include "transform/selector.h"

namespace hrflow::transform {

enum class Command { kBuild, kRun, kTest, kSeed, kCompile, kList };

struct RunOptions {
  Command command = Command::kBuild;
  std::vector<std::string> select, exclude;  // each entry is one space-separated selector group
  bool full_refresh = false;
  bool fail_fast = false;
  bool store_failures = false;
  std::FILE* out = stdout;
  StopToken stop;  // asked before each node; the nodes after a stop are reported as skipped
};

struct NodeResult {
  std::string unique_id;
  std::string status;  // success | error | pass | fail | warn | skipped
  double seconds = 0;
  std::string message;
  int64_t failures = 0;       // tests: failing rows
  int64_t rows_affected = -1; // models/seeds when known
  bool changed = true;        // models: false when the run left the relation exactly as it was
  std::string compiled_path;
};

class Runner {
 public:
  // Answers the project's run_query() from `conn` while the Runner lives.
  Runner(Project& project, db::Connection& conn, std::filesystem::path target_dir);
  ~Runner();

  // Execute a command; returns the per-node results (also written to target/run_results.json).
  // The Status is an error only when nothing could run (bad selector, unwritable target dir).
  Result<std::vector<NodeResult>> run(const RunOptions& options);
  // `hrflow source freshness`: one result per source table with freshness configured.
  Result<std::vector<NodeResult>> freshness(const RunOptions& options);

 private:
  NodeResult execute(const Node& node, const RunOptions& options);
  Status materialize(const Node& node, const std::string& sql, const RunOptions& options, NodeResult& r);
  Status load_seed(const Node& node, NodeResult& r);
  Status run_test(const Node& node, const std::string& sql, const RunOptions& options, NodeResult& r);
  Result<bool> relation_exists(const std::string& schema, const std::string& name);
  Result<std::string> relation_kind(const std::string& schema, const std::string& name);  // "table", "view" or ""
  std::string write_compiled(const Node& node, const std::string& sql);
  Status write_results(const std::vector<NodeResult>& results, const std::string& command, double elapsed, const char* file);

  Project& project_;
  db::Connection& conn_;
  std::filesystem::path target_dir_;
};

// The project graph as data for the orchestrator and the web UI: nodes (type, path, config,
// description, columns, meta, depends_on), edges and, if present, the last results from
// target/run_results.json.
nlohmann::json graph_json(const Project& project, const std::filesystem::path& target_dir);

}  // namespace hrflow::transform
