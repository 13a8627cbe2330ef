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
#include "transform/project_detail.h"

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

// Helpers shared with context.cpp (project_detail.h) and the loader below.
namespace detail {

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

}  // namespace detail

using namespace detail;

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

Status Project::load_macros() {
  detail::install_static_globals(env_);
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

}  // namespace hrflow::transform
