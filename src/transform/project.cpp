#include "transform/project.h"

#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>

#include "common/duckdb.h"
#include "common/embedded.h"

namespace hrflow::transform {

namespace fs = std::filesystem;

std::string to_string(NodeType t) {
  switch (t) {
    case NodeType::kModel: return "model";
    case NodeType::kSeed: return "seed";
    case NodeType::kTest: return "test";
    case NodeType::kSource: return "source";
  }
  return "?";
}

// ---------------------------------------------------------------------------------------------
// Node config accessors

std::string Node::cfg_string(const std::string& key, const std::string& dflt) const {
  auto it = config.find(key);
  if (it == config.end() || it->second.kind == Value::kNone || it->second.is_undefined()) return dflt;
  return to_display(it->second);
}

bool Node::cfg_bool(const std::string& key, bool dflt) const {
  auto it = config.find(key);
  if (it == config.end() || it->second.kind == Value::kNone) return dflt;
  if (it->second.kind == Value::kStr) return it->second.s == "true" || it->second.s == "True";
  return it->second.truthy();
}

std::vector<std::string> Node::cfg_list(const std::string& key) const {
  std::vector<std::string> out;
  auto it = config.find(key);
  if (it == config.end()) return out;
  if (it->second.kind == Value::kList) {
    for (const auto& v : *it->second.list) out.push_back(to_display(v));
  } else if (it->second.kind == Value::kStr && !it->second.s.empty()) {
    out.push_back(it->second.s);
  }
  return out;
}

std::string Node::materialized() const {
  if (type == NodeType::kSeed) return "seed";
  if (type == NodeType::kTest) return "test";
  if (type == NodeType::kSource) return "source";
  return cfg_string("materialized", "view");
}

std::string Node::schema() const { return cfg_string("schema", type == NodeType::kTest ? "dbt_test__audit" : "main"); }

std::string Node::alias() const {
  if (type == NodeType::kSource) return identifier.empty() ? name : identifier;
  return cfg_string("alias", name);
}

std::string Node::relation() const { return db::quote_identifier(schema()) + "." + db::quote_identifier(alias()); }

// Embedded at build time (cmake/embed.cmake): the heart-rate warehouse project and the built-in tests.
const EmbeddedFiles& builtin_project_files();
const EmbeddedFiles& builtin_test_files();

std::string_view builtin_generic_tests() { return builtin_test_files().find("builtin_tests.sql")->bytes; }

namespace {

// Write `bytes` to `path` unless it already holds exactly them; atomically (temp file + rename), so
// two hrflow processes writing the same project never leave a half-written file.
Status write_if_changed(const fs::path& path, std::string_view bytes) {
  std::error_code ec;
  if (fs::exists(path, ec) && fs::file_size(path, ec) == bytes.size()) {
    std::ifstream in(path, std::ios::binary);
    std::string held(bytes.size(), '\0');
    if (in.read(held.data(), static_cast<std::streamsize>(held.size())) && held == bytes) return {};
  }
  fs::create_directories(path.parent_path(), ec);
  if (ec) return io_error("cannot create {}: {}", path.parent_path().string(), ec.message());
  fs::path tmp = path;
  tmp += fmt::format(".tmp{}", ::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out.flush()) return io_error("cannot write {}", tmp.string());
  }
  fs::rename(tmp, path, ec);
  if (ec) return io_error("cannot write {}: {}", path.string(), ec.message());
  return {};
}

}  // namespace

Result<size_t> write_builtin_project(const fs::path& dir, bool overwrite) {
  size_t written = 0;
  std::error_code ec;
  for (const auto& f : builtin_project_files().files) {
    fs::path path = dir / std::string(f.path);
    if (!overwrite && fs::exists(path, ec)) {
      return make_error(ErrorKind::kAlreadyExists, "{} exists; choose an empty folder (or --force to overwrite the "
                        "project's files there)", path.string());
    }
  }
  for (const auto& f : builtin_project_files().files) {
    HRFLOW_TRY(write_if_changed(dir / std::string(f.path), f.bytes));
    ++written;
  }
  return written;
}

Result<fs::path> resolve_project_dir(const Config& config, const std::string& flag) {
  if (!flag.empty()) return fs::absolute(flag);
  std::string configured = config.get_string("transform.project_dir");
  if (!configured.empty()) return config.get_path("transform.project_dir");
  // The built-in project, written out from the binary into the state directory (refreshed when the
  // binary's copy differs), so any installed hrflow works from any directory.
  fs::path dir = config.get_path("state_dir") / "builtin-project";
  HRFLOW_ASSIGN_OR_RETURN(size_t n, write_builtin_project(dir, true));
  (void)n;
  HRFLOW_TRY(write_if_changed(dir / "GENERATED.txt",
                              "hrflow writes this folder from its built-in warehouse project and overwrites changes.\n"
                              "To edit the project, write a copy with `hrflow init DIR` and set transform.project_dir.\n"));
  return dir;
}

namespace {

std::string where(const std::string& file, const YAML::Node& n) {
  const auto m = n.Mark();
  if (m.line < 0) return file;
  return fmt::format("{}:{}:{}", file, m.line + 1, m.column + 1);
}

Value yaml_to_value(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Scalar:
      if (n.Tag() == "!") return Value::str(n.Scalar());  // quoted: always a string
      return value_from_yaml_text(n.Scalar());
    case YAML::NodeType::Sequence: {
      List l;
      for (const auto& x : n) l.push_back(yaml_to_value(x));
      return Value::of_list(std::move(l));
    }
    case YAML::NodeType::Map: {
      Dict d;
      for (const auto& kv : n) d.emplace_back(kv.first.as<std::string>(), yaml_to_value(kv.second));
      return Value::of_dict(std::move(d));
    }
    default: return Value::none();
  }
}

Result<YAML::Node> load_yaml(const fs::path& path, const std::string& rel) {
  try {
    return YAML::LoadFile(path.string());
  } catch (const YAML::ParserException& e) {
    return invalid_argument("{}:{}:{}: invalid YAML: {}", rel, e.mark.line + 1, e.mark.column + 1, e.msg);
  } catch (const std::exception& e) {
    return invalid_argument("{}: cannot read: {}", rel, e.what());
  }
}

Result<std::string> read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(ErrorKind::kNotFound, "{}: cannot open", path.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> d(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) d[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t prev = d[0];
    d[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t tmp = d[j];
      d[j] = std::min({d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] == b[j - 1] ? 0 : 1)});
      prev = tmp;
    }
  }
  return d[b.size()];
}

std::string suggest(const std::string& key, const std::vector<std::string>& known) {
  std::string best;
  size_t best_d = 3;
  for (const auto& k : known) {
    size_t dist = edit_distance(key, k);
    if (dist < best_d) { best_d = dist; best = k; }
  }
  return best.empty() ? fmt::format("known keys: {}", fmt::join(known, ", ")) : fmt::format("did you mean '{}'?", best);
}

Status check_keys(const std::string& file, const YAML::Node& map, const std::vector<std::string>& known, const std::string& what) {
  if (!map.IsMap()) return invalid_argument("{}: {} must be a mapping", where(file, map), what);
  for (const auto& kv : map) {
    std::string k = kv.first.as<std::string>();
    if (std::find(known.begin(), known.end(), k) == known.end()) {
      return invalid_argument("{}: unknown key '{}' in {}: {}", where(file, kv.first), k, what, suggest(k, known));
    }
  }
  return {};
}

const std::vector<std::string> kConfigKeys = {
    "materialized", "schema", "alias", "tags", "enabled", "unique_key", "incremental_strategy", "on_schema_change",
    "full_refresh", "meta", "docs", "persist_docs", "column_types", "quote_columns", "severity", "where", "limit",
    "store_failures", "database", "pre-hook", "post-hook", "grants", "contract", "delimiter", "warn_if", "error_if",
    "sql_header", "access", "group", "freshness", "incremental_predicates", "merge_update_columns", "store_failures_as"};

bool is_config_key(const std::string& k) { return std::find(kConfigKeys.begin(), kConfigKeys.end(), k) != kConfigKeys.end(); }

// Merge a config value: tags accumulate, meta merges, anything else replaces.
void merge_config(std::map<std::string, Value>& cfg, const std::string& key, const Value& v) {
  if (key == "tags") {
    Value& cur = cfg["tags"];
    if (cur.kind != Value::kList) cur = Value::of_list({});
    List add = v.kind == Value::kList ? *v.list : List{v};
    List merged = *cur.list;
    for (const auto& t : add) {
      if (std::none_of(merged.begin(), merged.end(), [&](const Value& x) { return values_equal(x, t); })) merged.push_back(t);
    }
    cur = Value::of_list(std::move(merged));
    return;
  }
  if (key == "meta" && v.kind == Value::kDict) {
    Value& cur = cfg["meta"];
    Dict merged = cur.kind == Value::kDict ? *cur.dict : Dict{};
    for (const auto& [k, x] : *v.dict) {
      auto it = std::find_if(merged.begin(), merged.end(), [&](const auto& p) { return p.first == k; });
      if (it != merged.end()) it->second = x; else merged.emplace_back(k, x);
    }
    cur = Value::of_dict(std::move(merged));
    return;
  }
  cfg[key] = v;
}

Result<int64_t> period_seconds(const std::string& file, const YAML::Node& n) {
  if (!n || n.IsNull()) return int64_t{0};
  HRFLOW_TRY(check_keys(file, n, {"count", "period"}, "a freshness threshold"));
  if (!n["count"] || !n["period"]) return invalid_argument("{}: a freshness threshold needs count and period", where(file, n));
  int64_t count = n["count"].as<int64_t>();
  std::string period = n["period"].as<std::string>();
  int64_t unit = period == "minute" ? 60 : period == "hour" ? 3600 : period == "day" ? 86400 : 0;
  if (!unit) return invalid_argument("{}: period must be minute, hour or day, not '{}'", where(file, n["period"]), period);
  return count * unit;
}

std::string sanitize(const std::string& s) {
  std::string out;
  for (char c : s) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

Value relation_value(const Node& n) {
  return Value::object(n.relation(), {{"schema", Value::str(n.schema())},
                                      {"name", Value::str(n.alias())},
                                      {"identifier", Value::str(n.alias())},
                                      {"table", Value::str(n.alias())},
                                      {"database", Value::str("")}});
}

}  // namespace

Result<Dict> parse_vars(const std::string& text) {
  if (text.empty()) return Dict{};
  try {
    YAML::Node n = YAML::Load(text);
    if (!n.IsMap()) return invalid_argument("--vars must be a YAML mapping such as '{{key: value}}', got: {}", text);
    return *yaml_to_value(n).dict;
  } catch (const YAML::Exception& e) {
    return invalid_argument("--vars is not valid YAML ({}): write it like '{{key: value, other: 2}}'", e.msg);
  }
}

// ---------------------------------------------------------------------------------------------
// Loading

Result<std::unique_ptr<Project>> Project::load(const ProjectOptions& options) {
  std::unique_ptr<Project> p(new Project());
  p->dir_ = options.dir;
  p->cli_vars_ = options.cli_vars;
  HRFLOW_TRY(p->load_project_file());
  HRFLOW_TRY(p->load_macros());
  HRFLOW_TRY(p->load_models());
  HRFLOW_TRY(p->load_seeds());
  HRFLOW_TRY(p->load_singular_tests());
  HRFLOW_TRY(p->load_schema_files());
  HRFLOW_TRY(p->parse_nodes());
  HRFLOW_TRY(p->build_graph());
  return p;
}

Status Project::load_project_file() {
  for (const char* f : {"hrflow_project.yml", "dbt_project.yml"}) {
    if (fs::exists(dir_ / f)) { project_file_ = f; break; }
  }
  if (project_file_.empty()) {
    return make_error(ErrorKind::kNotFound,
                      "{}: no dbt_project.yml or hrflow_project.yml here: pass --project-dir DIR or set transform.project_dir",
                      dir_.string());
  }
  HRFLOW_ASSIGN_OR_RETURN(auto y, load_yaml(dir_ / project_file_, project_file_));
  HRFLOW_TRY(check_keys(project_file_, y,
                        {"name", "version", "config-version", "profile", "model-paths", "seed-paths", "test-paths",
                         "macro-paths", "analysis-paths", "snapshot-paths", "docs-paths", "asset-paths", "target-path",
                         "clean-targets", "log-path", "packages-install-path", "require-dbt-version", "vars", "models",
                         "seeds", "tests", "data_tests", "sources", "quoting", "on-run-start", "on-run-end", "flags",
                         "dispatch", "query-comment", "snapshots"},
                        "the project file"));
  if (!y["name"]) return invalid_argument("{}: the project needs a name: add `name: my_project`", project_file_);
  name_ = y["name"].as<std::string>();
  auto paths = [&](const char* key, std::vector<std::string>& out) {
    if (y[key] && y[key].IsSequence()) {
      out.clear();
      for (const auto& p : y[key]) out.push_back(p.as<std::string>());
    }
  };
  paths("model-paths", model_paths_);
  paths("seed-paths", seed_paths_);
  paths("test-paths", test_paths_);
  paths("macro-paths", macro_paths_);
  if (y["vars"]) {
    Value v = yaml_to_value(y["vars"]);
    if (v.kind == Value::kDict) project_vars_ = *v.dict;
  }
  for (const char* section : {"models", "seeds", "tests", "data_tests"}) {
    if (y[section]) project_config_trees_[section == std::string("data_tests") ? "tests" : section] = yaml_to_value(y[section]);
  }
  for (const char* hook : {"on-run-start", "on-run-end"}) {
    if (y[hook] && !(y[hook].IsSequence() && y[hook].size() == 0)) {
      return invalid_argument("{}: '{}' hooks are not supported: put the SQL in a model", where(project_file_, y[hook]), hook);
    }
  }
  return {};
}

namespace {
std::vector<fs::path> files_under(const fs::path& root, const std::vector<std::string>& exts) {
  std::vector<fs::path> out;
  if (!fs::is_directory(root)) return out;
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (!e.is_regular_file()) continue;
    std::string ext = e.path().extension().string();
    if (std::find(exts.begin(), exts.end(), ext) != exts.end()) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}
}  // namespace

namespace {
Value fn_error(std::string message) {
  return Value::func([message](const CallArgs&) -> Result<Value> { return invalid_argument("{}", message); });
}

// Helpers of dbt and dbt_utils that models call, written for DuckDB.
void install_static_globals(Environment& env) {
  env.set_global("log", Value::func([](const CallArgs&) -> Result<Value> { return Value::str(""); }));
  env.set_global("env_var", Value::func([](const CallArgs& a) -> Result<Value> {
    if (a.positional.empty()) return invalid_argument("env_var() needs a name");
    const char* v = std::getenv(to_display(a.positional[0]).c_str());
    if (v) return Value::str(v);
    if (a.positional.size() > 1) return a.positional[1];
    return invalid_argument("environment variable {} is not set and env_var() has no default", to_display(a.positional[0]));
  }));
  env.set_global("range", Value::func([](const CallArgs& a) -> Result<Value> {
    int64_t lo = 0, hi = 0, step = 1;
    if (a.positional.size() == 1) hi = a.positional[0].i;
    else if (a.positional.size() >= 2) { lo = a.positional[0].i; hi = a.positional[1].i; }
    if (a.positional.size() == 3) step = a.positional[2].i;
    if (step == 0) return invalid_argument("range() step must not be zero");
    List out;
    for (int64_t k = lo; step > 0 ? k < hi : k > hi; k += step) out.push_back(Value::integer(k));
    return Value::of_list(std::move(out));
  }));
  env.set_global("exceptions", Value::object("exceptions", {
      {"raise_compiler_error", Value::func([](const CallArgs& a) -> Result<Value> {
         return invalid_argument("{}", a.positional.empty() ? "compilation error" : to_display(a.positional[0]));
       })},
      {"warn", Value::func([](const CallArgs&) -> Result<Value> { return Value::str(""); })}}));
  env.set_global("adapter", Value::object("adapter", {
      {"quote", Value::func([](const CallArgs& a) -> Result<Value> {
         return Value::str(db::quote_identifier(a.positional.empty() ? "" : to_display(a.positional[0])));
       })},
      {"dispatch", fn_error("adapter.dispatch() is not supported: call the macro directly")},
      {"get_columns_in_relation", fn_error("adapter.get_columns_in_relation() is not supported: select from information_schema.columns in SQL")}}));
  env.set_global("statement", fn_error("statement blocks are not supported: compute the value in SQL"));
  env.set_global("modules", Value::object("modules", {}));
  auto surrogate_key = Value::func([](const CallArgs& a) -> Result<Value> {
    const Value* fields = a.get("field_list", 0);
    if (!fields || fields->kind != Value::kList) return invalid_argument("generate_surrogate_key() needs a list of columns");
    std::string parts;
    for (size_t k = 0; k < fields->list->size(); ++k) {
      parts += fmt::format("{}coalesce(cast({} as varchar), '_dbt_utils_surrogate_key_null_')", k ? ", '-', " : "", to_display((*fields->list)[k]));
    }
    return Value::str("md5(cast(concat(" + parts + ") as varchar))");
  });
  auto dateadd = Value::func([](const CallArgs& a) -> Result<Value> {
    const Value *part = a.get("datepart", 0), *n = a.get("interval", 1), *from = a.get("from_date_or_timestamp", 2);
    if (!part || !n || !from) return invalid_argument("dateadd(datepart, interval, from_date_or_timestamp)");
    return Value::str(fmt::format("({} + ({}) * interval 1 {})", to_display(*from), to_display(*n), to_display(*part)));
  });
  auto datediff = Value::func([](const CallArgs& a) -> Result<Value> {
    const Value *first = a.get("first_date", 0), *second = a.get("second_date", 1), *part = a.get("datepart", 2);
    if (!first || !second || !part) return invalid_argument("datediff(first_date, second_date, datepart)");
    return Value::str(fmt::format("date_diff('{}', {}, {})", to_display(*part), to_display(*first), to_display(*second)));
  });
  auto date_trunc = Value::func([](const CallArgs& a) -> Result<Value> {
    const Value *part = a.get("datepart", 0), *date = a.get("date", 1);
    if (!part || !date) return invalid_argument("date_trunc(datepart, date)");
    return Value::str(fmt::format("date_trunc('{}', {})", to_display(*part), to_display(*date)));
  });
  auto now = Value::func([](const CallArgs&) -> Result<Value> { return Value::str("now()"); });
  auto type_fn = [](const char* t) { return Value::func([t](const CallArgs&) -> Result<Value> { return Value::str(t); }); };
  Dict helpers = {{"generate_surrogate_key", surrogate_key}, {"surrogate_key", surrogate_key}, {"dateadd", dateadd},
                  {"datediff", datediff}, {"date_trunc", date_trunc}, {"current_timestamp", now},
                  {"type_string", type_fn("varchar")}, {"type_int", type_fn("integer")}, {"type_bigint", type_fn("bigint")},
                  {"type_float", type_fn("double")}, {"type_numeric", type_fn("decimal(28,6)")}, {"type_timestamp", type_fn("timestamp")},
                  {"star", fn_error("dbt_utils.star() is not supported: list the columns, or use DuckDB's `select * exclude (col)`")}};
  env.set_global("dbt_utils", Value::object("dbt_utils", helpers));
  env.set_global("dbt", Value::object("dbt", helpers));
  for (const auto& [k, v] : helpers) {
    if (k != "star" && k != "surrogate_key" && k != "generate_surrogate_key") env.set_global(k, v);
  }
}
}  // namespace

Status Project::load_macros() {
  install_static_globals(env_);
  HRFLOW_ASSIGN_OR_RETURN(auto builtin, Template::parse(std::string(builtin_generic_tests()), "<built-in tests> (src/transform/builtin_tests.sql)"));
  HRFLOW_TRY(builtin.define_macros(env_));
  // Built-in tests stay reachable under their package names even when the project overrides one.
  for (const auto& [name, macro] : env_.generic_tests()) env_.set_global("builtin_test_" + name, macro);
  std::vector<fs::path> files;
  for (const auto& mp : macro_paths_) {
    auto f = files_under(dir_ / mp, {".sql"});
    files.insert(files.end(), f.begin(), f.end());
  }
  for (const auto& tp : test_paths_) {
    auto f = files_under(dir_ / tp / "generic", {".sql"});
    files.insert(files.end(), f.begin(), f.end());
  }
  for (const auto& f : files) {
    std::string rel = fs::relative(f, dir_).string();
    HRFLOW_ASSIGN_OR_RETURN(auto text, read_file(f));
    HRFLOW_ASSIGN_OR_RETURN(auto t, Template::parse(text, rel));
    HRFLOW_TRY(t.define_macros(env_));
  }
  return {};
}

void Project::apply_project_config(Node& node, const std::string& section) {
  auto it = project_config_trees_.find(section);
  if (it == project_config_trees_.end() || it->second.kind != Value::kDict) return;
  std::function<void(const Value&, size_t)> walk = [&](const Value& level, size_t depth) {
    if (level.kind != Value::kDict) return;
    for (const auto& [k, v] : *level.dict) {
      if (!k.empty() && k[0] == '+') merge_config(node.config, k.substr(1), v);
      else if (is_config_key(k) && v.kind != Value::kDict) merge_config(node.config, k, v);
      else if (is_config_key(k) && (k == "meta" || k == "column_types" || k == "docs")) merge_config(node.config, k, v);
    }
    if (depth < node.fqn.size()) {
      if (const Value* child = level.attr(node.fqn[depth])) walk(*child, depth + 1);
    }
  };
  walk(it->second, 0);
}

Status Project::load_models() {
  for (const auto& mp : model_paths_) {
    for (const auto& f : files_under(dir_ / mp, {".sql"})) {
      Node n;
      n.type = NodeType::kModel;
      n.name = f.stem().string();
      n.path = fs::relative(f, dir_).string();
      n.unique_id = fmt::format("model.{}.{}", name_, n.name);
      n.fqn.push_back(name_);
      for (const auto& part : fs::relative(f.parent_path(), dir_ / mp)) {
        if (part != ".") n.fqn.push_back(part.string());
      }
      n.fqn.push_back(n.name);
      if (auto dup = nodes_.find(n.unique_id); dup != nodes_.end()) {
        return invalid_argument("two models are named '{}': {} and {}; rename one", n.name, dup->second.path, n.path);
      }
      HRFLOW_ASSIGN_OR_RETURN(n.raw_sql, read_file(f));
      HRFLOW_ASSIGN_OR_RETURN(auto t, Template::parse(n.raw_sql, n.path));
      n.tmpl = std::make_shared<Template>(std::move(t));
      apply_project_config(n, "models");
      by_name_[n.name] = n.unique_id;
      nodes_[n.unique_id] = std::move(n);
    }
  }
  return {};
}

Status Project::load_seeds() {
  for (const auto& sp : seed_paths_) {
    for (const auto& f : files_under(dir_ / sp, {".csv"})) {
      Node n;
      n.type = NodeType::kSeed;
      n.name = f.stem().string();
      n.path = fs::relative(f, dir_).string();
      n.unique_id = fmt::format("seed.{}.{}", name_, n.name);
      n.fqn = {name_};
      for (const auto& part : fs::relative(f.parent_path(), dir_ / sp)) {
        if (part != ".") n.fqn.push_back(part.string());
      }
      n.fqn.push_back(n.name);
      if (by_name_.count(n.name)) {
        return invalid_argument("a seed and a model are both named '{}' ({}): rename one", n.name, n.path);
      }
      apply_project_config(n, "seeds");
      by_name_[n.name] = n.unique_id;
      nodes_[n.unique_id] = std::move(n);
    }
  }
  return {};
}

Status Project::load_singular_tests() {
  for (const auto& tp : test_paths_) {
    for (const auto& f : files_under(dir_ / tp, {".sql"})) {
      std::string rel_to_tests = fs::relative(f, dir_ / tp).string();
      if (rel_to_tests.rfind("generic/", 0) == 0) continue;
      Node n;
      n.type = NodeType::kTest;
      n.name = f.stem().string();
      n.path = fs::relative(f, dir_).string();
      n.unique_id = fmt::format("test.{}.{}", name_, n.name);
      n.fqn = {name_, n.name};
      HRFLOW_ASSIGN_OR_RETURN(n.raw_sql, read_file(f));
      HRFLOW_ASSIGN_OR_RETURN(auto t, Template::parse(n.raw_sql, n.path));
      n.tmpl = std::make_shared<Template>(std::move(t));
      apply_project_config(n, "tests");
      nodes_[n.unique_id] = std::move(n);
    }
  }
  return {};
}

Status Project::add_yaml_tests(const std::string& file, int /*line*/, const Node& attached, const std::string& column,
                               const void* yaml_tests_ptr) {
  const YAML::Node& tests = *static_cast<const YAML::Node*>(yaml_tests_ptr);
  if (!tests.IsSequence()) return invalid_argument("{}: tests must be a list", where(file, tests));
  for (const auto& t : tests) {
    std::string test_name;
    Dict args;
    YAML::Node args_node;
    if (t.IsScalar()) {
      test_name = t.as<std::string>();
    } else if (t.IsMap() && t.size() == 1) {
      test_name = t.begin()->first.as<std::string>();
      args_node = t.begin()->second;
      if (args_node && args_node.IsMap()) args = *yaml_to_value(args_node).dict;
      else if (args_node && !args_node.IsNull()) return invalid_argument("{}: the arguments of test '{}' must be a mapping", where(file, args_node), test_name);
    } else {
      return invalid_argument("{}: a test is a name (`- not_null`) or a one-key mapping (`- accepted_values: {{values: [a, b]}}`)", where(file, t));
    }
    Node n;
    n.type = NodeType::kTest;
    n.test_name = test_name;
    n.path = file;
    n.line = t.Mark().line + 1;
    n.attached_to = attached.unique_id;
    n.column_name = column;
    apply_project_config(n, "tests");
    std::string custom_name;
    for (const auto& [k, v] : args) {
      if (k == "config" && v.kind == Value::kDict) {
        for (const auto& [ck, cv] : *v.dict) merge_config(n.config, ck, cv);
      } else if (k == "severity" || k == "where" || k == "limit" || k == "store_failures" || k == "tags" ||
                 k == "enabled" || k == "warn_if" || k == "error_if" || k == "meta") {
        merge_config(n.config, k, v);
      } else if (k == "name") {
        custom_name = to_display(v);
      } else {
        n.test_kwargs.emplace_back(k, v);
      }
    }
    std::string short_name = test_name.substr(test_name.find('.') == std::string::npos ? 0 : test_name.find('.') + 1);
    std::string base = custom_name;
    if (base.empty()) {
      std::string prefix = test_name.find('.') == std::string::npos ? "" : test_name.substr(0, test_name.find('.')) + "_";
      base = prefix + short_name + "_" + (attached.type == NodeType::kSource ? attached.source_name + "_" : "") + attached.name +
             (column.empty() ? "" : "_" + sanitize(column));
      std::string argtext;
      auto clean = [](const Value& v) {
        std::string out = sanitize(to_display(v));
        size_t a = out.find_first_not_of('_'), b = out.find_last_not_of('_');
        return a == std::string::npos ? std::string() : out.substr(a, b - a + 1);
      };
      for (const auto& [k, v] : n.test_kwargs) {
        if (v.kind == Value::kList) {
          for (const auto& item : *v.list) argtext += "__" + clean(item);
        } else {
          argtext += "__" + clean(v);
        }
      }
      base += argtext;
      if (base.size() > 80) base = base.substr(0, 64) + fmt::format("_{:08x}", std::hash<std::string>{}(base) & 0xffffffffu);
    }
    n.name = base;
    n.unique_id = fmt::format("test.{}.{}", name_, base);
    for (int k = 2; nodes_.count(n.unique_id); ++k) n.unique_id = fmt::format("test.{}.{}_{}", name_, base, k);
    n.fqn = attached.fqn;
    n.fqn.push_back(n.name);
    if (!n.cfg_bool("enabled", true)) continue;
    nodes_[n.unique_id] = std::move(n);
  }
  return {};
}

Status Project::load_schema_files() {
  std::vector<fs::path> files;
  for (const auto& paths : {model_paths_, seed_paths_}) {
    for (const auto& mp : paths) {
      auto f = files_under(dir_ / mp, {".yml", ".yaml"});
      files.insert(files.end(), f.begin(), f.end());
    }
  }
  const std::vector<std::string> kColumnKeys = {"name", "description", "data_type", "tests", "data_tests", "meta", "quote",
                                                "constraints", "tags", "policy_tags", "config", "docs"};
  for (const auto& f : files) {
    std::string rel = fs::relative(f, dir_).string();
    HRFLOW_ASSIGN_OR_RETURN(auto y, load_yaml(f, rel));
    if (y.IsNull()) continue;
    HRFLOW_TRY(check_keys(rel, y, {"version", "models", "sources", "seeds", "macros", "exposures", "metrics",
                                   "semantic_models", "saved_queries", "unit_tests", "snapshots", "groups", "analyses"},
                          "a schema file"));
    auto columns_of = [&](const YAML::Node& cols, Node& node) -> Status {
      if (!cols) return {};
      if (!cols.IsSequence()) return invalid_argument("{}: columns must be a list", where(rel, cols));
      for (const auto& c : cols) {
        HRFLOW_TRY(check_keys(rel, c, kColumnKeys, "a column"));
        if (!c["name"]) return invalid_argument("{}: a column needs a name", where(rel, c));
        Column col;
        col.name = c["name"].as<std::string>();
        if (c["description"]) col.description = c["description"].as<std::string>();
        if (c["data_type"]) col.data_type = c["data_type"].as<std::string>();
        col.meta = c["meta"] ? yaml_to_value(c["meta"]) : Value::of_dict({});
        node.columns.push_back(col);
      }
      return {};
    };
    auto column_tests = [&](const YAML::Node& cols, const Node& node) -> Status {
      if (!cols) return {};
      for (const auto& c : cols) {
        for (const char* key : {"tests", "data_tests"}) {
          if (c[key]) {
            YAML::Node tn = c[key];
            HRFLOW_TRY(add_yaml_tests(rel, 0, node, c["name"].as<std::string>(), &tn));
          }
        }
      }
      return {};
    };
    for (const char* section : {"models", "seeds"}) {
      if (!y[section]) continue;
      if (!y[section].IsSequence()) return invalid_argument("{}: {} must be a list", where(rel, y[section]), section);
      for (const auto& m : y[section]) {
        HRFLOW_TRY(check_keys(rel, m, {"name", "description", "columns", "tests", "data_tests", "config", "meta", "docs",
                                       "access", "constraints", "latest_version", "versions", "group", "deprecation_date"},
                              section == std::string("models") ? "a model" : "a seed"));
        if (!m["name"]) return invalid_argument("{}: each entry needs a name", where(rel, m));
        std::string nm = m["name"].as<std::string>();
        auto it = by_name_.find(nm);
        NodeType want = section == std::string("models") ? NodeType::kModel : NodeType::kSeed;
        if (it == by_name_.end() || nodes_[it->second].type != want) {
          std::vector<std::string> names;
          for (const auto& [n2, id] : by_name_) {
            if (nodes_[id].type == want) names.push_back(n2);
          }
          return invalid_argument("{}: no {} named '{}' (the YAML describes a {} that has no file): {}", where(rel, m["name"]),
                                  to_string(want), nm, to_string(want), suggest(nm, names));
        }
        Node& node = nodes_[it->second];
        if (m["description"]) node.description = m["description"].as<std::string>();
        if (m["config"]) {
          HRFLOW_TRY(check_keys(rel, m["config"], kConfigKeys, "config"));
          Value cfg = yaml_to_value(m["config"]);
          for (const auto& [k, v] : *cfg.dict) merge_config(node.config, k, v);
        }
        if (m["meta"]) merge_config(node.config, "meta", yaml_to_value(m["meta"]));
        HRFLOW_TRY(columns_of(m["columns"], node));
        Node snapshot = node;  // add_yaml_tests inserts into nodes_, which may not invalidate `node` (std::map) but keep it simple
        for (const char* key : {"tests", "data_tests"}) {
          if (m[key]) {
            YAML::Node tn = m[key];
            HRFLOW_TRY(add_yaml_tests(rel, 0, snapshot, "", &tn));
          }
        }
        HRFLOW_TRY(column_tests(m["columns"], snapshot));
      }
    }
    if (y["sources"]) {
      for (const auto& s : y["sources"]) {
        HRFLOW_TRY(check_keys(rel, s, {"name", "description", "schema", "database", "loader", "loaded_at_field", "freshness",
                                       "meta", "tags", "tables", "config", "quoting", "overrides"},
                              "a source"));
        if (!s["name"]) return invalid_argument("{}: a source needs a name", where(rel, s));
        std::string src = s["name"].as<std::string>();
        std::string schema = s["schema"] ? s["schema"].as<std::string>() : src;
        std::string src_loaded_at = s["loaded_at_field"] ? s["loaded_at_field"].as<std::string>() : "";
        Freshness src_fresh;
        if (s["freshness"] && !s["freshness"].IsNull()) {
          HRFLOW_TRY(check_keys(rel, s["freshness"], {"warn_after", "error_after", "filter"}, "freshness"));
          HRFLOW_ASSIGN_OR_RETURN(src_fresh.warn_after_s, period_seconds(rel, s["freshness"]["warn_after"]));
          HRFLOW_ASSIGN_OR_RETURN(src_fresh.error_after_s, period_seconds(rel, s["freshness"]["error_after"]));
          if (s["freshness"]["filter"]) src_fresh.filter = s["freshness"]["filter"].as<std::string>();
        }
        if (!s["tables"]) continue;
        for (const auto& t : s["tables"]) {
          HRFLOW_TRY(check_keys(rel, t, {"name", "description", "identifier", "loaded_at_field", "freshness", "meta", "tags",
                                         "columns", "tests", "data_tests", "config", "quoting", "external", "loader"},
                                "a source table"));
          Node n;
          n.type = NodeType::kSource;
          n.name = t["name"].as<std::string>();
          n.source_name = src;
          n.identifier = t["identifier"] ? t["identifier"].as<std::string>() : n.name;
          n.path = rel;
          n.line = t.Mark().line + 1;
          n.unique_id = fmt::format("source.{}.{}.{}", name_, src, n.name);
          n.fqn = {name_, src, n.name};
          n.config["schema"] = Value::str(schema);
          n.loaded_at_field = t["loaded_at_field"] ? t["loaded_at_field"].as<std::string>() : src_loaded_at;
          n.freshness = src_fresh;
          if (t["freshness"]) {
            if (t["freshness"].IsNull()) {
              n.freshness = Freshness{};
            } else {
              HRFLOW_TRY(check_keys(rel, t["freshness"], {"warn_after", "error_after", "filter"}, "freshness"));
              HRFLOW_ASSIGN_OR_RETURN(n.freshness.warn_after_s, period_seconds(rel, t["freshness"]["warn_after"]));
              HRFLOW_ASSIGN_OR_RETURN(n.freshness.error_after_s, period_seconds(rel, t["freshness"]["error_after"]));
              if (t["freshness"]["filter"]) n.freshness.filter = t["freshness"]["filter"].as<std::string>();
            }
          }
          if (t["description"]) n.description = t["description"].as<std::string>();
          if (s["meta"]) merge_config(n.config, "meta", yaml_to_value(s["meta"]));
          if (t["meta"]) merge_config(n.config, "meta", yaml_to_value(t["meta"]));
          if (s["tags"]) merge_config(n.config, "tags", yaml_to_value(s["tags"]));
          if (t["tags"]) merge_config(n.config, "tags", yaml_to_value(t["tags"]));
          HRFLOW_TRY(columns_of(t["columns"], n));
          if (nodes_.count(n.unique_id)) return invalid_argument("{}: source {}.{} is defined twice", where(rel, t), src, n.name);
          nodes_[n.unique_id] = n;
          for (const char* key : {"tests", "data_tests"}) {
            if (t[key]) {
              YAML::Node tn = t[key];
              HRFLOW_TRY(add_yaml_tests(rel, 0, n, "", &tn));
            }
          }
          HRFLOW_TRY(column_tests(t["columns"], n));
        }
      }
    }
  }
  for (auto& [id, n] : nodes_) {
    if (n.config.count("meta")) n.meta = n.config["meta"];
  }
  return {};
}

// ---------------------------------------------------------------------------------------------
// Rendering context

const Node* Project::find(const std::string& unique_id) const {
  auto it = nodes_.find(unique_id);
  return it == nodes_.end() ? nullptr : &it->second;
}

const Node* Project::find_by_name(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : find(it->second);
}

const std::vector<std::string>& Project::children(const std::string& unique_id) const {
  static const std::vector<std::string> kNone;
  auto it = children_.find(unique_id);
  return it == children_.end() ? kNone : it->second;
}

void Project::install_context(const Node& node, bool parsing, bool incremental, std::vector<std::string>* deps,
                              std::vector<std::string>* ephemerals) {
  auto add_dep = [deps](const std::string& id) {
    if (std::find(deps->begin(), deps->end(), id) == deps->end()) deps->push_back(id);
  };
  Node* mutable_node = parsing ? &nodes_[node.unique_id] : nullptr;
  env_.set_global("ref", Value::func([this, add_dep, parsing, ephemerals](const CallArgs& a) -> Result<Value> {
    if (a.positional.empty() || a.positional.back().kind != Value::kStr) return invalid_argument("ref() needs a model name: ref('model_name')");
    std::string name = a.positional.back().s;
    const Node* target = find_by_name(name);
    if (!target) {
      std::vector<std::string> names;
      for (const auto& [n, id] : by_name_) names.push_back(n);
      return make_error(ErrorKind::kNotFound, "ref('{}') names no model or seed in this project: {}", name, suggest(name, names));
    }
    add_dep(target->unique_id);
    if (!parsing && target->materialized() == "ephemeral") {
      if (std::find(ephemerals->begin(), ephemerals->end(), target->unique_id) == ephemerals->end()) ephemerals->push_back(target->unique_id);
      std::string cte = "__dbt__cte__" + target->name;
      return Value::object(cte, {{"name", Value::str(cte)}, {"identifier", Value::str(cte)}, {"schema", Value::str("")}});
    }
    return relation_value(*target);
  }));
  env_.set_global("source", Value::func([this, add_dep](const CallArgs& a) -> Result<Value> {
    if (a.positional.size() != 2 || a.positional[0].kind != Value::kStr || a.positional[1].kind != Value::kStr)
      return invalid_argument("source() needs a source and a table name: source('raw', 'users')");
    std::string id = fmt::format("source.{}.{}.{}", name_, a.positional[0].s, a.positional[1].s);
    const Node* target = find(id);
    if (!target) {
      std::vector<std::string> names;
      for (const auto& [i, n] : nodes_) {
        if (n.type == NodeType::kSource) names.push_back(n.source_name + "." + n.name);
      }
      return make_error(ErrorKind::kNotFound, "source('{}', '{}') is not declared in any sources: YAML; declared: {}", a.positional[0].s,
                        a.positional[1].s, names.empty() ? "none" : fmt::format("{}", fmt::join(names, ", ")));
    }
    add_dep(id);
    return relation_value(*target);
  }));
  env_.set_global("this", relation_value(node));
  env_.set_global("config", Value::func([mutable_node](const CallArgs& a) -> Result<Value> {
    if (!a.positional.empty()) return invalid_argument("config() takes named arguments: config(materialized='table')");
    if (mutable_node) {
      for (const auto& [k, v] : a.keywords) {
        if (!is_config_key(k)) return invalid_argument("config(): unknown setting '{}': {}", k, suggest(k, kConfigKeys));
        merge_config(mutable_node->config, k, v);
      }
    }
    return Value::str("");
  }));
  env_.set_global("var", Value::func([this](const CallArgs& a) -> Result<Value> {
    if (a.positional.empty() || a.positional[0].kind != Value::kStr) return invalid_argument("var() needs a name: var('start_date', '2024-01-01')");
    const std::string& name = a.positional[0].s;
    for (const Dict* d : {&cli_vars_, &project_vars_}) {
      for (const auto& [k, v] : *d) {
        if (k == name) return v;
      }
    }
    for (const auto& [k, v] : project_vars_) {  // vars scoped under the project name
      if (k == name_ && v.kind == Value::kDict) {
        if (const Value* x = v.attr(name)) return *x;
      }
    }
    if (a.positional.size() > 1) return a.positional[1];
    return invalid_argument("required var '{}' is not set: pass --vars '{{{}: ...}}' or add it under vars: in {}", name, name, project_file_);
  }));
  env_.set_global("run_query", Value::func([this, parsing](const CallArgs& a) -> Result<Value> {
    if (a.positional.empty()) return invalid_argument("run_query() needs the SQL to run: run_query('select max(ts) from ' ~ this)");
    if (parsing) return Value::none();  // dbt's run_query returns none until `execute`
    if (!query_) return invalid_argument("run_query() needs the warehouse, which this command does not open");
    return query_(to_display(a.positional[0]));
  }));
  env_.set_global("is_incremental", Value::func([incremental](const CallArgs&) -> Result<Value> { return Value::boolean(incremental); }));
  env_.set_global("target", Value::object("hrflow", {{"name", Value::str("hrflow")}, {"schema", Value::str("main")},
                                                     {"type", Value::str("duckdb")}, {"database", Value::str("")},
                                                     {"profile_name", Value::str(name_)}}));
  env_.set_global("project_name", Value::str(name_));
  env_.set_global("execute", Value::boolean(!parsing));
  env_.set_global("model", Value::object(node.unique_id, {{"name", Value::str(node.name)}, {"unique_id", Value::str(node.unique_id)},
                                                          {"config", Value::of_dict(Dict(node.config.begin(), node.config.end()))}}));
}

Result<std::string> Project::render_node(const Node& node, bool parsing, bool incremental, std::vector<std::string>* deps,
                                         std::vector<std::string>* ephemerals) {
  install_context(node, parsing, incremental, deps, ephemerals);
  if (node.type == NodeType::kTest && !node.test_name.empty()) return render_test(node, deps, ephemerals);
  if (!node.tmpl) return std::string();
  return node.tmpl->render(env_);
}

Result<std::string> Project::render_test(const Node& node, std::vector<std::string>* deps, std::vector<std::string>*) {
  std::string at = fmt::format("{}:{}", node.path, node.line);
  const Node* attached = find(node.attached_to);
  if (!attached) return make_error(ErrorKind::kInternal, "{}: test without its model", at);
  if (std::find(deps->begin(), deps->end(), attached->unique_id) == deps->end()) deps->push_back(attached->unique_id);
  // Find the generic test: package-prefixed names use the built-in one.
  std::string short_name = node.test_name;
  bool prefixed = false;
  if (auto dot = short_name.find('.'); dot != std::string::npos) {
    short_name = short_name.substr(dot + 1);
    prefixed = true;
  }
  const Value* macro = nullptr;
  if (!prefixed) {
    auto it = env_.generic_tests().find(short_name);
    if (it != env_.generic_tests().end()) macro = &it->second;
    if (!macro) macro = env_.global("test_" + short_name);
  }
  if (!macro) macro = env_.global("builtin_test_" + short_name);
  if (!macro) {
    std::vector<std::string> names;
    for (const auto& [n, v] : env_.generic_tests()) names.push_back(n);
    return invalid_argument("{}: unknown test '{}': define it in tests/generic/ with {{% test {}(model, column_name) %}}, or {}", at,
                            node.test_name, short_name, suggest(short_name, names));
  }
  Value model_rel = attached->type == NodeType::kModel && attached->materialized() == "ephemeral"
                        ? Value::object("__dbt__cte__" + attached->name, {})
                        : relation_value(*attached);
  std::string where_cfg = node.cfg_string("where");
  if (!where_cfg.empty()) {
    Dict attrs = *model_rel.dict;
    model_rel = Value::object(fmt::format("(select * from {} where {}) dbt_subquery", model_rel.s, where_cfg), attrs);
  }
  CallArgs args;
  args.keywords.emplace_back("model", model_rel);
  if (!node.column_name.empty()) args.keywords.emplace_back("column_name", Value::str(node.column_name));
  for (const auto& [k, v] : node.test_kwargs) {
    Value val = v;
    if (v.kind == Value::kStr) {
      std::string s = v.s;
      size_t b = s.find_first_not_of(" \t");
      if (s.find("{{") != std::string::npos) {
        auto t = Template::parse(s, at);
        if (!t.ok()) return t.error();
        HRFLOW_ASSIGN_OR_RETURN(auto r, t->render(env_));
        val = Value::str(r);
      } else if (b != std::string::npos && (s.compare(b, 4, "ref(") == 0 || s.compare(b, 7, "source(") == 0)) {
        auto r = env_.eval_expression(s, at);
        if (!r.ok()) return invalid_argument("{}: argument {} of test {}: {}", at, k, node.test_name, r.error().message);
        val = *r;
      }
    }
    args.keywords.emplace_back(k, val);
  }
  auto r = call_value(*macro, args);
  if (!r.ok()) return invalid_argument("{}: test {}: {}", at, node.test_name, r.error().message);
  return to_display(*r);
}

Status Project::parse_nodes() {
  for (auto& [id, node] : nodes_) {
    if (node.type == NodeType::kSource || node.type == NodeType::kSeed) continue;
    std::vector<std::string> deps, eph;
    auto r = render_node(node, /*parsing=*/true, /*incremental=*/false, &deps, &eph);
    if (!r.ok()) return r.error();
    node.depends_on = deps;
  }
  // Disabled models disappear (with their tests).
  for (auto it = nodes_.begin(); it != nodes_.end();) {
    if (it->second.type == NodeType::kModel && !it->second.cfg_bool("enabled", true)) {
      by_name_.erase(it->second.name);
      it = nodes_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& [id, node] : nodes_) {
    if (node.config.count("meta")) node.meta = node.config["meta"];
  }
  return {};
}

Status Project::build_graph() {
  std::map<std::string, int> indegree;
  for (const auto& [id, n] : nodes_) {
    if (n.type == NodeType::kSource) continue;
    indegree[id];
    for (const auto& d : n.depends_on) {
      if (!nodes_.count(d)) {
        return invalid_argument("{}: depends on {}, which is disabled or missing", n.path, d);
      }
      children_[d].push_back(id);
      if (nodes_.at(d).type != NodeType::kSource) indegree[id]++;
    }
  }
  std::set<std::string> ready;
  for (const auto& [id, deg] : indegree) {
    if (deg == 0) ready.insert(id);
  }
  while (!ready.empty()) {
    std::string id = *ready.begin();
    ready.erase(ready.begin());
    order_.push_back(id);
    for (const auto& c : children(id)) {
      if (--indegree[c] == 0) ready.insert(c);
    }
  }
  if (order_.size() == indegree.size()) return {};
  // A cycle: walk from any unfinished node along unfinished dependencies until a node repeats.
  std::string start;
  for (const auto& [id, deg] : indegree) {
    if (deg > 0) { start = id; break; }
  }
  std::vector<std::string> path;
  std::string cur = start;
  while (std::find(path.begin(), path.end(), cur) == path.end()) {
    path.push_back(cur);
    for (const auto& d : nodes_.at(cur).depends_on) {
      if (indegree.count(d) && indegree[d] > 0) { cur = d; break; }
    }
  }
  auto begin = std::find(path.begin(), path.end(), cur);
  std::vector<std::string> cycle(begin, path.end());
  std::reverse(cycle.begin(), cycle.end());
  std::string text;
  for (const auto& id : cycle) text += fmt::format("{} ({}) -> ", nodes_.at(id).name, nodes_.at(id).path);
  text += fmt::format("{} ({})", nodes_.at(cycle.front()).name, nodes_.at(cycle.front()).path);
  return invalid_argument("dependency cycle: {}: remove one of these ref() calls", text);
}

// ---------------------------------------------------------------------------------------------
// Compilation

namespace {
// Insert CTEs at the start of `sql`, merging with its own WITH clause if it has one.
std::string inject_ctes(const std::string& sql, const std::string& ctes) {
  size_t k = 0;
  for (;;) {
    while (k < sql.size() && std::isspace(static_cast<unsigned char>(sql[k]))) ++k;
    if (sql.compare(k, 2, "--") == 0) {
      k = sql.find('\n', k);
      if (k == std::string::npos) k = sql.size();
      continue;
    }
    if (sql.compare(k, 2, "/*") == 0) {
      k = sql.find("*/", k);
      k = k == std::string::npos ? sql.size() : k + 2;
      continue;
    }
    break;
  }
  auto word_at = [&](size_t p, const char* w) {
    size_t n = std::strlen(w);
    if (p + n > sql.size()) return false;
    for (size_t j = 0; j < n; ++j) {
      if (std::tolower(static_cast<unsigned char>(sql[p + j])) != w[j]) return false;
    }
    return p + n == sql.size() || !std::isalnum(static_cast<unsigned char>(sql[p + n]));
  };
  if (word_at(k, "with")) {
    size_t after = k + 4;
    while (after < sql.size() && std::isspace(static_cast<unsigned char>(sql[after]))) ++after;
    if (word_at(after, "recursive")) {
      after += 9;
      while (after < sql.size() && std::isspace(static_cast<unsigned char>(sql[after]))) ++after;
    }
    return sql.substr(0, after) + ctes + ", " + sql.substr(after);
  }
  return sql.substr(0, k) + "with " + ctes + "\n" + sql.substr(k);
}
}  // namespace

Result<std::string> Project::compile(const Node& node, bool incremental) {
  std::vector<std::string> deps, ephemerals;
  HRFLOW_ASSIGN_OR_RETURN(auto sql, render_node(node, false, incremental, &deps, &ephemerals));
  if (ephemerals.empty()) return sql;
  // Compile every ephemeral model this node reaches, dependencies first.
  std::vector<std::pair<std::string, std::string>> ordered;
  std::set<std::string> done, visiting;
  std::function<Status(const std::string&)> visit = [&](const std::string& id) -> Status {
    if (done.count(id)) return {};
    if (visiting.count(id)) return invalid_argument("ephemeral models form a cycle at {}", id);
    visiting.insert(id);
    const Node& e = nodes_.at(id);
    std::vector<std::string> d2, e2;
    HRFLOW_ASSIGN_OR_RETURN(auto esql, render_node(e, false, false, &d2, &e2));
    for (const auto& sub : e2) HRFLOW_TRY(visit(sub));
    size_t a = esql.find_first_not_of(" \t\r\n"), b = esql.find_last_not_of(" \t\r\n");
    ordered.emplace_back("__dbt__cte__" + e.name, a == std::string::npos ? "" : esql.substr(a, b - a + 1));
    done.insert(id);
    return {};
  };
  for (const auto& id : ephemerals) HRFLOW_TRY(visit(id));
  std::string ctes;
  for (size_t k = 0; k < ordered.size(); ++k) {
    ctes += fmt::format("{}{} as (\n{}\n)", k ? ", " : "", ordered[k].first, ordered[k].second);
  }
  // Re-install this node's context (the ephemerals' renders replaced it).
  return inject_ctes(sql, ctes);
}

}  // namespace hrflow::transform
