#include "query/semantic_layer.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "common/duckdb.h"
#include "common/embedded.h"

namespace hrflow::query {

// warehouse/semantic/semantic_layer.yml, embedded at build time (cmake/embed.cmake).
const EmbeddedFiles& semantic_layer_files();

namespace {

bool is_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

std::string trim(std::string_view s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

template <typename T>
std::vector<std::string> names_of(const std::vector<T>& items) {
  std::vector<std::string> out;
  for (const auto& i : items) out.push_back(i.name);
  return out;
}

std::string at(const YAML::Node& node) {
  if (!node.IsDefined()) return "";
  auto m = node.Mark();
  return fmt::format(":{}:{}", m.line + 1, m.column + 1);
}

std::vector<std::string> string_list(const YAML::Node& node) {
  std::vector<std::string> out;
  if (node && node.IsSequence()) {
    for (const auto& v : node) out.push_back(v.as<std::string>());
  }
  return out;
}

// Replace {macro} references; an unknown macro is an error naming it.
Result<std::string> expand(const std::string& sql, const std::map<std::string, std::string>& macros,
                           const std::string& where) {
  std::string out;
  size_t i = 0;
  while (i < sql.size()) {
    size_t open = sql.find('{', i);
    if (open == std::string::npos) {
      out += sql.substr(i);
      break;
    }
    size_t close = sql.find('}', open);
    if (close == std::string::npos) return invalid_argument("{}: unclosed '{{' in SQL", where);
    out += sql.substr(i, open - i);
    std::string name = sql.substr(open + 1, close - open - 1);
    auto it = macros.find(name);
    if (it == macros.end()) return invalid_argument("{}: unknown macro {{{}}}", where, name);
    out += "(" + it->second + ")";
    i = close + 1;
  }
  return out;
}

Result<ValueType> parse_type(const std::string& s, const std::string& where) {
  if (s.empty() || s == "string") return ValueType::kString;
  if (s == "integer") return ValueType::kInteger;
  if (s == "date") return ValueType::kDate;
  return invalid_argument("{}: unknown type '{}' (string, integer, date)", where, s);
}

// A filter value checked against the dimension's type and turned into a parameter.
Result<Param> to_param(const Dimension& d, const std::string& value) {
  Param p;
  p.type = d.type;
  p.text = value;
  switch (d.type) {
    case ValueType::kString:
      if (value.size() > 200) return invalid_argument("filter value for '{}' is longer than 200 characters", d.name);
      return p;
    case ValueType::kInteger: {
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), p.integer);
      if (ec != std::errc() || ptr != value.data() + value.size() || value.empty()) {
        return invalid_argument("filter value '{}' for '{}' is not an integer", value, d.name);
      }
      return p;
    }
    case ValueType::kDate: {
      int y = 0;
      unsigned m = 0, dd = 0;
      bool shape = value.size() == 10 && value[4] == '-' && value[7] == '-' &&
                   std::all_of(value.begin(), value.end(), [](char c) { return (c >= '0' && c <= '9') || c == '-'; });
      if (shape) {
        std::from_chars(value.data(), value.data() + 4, y);
        std::from_chars(value.data() + 5, value.data() + 7, m);
        std::from_chars(value.data() + 8, value.data() + 10, dd);
      }
      if (!shape || !std::chrono::year_month_day(std::chrono::year(y), std::chrono::month(m), std::chrono::day(dd)).ok()) {
        return invalid_argument("filter value '{}' for '{}' is not a date (YYYY-MM-DD)", value, d.name);
      }
      return p;
    }
  }
  return p;
}

// A rollup entry's SQL: a plain string, or a map with `sql` and `requires`.
struct SqlEntry {
  std::string sql;
  std::vector<std::string> requires_joins;
};
SqlEntry sql_entry(const YAML::Node& node) {
  if (node.IsScalar()) return {trim(node.as<std::string>()), {}};
  return {trim(node["sql"].as<std::string>("")), string_list(node["requires"])};
}

// The columns of `alias` that an SQL expression uses ("f.event_date" -> event_date).
std::set<std::string> columns_used(const std::string& sql, const std::string& alias) {
  static const std::regex kColumn(R"(\b([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*))");
  std::set<std::string> out;
  for (std::sregex_iterator it(sql.begin(), sql.end(), kColumn), end; it != end; ++it) {
    if ((*it)[1] == alias) out.insert((*it)[2]);
  }
  return out;
}

std::string placeholder(ValueType t) {
  switch (t) {
    case ValueType::kString: return "CAST(? AS VARCHAR)";
    case ValueType::kInteger: return "CAST(? AS BIGINT)";
    case ValueType::kDate: return "CAST(? AS DATE)";
  }
  return "?";
}

}  // namespace

std::string_view value_type_name(ValueType t) {
  switch (t) {
    case ValueType::kString: return "string";
    case ValueType::kInteger: return "integer";
    case ValueType::kDate: return "date";
  }
  return "?";
}

std::string_view filter_op_text(FilterOp op) {
  switch (op) {
    case FilterOp::kEq: return "=";
    case FilterOp::kNe: return "!=";
    case FilterOp::kLt: return "<";
    case FilterOp::kLe: return "<=";
    case FilterOp::kGt: return ">";
    case FilterOp::kGe: return ">=";
  }
  return "?";
}

Result<FilterOp> parse_filter_op(std::string_view t) {
  if (t == "=" || t == "==" || t == "in") return FilterOp::kEq;
  if (t == "!=" || t == "<>" || t == "not_in") return FilterOp::kNe;
  if (t == "<") return FilterOp::kLt;
  if (t == "<=") return FilterOp::kLe;
  if (t == ">") return FilterOp::kGt;
  if (t == ">=") return FilterOp::kGe;
  return invalid_argument("unknown filter operator '{}' (use =, !=, <, <=, >, >=)", t);
}

Result<Filter> parse_filter(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && ((text[i] >= 'a' && text[i] <= 'z') || (text[i] >= '0' && text[i] <= '9') || text[i] == '_' || text[i] == ' ')) ++i;
  Filter f;
  f.dimension = trim(text.substr(0, i));
  size_t j = i;
  while (j < text.size() && (text[j] == '=' || text[j] == '!' || text[j] == '<' || text[j] == '>')) ++j;
  std::string_view op = text.substr(i, j - i);
  if (f.dimension.empty() || op.empty() || j == text.size()) {
    return invalid_argument("malformed filter '{}': write DIMENSION=VALUE (or !=, <, <=, >, >=); several values "
                            "separated by commas, e.g. activity!=Sit,Sleep", text);
  }
  HRFLOW_ASSIGN_OR_RETURN(f.op, parse_filter_op(op));
  std::string rest(text.substr(j));
  std::stringstream ss(rest);
  std::string part;
  while (std::getline(ss, part, ',')) {
    std::string v = trim(part);
    if (v.empty()) return invalid_argument("malformed filter '{}': empty value", text);
    f.values.push_back(v);
  }
  if (f.values.empty()) return invalid_argument("malformed filter '{}': no value", text);
  return f;
}

Result<OrderBy> parse_order(std::string_view text) {
  std::stringstream ss{std::string(text)};
  std::string field, dir, extra;
  ss >> field >> dir >> extra;
  OrderBy o{field, false};
  std::transform(dir.begin(), dir.end(), dir.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (field.empty() || !extra.empty() || !(dir.empty() || dir == "asc" || dir == "desc")) {
    return invalid_argument("malformed order '{}': write FIELD [asc|desc]", text);
  }
  o.descending = dir == "desc";
  return o;
}

Result<SemanticLayer> SemanticLayer::parse(std::string_view yaml, std::string_view origin) {
  SemanticLayer layer;
  layer.origin_ = std::string(origin);
  const std::string o(origin);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    return invalid_argument("{}:{}:{}: {}", o, e.mark.line + 1, e.mark.column + 1, e.msg);
  }
  try {
    if (!root["fact"] || !root["fact"]["table"]) return invalid_argument("{}: missing fact.table", o);
    layer.fact_table_ = root["fact"]["table"].as<std::string>();
    layer.fact_alias_ = root["fact"]["alias"] ? root["fact"]["alias"].as<std::string>() : "f";

    std::map<std::string, std::string> macros;
    for (const auto& m : root["macros"]) macros[m.first.as<std::string>()] = trim(m.second.as<std::string>());
    std::string resting;
    for (const auto& r : string_list(root["resting_activities"])) resting += (resting.empty() ? "" : ", ") + db::quote_literal(r);
    if (!resting.empty()) macros["resting_activities"] = resting;
    // Macros may use each other once ({age} inside another macro); expand them in two passes.
    for (auto& [k, v] : macros) {
      auto e = expand(v, macros, o + ": macro " + k);
      if (e.ok()) v = *e;
    }
    auto expand_raw = [&](const std::string& sql, const std::string& where) -> Result<std::string> {
      // resting_activities is a list of literals, not an expression: no parentheses around it.
      std::string s = sql;
      for (size_t p; (p = s.find("{resting_activities}")) != std::string::npos;) s.replace(p, 20, resting);
      return expand(s, macros, where);
    };

    std::set<std::string> seen_joins;
    for (const auto& j : root["joins"]) {
      Join join;
      join.name = j.first.as<std::string>();
      const std::string where = o + at(j.first) + ": join " + join.name;
      join.table = j.second["table"].as<std::string>("");
      join.alias = j.second["alias"].as<std::string>("");
      join.on = trim(j.second["on"].as<std::string>(""));
      join.description = j.second["description"].as<std::string>("");
      join.left = j.second["kind"].as<std::string>("inner") == "left";
      join.requires_joins = string_list(j.second["requires"]);
      if (join.table.empty() || join.alias.empty() || join.on.empty()) {
        return invalid_argument("{}: needs table, alias and on", where);
      }
      for (const auto& r : join.requires_joins) {
        if (!seen_joins.count(r)) return invalid_argument("{}: requires '{}', which must be declared before it", where, r);
      }
      seen_joins.insert(join.name);
      layer.joins_.push_back(std::move(join));
    }
    auto check_reqs = [&](const std::vector<std::string>& reqs, const std::string& where) -> Status {
      for (const auto& r : reqs) {
        if (!seen_joins.count(r)) return invalid_argument("{}: requires unknown join '{}'", where, r);
      }
      return {};
    };
    for (const auto& m : root["measures"]) {
      Measure measure;
      measure.name = m.first.as<std::string>();
      const std::string where = o + at(m.first) + ": measure " + measure.name;
      if (!is_name(measure.name)) return invalid_argument("{}: names are lower_case_with_underscores", where);
      HRFLOW_ASSIGN_OR_RETURN(measure.sql, expand_raw(trim(m.second["sql"].as<std::string>("")), where));
      if (measure.sql.empty()) return invalid_argument("{}: missing sql", where);
      measure.description = m.second["description"].as<std::string>("");
      measure.requires_joins = string_list(m.second["requires"]);
      HRFLOW_TRY(check_reqs(measure.requires_joins, where));
      layer.measures_.push_back(std::move(measure));
    }
    for (const auto& d : root["dimensions"]) {
      Dimension dim;
      dim.name = d.first.as<std::string>();
      const std::string where = o + at(d.first) + ": dimension " + dim.name;
      if (!is_name(dim.name)) return invalid_argument("{}: names are lower_case_with_underscores", where);
      HRFLOW_ASSIGN_OR_RETURN(dim.sql, expand_raw(trim(d.second["sql"].as<std::string>("")), where));
      if (dim.sql.empty()) return invalid_argument("{}: missing sql", where);
      dim.description = d.second["description"].as<std::string>("");
      HRFLOW_ASSIGN_OR_RETURN(dim.type, parse_type(d.second["type"].as<std::string>(""), where));
      dim.requires_joins = string_list(d.second["requires"]);
      dim.values = string_list(d.second["values"]);
      HRFLOW_TRY(check_reqs(dim.requires_joins, where));
      layer.dimensions_.push_back(std::move(dim));
    }
    // Rollups: each becomes a layer of its own over its table (see Rollup in the header).
    std::map<std::string, SqlEntry> shared_measures;
    for (const auto& m : root["rollup_measures"]) shared_measures[m.first.as<std::string>()] = sql_entry(m.second);
    for (const auto& r : root["rollups"]) {
      Rollup rollup;
      rollup.name = r.first.as<std::string>();
      const std::string where = o + at(r.first) + ": rollup " + rollup.name;
      rollup.table = r.second["table"].as<std::string>("");
      rollup.covers = r.second["covers"].as<std::string>("");
      rollup.columns = string_list(r.second["columns"]);
      for (const auto& c : rollup.columns) {
        if (!is_name(c)) return invalid_argument("{}: columns: '{}' is not a column name", where, c);
      }
      if (rollup.table.empty() || !is_name(rollup.covers)) return invalid_argument("{}: needs table and covers (a column name)", where);
      const auto kept = string_list(r.second["keeps"]);
      auto only_kept = [&](const std::string& sql) {
        for (const auto& c : columns_used(sql, layer.fact_alias_)) {
          if (std::find(kept.begin(), kept.end(), c) == kept.end()) return false;
        }
        return true;
      };
      SemanticLayer view;
      view.origin_ = where;
      view.fact_table_ = rollup.table;
      view.fact_alias_ = layer.fact_alias_;
      std::set<std::string> usable;
      auto all_usable = [&](const std::vector<std::string>& reqs) {
        return std::all_of(reqs.begin(), reqs.end(), [&](const std::string& j) { return usable.count(j) > 0; });
      };
      // Absent sections are empty maps: looking a key up in an undefined node throws.
      auto section = [&](const char* key) { return r.second[key] ? r.second[key] : YAML::Node(YAML::NodeType::Map); };
      const YAML::Node join_overrides = section("joins");
      for (const auto& j : join_overrides) {
        if (!seen_joins.count(j.first.as<std::string>())) return invalid_argument("{}: unknown join '{}'", where, j.first.as<std::string>());
      }
      for (Join join : layer.joins_) {
        if (const YAML::Node over = join_overrides[join.name]) {
          join.on = trim(over["on"].as<std::string>(join.on));
          if (over["requires"]) join.requires_joins = string_list(over["requires"]);
        } else if (!only_kept(join.on)) {
          continue;
        }
        if (!all_usable(join.requires_joins)) continue;
        usable.insert(join.name);
        view.joins_.push_back(std::move(join));
      }
      const YAML::Node dim_overrides = section("dimensions");
      for (const auto& d : dim_overrides) {
        const auto name = d.first.as<std::string>();
        if (std::none_of(layer.dimensions_.begin(), layer.dimensions_.end(), [&](const Dimension& x) { return x.name == name; })) {
          return invalid_argument("{}: unknown dimension '{}'", where, name);
        }
      }
      for (Dimension dim : layer.dimensions_) {
        if (const YAML::Node over = dim_overrides[dim.name]) {
          SqlEntry e = sql_entry(over);
          HRFLOW_ASSIGN_OR_RETURN(dim.sql, expand_raw(e.sql, where + " dimension " + dim.name));
          dim.requires_joins = e.requires_joins;
        } else if (!only_kept(dim.sql)) {
          continue;
        }
        if (!all_usable(dim.requires_joins)) {
          if (dim_overrides[dim.name]) return invalid_argument("{}: dimension {} requires a join the rollup lacks", where, dim.name);
          continue;
        }
        view.dimensions_.push_back(std::move(dim));
      }
      std::map<std::string, SqlEntry> measures = shared_measures;
      for (const auto& m : section("measures")) measures[m.first.as<std::string>()] = sql_entry(m.second);
      for (const auto& [name, e] : measures) {
        auto fact_measure = std::find_if(layer.measures_.begin(), layer.measures_.end(), [&](const Measure& x) { return x.name == name; });
        if (fact_measure == layer.measures_.end()) return invalid_argument("{}: unknown measure '{}'", where, name);
        Measure measure{name, "", fact_measure->description, e.requires_joins};
        HRFLOW_ASSIGN_OR_RETURN(measure.sql, expand_raw(e.sql, where + " measure " + name));
        if (measure.sql.empty()) return invalid_argument("{} measure {}: missing sql", where, name);
        if (!all_usable(measure.requires_joins)) return invalid_argument("{}: measure {} requires a join the rollup lacks", where, name);
        view.measures_.push_back(std::move(measure));
      }
      rollup.layer = std::make_shared<const SemanticLayer>(std::move(view));
      layer.rollups_.push_back(std::move(rollup));
    }
  } catch (const YAML::Exception& e) {
    return invalid_argument("{}:{}:{}: {}", o, e.mark.line + 1, e.mark.column + 1, e.msg);
  }
  if (layer.measures_.empty()) return invalid_argument("{}: declares no measures", o);
  for (const auto& m : layer.measures_) {
    for (const auto& d : layer.dimensions_) {
      if (m.name == d.name) return invalid_argument("{}: '{}' is both a measure and a dimension", o, m.name);
    }
  }
  return layer;
}

Result<SemanticLayer> SemanticLayer::load(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return make_error(ErrorKind::kNotFound, "cannot read semantic layer '{}'", path.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), path.string());
}

Result<SemanticLayer> SemanticLayer::builtin() {
  return parse(semantic_layer_files().find("semantic_layer.yml")->bytes, "semantic_layer.yml (built in)");
}

Result<SemanticLayer> SemanticLayer::for_project(const std::filesystem::path& project_dir) {
  if (project_dir.empty()) return builtin();
  return load(project_dir / "semantic" / "semantic_layer.yml");
}

Result<const Dimension*> SemanticLayer::find_dimension(std::string_view name) const {
  for (const auto& d : dimensions_) {
    if (d.name == name) return &d;
  }
  return invalid_argument("unknown dimension '{}'; available: {}", name, join_names(names_of(dimensions_)));
}

Result<const Measure*> SemanticLayer::find_measure(std::string_view name) const {
  for (const auto& m : measures_) {
    if (m.name == name) return &m;
  }
  return invalid_argument("unknown metric '{}'; available: {}", name, join_names(names_of(measures_)));
}

Status SemanticLayer::add_requirements(const std::vector<std::string>& reqs, std::set<std::string>& out) const {
  for (const auto& r : reqs) {
    if (out.count(r)) continue;
    auto it = std::find_if(joins_.begin(), joins_.end(), [&](const Join& j) { return j.name == r; });
    if (it == joins_.end()) return make_error(ErrorKind::kInternal, "unknown join '{}'", r);
    out.insert(r);
    HRFLOW_TRY(add_requirements(it->requires_joins, out));
  }
  return {};
}

Result<SourceClause> SemanticLayer::source(const std::set<std::string>& wanted, const std::vector<Filter>& filters,
                                           const std::vector<Filter>& outside) const {
  std::set<std::string> needed;
  HRFLOW_TRY(add_requirements({wanted.begin(), wanted.end()}, needed));
  SourceClause out;
  std::vector<std::string> conditions;
  std::vector<Filter> all = filters;
  all.insert(all.end(), outside.begin(), outside.end());
  for (size_t n = 0; n < all.size(); ++n) {
    const Filter& f = all[n];
    if (n == filters.size()) conditions.emplace_back();  // the outside filters are AND-ed, then negated
    HRFLOW_ASSIGN_OR_RETURN(const Dimension* d, find_dimension(f.dimension));
    if (f.values.empty()) return invalid_argument("filter on '{}' has no value", f.dimension);
    if (f.values.size() > 1 && f.op != FilterOp::kEq && f.op != FilterOp::kNe) {
      return invalid_argument("filter on '{}': several values only work with = and !=", f.dimension);
    }
    if (f.values.size() > 1000) return invalid_argument("filter on '{}' has more than 1000 values", f.dimension);
    HRFLOW_TRY(add_requirements(d->requires_joins, needed));
    std::string ph;
    for (const auto& v : f.values) {
      HRFLOW_ASSIGN_OR_RETURN(Param p, to_param(*d, v));
      out.params.push_back(std::move(p));
      ph += (ph.empty() ? "" : ", ") + placeholder(d->type);
    }
    std::string cond;
    if (f.values.size() > 1) {
      cond = fmt::format("({}) {} ({})", d->sql, f.op == FilterOp::kEq ? "IN" : "NOT IN", ph);
    } else if (f.op == FilterOp::kNe) {
      // != keeps rows where the dimension is unknown (NULL), as a user reading "not X" expects.
      cond = fmt::format("({}) IS DISTINCT FROM {}", d->sql, ph);
    } else {
      cond = fmt::format("({}) {} {}", d->sql, filter_op_text(f.op), ph);
    }
    if (n < filters.size()) {
      conditions.push_back(std::move(cond));
    } else {
      conditions.back() += (conditions.back().empty() ? "" : " AND ") + ("(" + cond + ")");
    }
  }
  // A row fails the outside filters when they are not all true (a NULL comparison fails, as in WHERE).
  if (!outside.empty()) conditions.back() = "NOT coalesce(" + conditions.back() + ", false)";
  out.from = fmt::format("FROM {} {}", fact_table_, fact_alias_);
  for (const auto& j : joins_) {  // declaration order keeps dependencies first
    if (needed.count(j.name)) out.from += fmt::format("\n{} {} {} ON {}", j.left ? "LEFT JOIN" : "JOIN", j.table, j.alias, j.on);
  }
  for (size_t i = 0; i < conditions.size(); ++i) out.where += (i == 0 ? "WHERE " : "\n  AND ") + conditions[i];
  return out;
}

bool SemanticLayer::answers(const Request& req) const {
  auto has_dimension = [&](const std::string& name) {
    return std::any_of(dimensions_.begin(), dimensions_.end(), [&](const Dimension& d) { return d.name == name; });
  };
  for (const auto& m : req.metrics) {
    if (std::none_of(measures_.begin(), measures_.end(), [&](const Measure& x) { return x.name == m; })) return false;
  }
  for (const auto& d : req.dimensions) {
    if (!has_dimension(d)) return false;
  }
  for (const auto& f : req.filters) {
    if (!has_dimension(f.dimension)) return false;
  }
  for (const auto& f : req.outside) {
    if (!has_dimension(f.dimension)) return false;
  }
  return true;
}

Result<CompiledQuery> SemanticLayer::compile(const Request& req, const std::set<std::string>& rollups) const {
  for (const auto& r : rollups_) {
    if (rollups.count(r.name) && r.layer->answers(req)) return r.layer->compile_here(req);
  }
  return compile_here(req);
}

Result<std::set<std::string>> SemanticLayer::fresh_rollups(db::Connection& conn) const {
  std::set<std::string> out;
  if (rollups_.empty()) return out;
  HRFLOW_ASSIGN_OR_RETURN(auto facts, conn.scalar(fmt::format("SELECT count(*) FROM {}", fact_table_)));
  for (const auto& r : rollups_) {
    // A missing table is an error here: the rollup is simply not used.
    auto held = conn.scalar(fmt::format("SELECT coalesce(sum({}), 0) FROM {}", db::quote_identifier(r.covers), r.table));
    if (!held.ok() || *held != facts) continue;
    bool has_columns = true;  // a table built before a column was added lacks it until rebuilt
    for (const auto& c : r.columns) {
      has_columns = has_columns && conn.execute(fmt::format("SELECT {} FROM {} LIMIT 0", db::quote_identifier(c), r.table)).ok();
    }
    if (has_columns) out.insert(r.name);
  }
  return out;
}

Result<CompiledQuery> SemanticLayer::compile_here(const Request& req) const {
  if (req.metrics.empty() && req.dimensions.empty()) {
    return invalid_argument("nothing to compute: name at least one metric (available: {})", join_names(names_of(measures_)));
  }
  CompiledQuery q;
  std::set<std::string> joins;
  std::vector<std::string> select;
  std::set<std::string> used;
  for (const auto& name : req.dimensions) {
    HRFLOW_ASSIGN_OR_RETURN(const Dimension* d, find_dimension(name));
    if (!used.insert(name).second) return invalid_argument("'{}' is named twice", name);
    joins.insert(d->requires_joins.begin(), d->requires_joins.end());
    select.push_back(fmt::format("{} AS {}", d->sql, db::quote_identifier(d->name)));
    q.columns.push_back(d->name);
  }
  for (const auto& name : req.metrics) {
    HRFLOW_ASSIGN_OR_RETURN(const Measure* m, find_measure(name));
    if (!used.insert(name).second) return invalid_argument("'{}' is named twice", name);
    joins.insert(m->requires_joins.begin(), m->requires_joins.end());
    select.push_back(fmt::format("{} AS {}", m->sql, db::quote_identifier(m->name)));
    q.columns.push_back(m->name);
  }
  std::vector<std::string> order;
  for (const auto& o : req.order) {
    if (!used.count(o.field)) {
      return invalid_argument("cannot order by '{}': order by one of the requested metrics or dimensions ({})", o.field,
                              join_names(q.columns));
    }
    order.push_back(fmt::format("{} {} NULLS LAST", db::quote_identifier(o.field), o.descending ? "DESC" : "ASC"));
  }
  if (order.empty()) {
    for (const auto& d : req.dimensions) order.push_back(db::quote_identifier(d) + " ASC NULLS LAST");
  }
  if (req.limit && (*req.limit < 1 || *req.limit > kMaxLimit)) {
    return invalid_argument("limit must be between 1 and {}", kMaxLimit);
  }
  HRFLOW_ASSIGN_OR_RETURN(SourceClause src, source(joins, req.filters, req.outside));
  q.sql = "SELECT " + select[0];
  for (size_t i = 1; i < select.size(); ++i) q.sql += ",\n       " + select[i];
  q.sql += "\n" + src.from;
  if (!src.where.empty()) q.sql += "\n" + src.where;
  if (!req.dimensions.empty() && !req.metrics.empty()) q.sql += "\nGROUP BY ALL";
  if (!req.dimensions.empty() && req.metrics.empty()) q.sql = "SELECT DISTINCT" + q.sql.substr(6);
  if (!order.empty()) {
    q.sql += "\nORDER BY " + order[0];
    for (size_t i = 1; i < order.size(); ++i) q.sql += ", " + order[i];
  }
  if (req.limit) q.sql += fmt::format("\nLIMIT {}", *req.limit);  // a validated integer, not user text
  q.params = std::move(src.params);
  q.source = fact_table_;
  return q;
}

std::string SemanticLayer::describe() const {
  std::string out = "Metrics (--metric):\n";
  for (const auto& m : measures_) out += fmt::format("  {:<20} {}\n", m.name, m.description);
  out += "Dimensions (--by, --where):\n";
  for (const auto& d : dimensions_) {
    std::string extra;
    if (d.type != ValueType::kString) extra = fmt::format(" [{}]", value_type_name(d.type));
    if (!d.values.empty()) extra += " {" + join_names(d.values) + "}";
    out += fmt::format("  {:<20} {}{}\n", d.name, d.description, extra);
  }
  return out;
}

}  // namespace hrflow::query
