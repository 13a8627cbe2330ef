// The Jinja context models, tests and macros render in: ref, source, this, config, var, run_query,
// is_incremental, target, model, execute, and the dbt / dbt_utils helpers written for DuckDB; and
// compilation (ephemeral models injected as CTEs). Loading the project is project.cpp.
#include <algorithm>

#include "common/duckdb.h"
#include "transform/project.h"
#include "transform/project_detail.h"

namespace hrflow::transform {

using namespace detail;

namespace {
Value fn_error(std::string message) {
  return Value::func([message](const CallArgs&) -> Result<Value> { return invalid_argument("{}", message); });
}

}  // namespace

namespace detail {
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
}  // namespace detail

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
