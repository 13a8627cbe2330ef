// A dbt-style project loaded from disk, and its graph: models, seeds, data tests and sources with
// their configuration, documentation, `meta` and dependency edges.
//
// Lifecycle: Project::load(dir, vars) reads dbt_project.yml (or hrflow_project.yml), models/ (SQL +
// YAML), seeds/ (CSV), tests/ (singular SQL), tests/generic/ and macros/, renders every model once to
// find its ref()/source() edges and config(), and checks the graph (unknown refs, cycles). A loaded
// Project is then immutable except for its template Environment, which the Runner uses to compile
// SQL (one thread at a time). Errors name the file and line.
#pragma once

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/status.h"
#include "transform/template.h"

namespace hrflow::transform {

enum class NodeType { kModel, kSeed, kTest, kSource };
std::string to_string(NodeType t);

struct Column {
  std::string name, description, data_type;
  Value meta;
};

struct Freshness {
  int64_t warn_after_s = 0, error_after_s = 0;  // 0 = not set
  std::string filter;
};

struct Node {
  std::string unique_id;  // model.<project>.<name>, seed..., test..., source.<project>.<source>.<table>
  std::string name;
  NodeType type = NodeType::kModel;
  std::string path;            // file relative to the project dir (the YAML file for tests from YAML)
  int line = 0;                // line in `path` where the node is defined (YAML tests, sources)
  std::vector<std::string> fqn;  // project, folders..., name
  std::string raw_sql;
  std::shared_ptr<Template> tmpl;
  std::map<std::string, Value> config;  // merged: dbt_project.yml < YAML config < config() in the file
  std::string description;
  std::vector<Column> columns;
  Value meta = Value::of_dict({});
  std::vector<std::string> depends_on;  // unique ids, in order of first use

  // Tests: the generic test (e.g. "not_null", "dbt_expectations.expect_x") or empty for singular tests.
  std::string test_name;
  std::string attached_to;  // unique id of the model/seed/source the test belongs to
  std::string column_name;
  Dict test_kwargs;

  // Sources and relations.
  std::string source_name, identifier, loaded_at_field;
  Freshness freshness;

  // Config accessors with dbt's defaults.
  std::string cfg_string(const std::string& key, const std::string& dflt = "") const;
  bool cfg_bool(const std::string& key, bool dflt) const;
  std::vector<std::string> cfg_list(const std::string& key) const;
  std::string materialized() const;  // view | table | incremental | ephemeral | seed | test
  std::string schema() const;        // the configured schema, else "main"
  std::string alias() const;         // the relation name
  std::string relation() const;      // "schema"."alias"
  std::vector<std::string> tags() const { return cfg_list("tags"); }
};

// The project folder: `flag` (--project-dir), else transform.project_dir, else the built-in warehouse
// project (embedded in the binary, written out to {state_dir}/builtin-project).
Result<std::filesystem::path> resolve_project_dir(const Config& config, const std::string& flag);
// Write the built-in warehouse project into `dir` (`hrflow init`); refuses to overwrite existing files
// unless `overwrite`. Returns the number of files.
Result<size_t> write_builtin_project(const std::filesystem::path& dir, bool overwrite);

struct ProjectOptions {
  std::filesystem::path dir;
  Dict cli_vars;  // --vars, highest precedence
};

class Project {
 public:
  static Result<std::unique_ptr<Project>> load(const ProjectOptions& options);

  const std::string& name() const { return name_; }
  const std::filesystem::path& dir() const { return dir_; }
  const std::map<std::string, Node>& nodes() const { return nodes_; }
  const Node* find(const std::string& unique_id) const;
  // A model or seed by name (what ref() resolves).
  const Node* find_by_name(const std::string& name) const;
  // Children of a node (unique ids that depend on it).
  const std::vector<std::string>& children(const std::string& unique_id) const;
  // Every non-source node in dependency order (stable: ties broken by unique id).
  const std::vector<std::string>& topological_order() const { return order_; }

  // Compile a node to the SQL it runs. `incremental` is the value is_incremental() returns.
  // Ephemeral models it refs are injected as CTEs.
  Result<std::string> compile(const Node& node, bool incremental);
  Environment& environment() { return env_; }
  // What run_query(sql) in a template calls while compiling (not while parsing, where it returns
  // none, as dbt's does before `execute`): the Runner answers it from the warehouse, as a table value
  // with `rows`, `columns` (each with `name` and `values()`) and `column_names`.
  using QueryFunction = std::function<Result<Value>(const std::string& sql)>;
  void set_query_function(QueryFunction f) { query_ = std::move(f); }
  // Where compiled SQL and results go: {state_dir}/target.
  std::filesystem::path target_dir;

 private:
  Project() = default;
  Status load_project_file();
  Status load_macros();
  Status load_models();
  Status load_seeds();
  Status load_schema_files();
  Status load_singular_tests();
  Status parse_nodes();
  Status build_graph();
  void install_context(const Node& node, bool parsing, bool incremental, std::vector<std::string>* deps,
                       std::vector<std::string>* ephemerals);
  Result<std::string> render_test(const Node& node, std::vector<std::string>* deps, std::vector<std::string>* ephemerals);
  Result<std::string> render_node(const Node& node, bool parsing, bool incremental, std::vector<std::string>* deps,
                                  std::vector<std::string>* ephemerals);
  void apply_project_config(Node& node, const std::string& section);
  Status add_yaml_tests(const std::string& file, int line, const Node& attached, const std::string& column,
                        const void* yaml_tests);

  std::filesystem::path dir_;
  std::string name_;
  std::string project_file_;
  std::vector<std::string> model_paths_{"models"}, seed_paths_{"seeds"}, test_paths_{"tests"}, macro_paths_{"macros"};
  Dict project_vars_, cli_vars_;
  std::map<std::string, Value> project_config_trees_;  // "models" / "seeds" / "tests" -> YAML tree as Value
  std::map<std::string, Node> nodes_;
  std::map<std::string, std::string> by_name_;  // model/seed name -> unique id
  std::map<std::string, std::vector<std::string>> children_;
  std::vector<std::string> order_;
  Environment env_;
  QueryFunction query_;
};

// Parse `--vars` text (a YAML mapping, e.g. "{start: 2024-01-01, n: 3}").
Result<Dict> parse_vars(const std::string& text);
// Convert YAML text of a freshness period ("count: 1, period: hour") etc. is internal.

// The built-in generic tests (dbt core, dbt_utils, dbt_expectations) as template source.
// The generic data tests that ship with hrflow (builtin_tests.sql, embedded).
std::string_view builtin_generic_tests();

}  // namespace hrflow::transform
