#include "transform/runner.h"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

#include "common/clock.h"
#include "transform/selector.h"

namespace hrflow::transform {

namespace fs = std::filesystem;
using db::quote_identifier;
using db::quote_literal;


// ---------------------------------------------------------------------------------------------
// Execution helpers

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::string dots(const std::string& text, size_t width = 62) {
  std::string out = text + " ";
  while (out.size() < width) out += '.';
  return out;
}

// "!= 0", ">10", ">= 5": does `n` meet the condition?
bool meets(const std::string& cond, int64_t n) {
  std::string c;
  for (char ch : cond) {
    if (!std::isspace(static_cast<unsigned char>(ch))) c += ch;
  }
  for (const char* op : {"!=", ">=", "<=", "==", ">", "<", "="}) {
    size_t len = std::strlen(op);
    if (c.compare(0, len, op) == 0) {
      int64_t v = std::strtoll(c.c_str() + len, nullptr, 10);
      std::string o = op;
      if (o == "!=") return n != v;
      if (o == ">=") return n >= v;
      if (o == "<=") return n <= v;
      if (o == ">") return n > v;
      if (o == "<") return n < v;
      return n == v;
    }
  }
  return n != 0;
}

std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

// Where a table is built before it is swapped in.
std::string relation_sql_tmp(const std::string& schema, const std::string& name) {
  return quote_identifier(schema) + "." + quote_identifier(name + "__hrflow_tmp");
}

}  // namespace

Result<std::string> Runner::relation_kind(const std::string& schema, const std::string& name) {
  // A table is found by a catalog lookup: a run asks twice per model, and a query on
  // information_schema scans the whole catalog each time.
  duckdb_table_description table = nullptr;
  const bool is_table = duckdb_table_description_create(conn_.raw(), schema.c_str(), name.c_str(), &table) == DuckDBSuccess;
  duckdb_table_description_destroy(&table);
  if (is_table) return std::string("table");
  HRFLOW_ASSIGN_OR_RETURN(
      auto v, conn_.scalar(fmt::format("select 1 from duckdb_views() where schema_name = {} and view_name = {}",
                                       quote_literal(schema), quote_literal(name))));
  return v ? std::string("view") : std::string();
}

Result<bool> Runner::relation_exists(const std::string& schema, const std::string& name) {
  HRFLOW_ASSIGN_OR_RETURN(auto k, relation_kind(schema, name));
  return !k.empty();
}

std::string Runner::write_compiled(const Node& node, const std::string& sql) {
  fs::path rel = node.type == NodeType::kTest && !node.test_name.empty() ? fs::path(node.path) / (node.name + ".sql") : fs::path(node.path);
  fs::path out = target_dir_ / "compiled" / project_.name() / rel;
  std::error_code ec;
  fs::create_directories(out.parent_path(), ec);
  std::ofstream(out) << sql << "\n";
  auto rel_out = fs::relative(out, fs::current_path(ec), ec);
  return ec || rel_out.empty() ? out.string() : rel_out.string();
}

namespace {
Result<std::vector<std::string>> columns_of(db::Connection& conn, const std::string& from_sql) {
  HRFLOW_ASSIGN_OR_RETURN(auto r, conn.query(fmt::format("select * from {} limit 0", from_sql)));
  std::vector<std::string> out;
  for (uint64_t c = 0; c < r.column_count(); ++c) out.push_back(r.column_name(c));
  return out;
}

std::string quoted_list(const std::vector<std::string>& cols, const std::string& prefix = "") {
  std::string out;
  for (size_t k = 0; k < cols.size(); ++k) out += (k ? ", " : "") + prefix + quote_identifier(cols[k]);
  return out;
}

// For delete+insert and merge: " and DBT_INTERNAL_DEST.k between <min> and <max>" for each key column
// with an ordered scalar type and no NULL among the new rows, as literals, so that the statement skips
// the target's row groups outside the new rows' range (DuckDB prunes on constants, not on subqueries).
// nullopt when there are no new rows.
Result<std::optional<std::string>> key_range_predicates(db::Connection& conn, const std::string& tmp,
                                                         const std::vector<std::string>& keys, const std::string& dest) {
  std::string select = "count(*)";
  for (const auto& k : keys) {
    const std::string q = quote_identifier(k);
    select += fmt::format(", count({0}), typeof(min({0})), cast(min({0}) as varchar), cast(max({0}) as varchar)", q);
  }
  HRFLOW_ASSIGN_OR_RETURN(auto res, conn.query(fmt::format("select {} from {}", select, tmp)));
  const int64_t rows = res.get_int64(0, 0).value_or(0);
  if (rows == 0) return std::optional<std::string>();
  static const std::set<std::string> kOrdered = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT",
                                                 "USMALLINT", "UINTEGER", "UBIGINT", "DATE", "TIME", "TIMESTAMP",
                                                 "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS"};
  std::string out;
  for (size_t k = 0; k < keys.size(); ++k) {
    const uint64_t c = 1 + 4 * k;
    auto type = res.get_string(0, c + 1);
    if (res.get_int64(0, c).value_or(0) != rows || !type || !kOrdered.count(*type)) continue;
    out += fmt::format(" and {}.{} between cast({} as {}) and cast({} as {})", dest, quote_identifier(keys[k]),
                       quote_literal(res.get_string(0, c + 2).value_or("")), *type,
                       quote_literal(res.get_string(0, c + 3).value_or("")), *type);
  }
  return std::optional<std::string>(out);
}

// Rebuilding a table model writes all of it (log, sync, checkpoint) even when its inputs did not change,
// as for a dimension between two changes of the operational data. Does the freshly built `fresh` hold
// exactly the rows and columns of `current` (both in `schema`; `rows` is fresh's row count)? Only
// tables up to kSameTableMaxRows are compared, since the comparison reads both tables in full: that
// covers dimension-sized tables, and large tables are usually incremental models anyway.
constexpr int64_t kSameTableMaxRows = 1000000;

Result<bool> same_table(db::Connection& conn, const std::string& schema, const std::string& fresh,
                        const std::string& current, int64_t rows) {
  if (rows < 0 || rows > kSameTableMaxRows) return false;
  const std::string f = quote_identifier(schema) + "." + quote_identifier(fresh);
  const std::string c = quote_identifier(schema) + "." + quote_identifier(current);
  HRFLOW_ASSIGN_OR_RETURN(auto n, conn.scalar("select count(*) from " + c));
  if (!n || std::strtoll(n->c_str(), nullptr, 10) != rows) return false;
  // Same column names and types in the same order; then, the counts being equal, no row of one
  // missing from the other (EXCEPT ALL counts duplicates and matches NULLs).
  auto columns = [&](const std::string& table) {
    return conn.scalar(fmt::format(
        "select string_agg(column_name || ' ' || data_type, ', ' order by ordinal_position) from information_schema.columns "
        "where table_catalog = current_database() and table_schema = {} and table_name = {}",
        quote_literal(schema), quote_literal(table)));
  };
  HRFLOW_ASSIGN_OR_RETURN(auto fresh_cols, columns(fresh));
  HRFLOW_ASSIGN_OR_RETURN(auto current_cols, columns(current));
  if (!fresh_cols || fresh_cols != current_cols) return false;
  HRFLOW_ASSIGN_OR_RETURN(auto missing, conn.scalar(fmt::format("select count(*) from (from {} except all from {})", f, c)));
  return missing && *missing == "0";
}

// run_query()'s answer as a template value shaped like dbt's (agate) table: rows[i][j],
// columns[j].name / .values(), column_names. Numbers and booleans keep their type; NULL is none;
// everything else (timestamps, dates, text) is its text, ready to quote into SQL.
Result<Value> query_value(db::Connection& conn, const std::string& sql) {
  HRFLOW_ASSIGN_OR_RETURN(auto res, conn.query(sql));
  const uint64_t ncols = res.column_count(), nrows = res.row_count();
  std::vector<duckdb_type> types;
  for (uint64_t c = 0; c < ncols; ++c) types.push_back(duckdb_column_type(res.raw(), c));
  auto cell = [&](uint64_t row, uint64_t col) -> Value {
    if (res.is_null(row, col)) return Value::none();
    switch (types[col]) {
      case DUCKDB_TYPE_BOOLEAN: return Value::boolean(res.get_int64(row, col).value_or(0) != 0);
      case DUCKDB_TYPE_TINYINT: case DUCKDB_TYPE_SMALLINT: case DUCKDB_TYPE_INTEGER: case DUCKDB_TYPE_BIGINT:
      case DUCKDB_TYPE_UTINYINT: case DUCKDB_TYPE_USMALLINT: case DUCKDB_TYPE_UINTEGER:
        return Value::integer(res.get_int64(row, col).value_or(0));
      case DUCKDB_TYPE_FLOAT: case DUCKDB_TYPE_DOUBLE: case DUCKDB_TYPE_DECIMAL:
        return Value::number(res.get_double(row, col).value_or(0));
      default: return Value::str(res.get_string(row, col).value_or(""));
    }
  };
  List rows, names;
  for (uint64_t r = 0; r < nrows; ++r) {
    List row;
    for (uint64_t c = 0; c < ncols; ++c) row.push_back(cell(r, c));
    rows.push_back(Value::of_list(std::move(row)));
  }
  List columns;
  for (uint64_t c = 0; c < ncols; ++c) {
    List values;
    for (uint64_t r = 0; r < nrows; ++r) values.push_back(cell(r, c));
    auto shared = std::make_shared<List>(std::move(values));
    names.push_back(Value::str(res.column_name(c)));
    columns.push_back(Value::object(res.column_name(c), {{"name", Value::str(res.column_name(c))},
                                                         {"values", Value::func([shared](const CallArgs&) -> Result<Value> {
                                                            return Value::of_list(*shared);
                                                          })}}));
  }
  return Value::object(fmt::format("<table of {} rows>", nrows), {{"rows", Value::of_list(std::move(rows))},
                                                                  {"columns", Value::of_list(std::move(columns))},
                                                                  {"column_names", Value::of_list(std::move(names))}});
}
}  // namespace

Runner::Runner(Project& project, db::Connection& conn, std::filesystem::path target_dir)
    : project_(project), conn_(conn), target_dir_(std::move(target_dir)) {
  project_.set_query_function([this](const std::string& sql) { return query_value(conn_, sql); });
}

Runner::~Runner() { project_.set_query_function(nullptr); }


Status Runner::materialize(const Node& node, const std::string& sql, const RunOptions& options, NodeResult& r) {
  const std::string schema = node.schema(), name = node.alias();
  const std::string target = node.relation();
  const std::string mat = node.materialized();
  HRFLOW_TRY(conn_.execute("create schema if not exists " + quote_identifier(schema)));
  HRFLOW_ASSIGN_OR_RETURN(auto existing, relation_kind(schema, name));
  if (mat == "view") {
    HRFLOW_ASSIGN_OR_RETURN(auto tx, db::Transaction::begin(conn_));
    if (existing == "table") HRFLOW_TRY(conn_.execute("drop table " + target));
    HRFLOW_TRY(conn_.execute("create or replace view " + target + " as " + sql));
    return tx.commit();
  }
  bool incremental = mat == "incremental" && !existing.empty() && !options.full_refresh;
  if (mat == "table" || (mat == "incremental" && !incremental)) {
    // Built under a temporary name and swapped in one transaction: a failure leaves the old version.
    const std::string tmp = relation_sql_tmp(schema, name);
    HRFLOW_ASSIGN_OR_RETURN(auto tx, db::Transaction::begin(conn_));
    HRFLOW_TRY(conn_.execute("drop table if exists " + tmp));
    HRFLOW_ASSIGN_OR_RETURN(auto res, conn_.query("create table " + tmp + " as " + sql));
    if (res.row_count() > 0) r.rows_affected = res.get_int64(0, 0).value_or(-1);
    if (mat == "table" && existing == "table" && !options.full_refresh) {
      HRFLOW_ASSIGN_OR_RETURN(bool same, same_table(conn_, schema, name + "__hrflow_tmp", name, r.rows_affected));
      if (same) {  // the transaction rolls back: nothing is written, the table stays as it is
        r.changed = false;
        return {};
      }
    }
    if (existing == "view") HRFLOW_TRY(conn_.execute("drop view " + target));
    if (existing == "table") HRFLOW_TRY(conn_.execute("drop table " + target));
    HRFLOW_TRY(conn_.execute(fmt::format("alter table {} rename to {}", tmp, quote_identifier(name))));
    return tx.commit();
  }
  if (mat != "incremental") {
    return invalid_argument("{}: unknown materialization '{}': use view, table, incremental or ephemeral", node.path, mat);
  }
  if (existing == "view") return invalid_argument("{}: {} exists as a view; run with --full-refresh to rebuild it as a table", node.path, target);
  auto keys = node.cfg_list("unique_key");
  std::string strategy = node.cfg_string("incremental_strategy", keys.empty() ? "append" : "delete+insert");
  if (strategy != "append" && strategy != "merge" && strategy != "delete+insert") {
    return invalid_argument("{}: unknown incremental_strategy '{}': use append, merge or delete+insert", node.path, strategy);
  }
  if (strategy != "append" && keys.empty()) {
    return invalid_argument("{}: incremental_strategy '{}' needs unique_key in config()", node.path, strategy);
  }
  HRFLOW_ASSIGN_OR_RETURN(auto tx, db::Transaction::begin(conn_));
  const std::string tmp = quote_identifier(name + "__hrflow_incr");
  HRFLOW_TRY(conn_.execute("create or replace temp table " + tmp + " as " + sql));
  HRFLOW_ASSIGN_OR_RETURN(auto new_cols, columns_of(conn_, tmp));
  HRFLOW_ASSIGN_OR_RETURN(auto old_cols, columns_of(conn_, target));
  std::string on_change = node.cfg_string("on_schema_change", "ignore");
  std::vector<std::string> cols;
  for (const auto& c : new_cols) {
    bool present = std::find(old_cols.begin(), old_cols.end(), c) != old_cols.end();
    if (present) {
      cols.push_back(c);
    } else if (on_change == "append_new_columns" || on_change == "sync_all_columns") {
      HRFLOW_ASSIGN_OR_RETURN(auto type, conn_.scalar(fmt::format("select data_type from information_schema.columns where table_name = {} and column_name = {} and table_catalog = 'temp'",
                                                                  quote_literal(name + "__hrflow_incr"), quote_literal(c))));
      HRFLOW_TRY(conn_.execute(fmt::format("alter table {} add column {} {}", target, quote_identifier(c), type.value_or("VARCHAR"))));
      cols.push_back(c);
    } else if (on_change == "fail") {
      return invalid_argument("{}: the model now has column '{}' that {} lacks (on_schema_change: fail); run with --full-refresh", node.path, c, target);
    }
  }
  for (const auto& k : keys) {
    if (std::find(new_cols.begin(), new_cols.end(), k) == new_cols.end())
      return invalid_argument("{}: unique_key column '{}' is not in the model's output", node.path, k);
  }
  // The target is aliased DBT_INTERNAL_DEST, as in dbt, so incremental_predicates written for dbt work.
  const std::string dest = "DBT_INTERNAL_DEST";
  std::string key_match;
  for (size_t k = 0; k < keys.size(); ++k) {
    key_match += fmt::format("{}s.{} is not distinct from {}.{}", k ? " and " : "", quote_identifier(keys[k]), dest, quote_identifier(keys[k]));
  }
  HRFLOW_ASSIGN_OR_RETURN(auto pruning, key_range_predicates(conn_, tmp, keys, dest));
  if (!pruning) {  // no new rows: nothing to replace or add
    r.rows_affected = 0;
    r.changed = false;
    HRFLOW_TRY(conn_.execute("drop table " + tmp));
    return tx.commit();
  }
  for (const auto& p : node.cfg_list("incremental_predicates")) *pruning += " and (" + p + ")";
  int64_t affected = 0;
  if (strategy == "delete+insert") {
    HRFLOW_TRY(conn_.execute(fmt::format("delete from {} as {} where exists (select 1 from {} s where {}){}", target, dest, tmp, key_match, *pruning)));
  } else if (strategy == "merge") {
    std::string sets;
    for (const auto& c : cols) {
      if (std::find(keys.begin(), keys.end(), c) != keys.end()) continue;
      sets += fmt::format("{}{} = s.{}", sets.empty() ? "" : ", ", quote_identifier(c), quote_identifier(c));
    }
    if (!sets.empty()) {
      HRFLOW_ASSIGN_OR_RETURN(auto up, conn_.query(fmt::format("update {} as {} set {} from {} s where {}{}", target, dest, sets, tmp, key_match, *pruning)));
      if (up.row_count() > 0) affected += up.get_int64(0, 0).value_or(0);
    }
    HRFLOW_ASSIGN_OR_RETURN(auto ins, conn_.query(fmt::format(
        "insert into {} ({}) select {} from {} s where not exists (select 1 from {} as {} where {}{})", target, quoted_list(cols),
        quoted_list(cols, "s."), tmp, target, dest, key_match, *pruning)));
    if (ins.row_count() > 0) affected += ins.get_int64(0, 0).value_or(0);
    r.rows_affected = affected;
    r.changed = affected != 0;
    HRFLOW_TRY(conn_.execute("drop table " + tmp));
    return tx.commit();
  }
  HRFLOW_ASSIGN_OR_RETURN(auto ins, conn_.query(fmt::format("insert into {} ({}) select {} from {}", target, quoted_list(cols), quoted_list(cols), tmp)));
  if (ins.row_count() > 0) r.rows_affected = ins.get_int64(0, 0).value_or(-1);
  HRFLOW_TRY(conn_.execute("drop table " + tmp));
  return tx.commit();
}

Status Runner::load_seed(const Node& node, NodeResult& r) {
  const std::string schema = node.schema(), name = node.alias(), target = node.relation();
  fs::path csv = project_.dir() / node.path;
  std::string options = "header = true, auto_detect = true";
  auto it = node.config.find("column_types");
  if (it != node.config.end() && it->second.kind == Value::kDict && !it->second.dict->empty()) {
    std::string types;
    for (const auto& [col, type] : *it->second.dict) {
      types += fmt::format("{}{}: {}", types.empty() ? "" : ", ", quote_literal(col), quote_literal(to_display(type)));
    }
    options += ", types = {" + types + "}";
  }
  std::string delim = node.cfg_string("delimiter");
  if (!delim.empty()) options += ", delim = " + quote_literal(delim);
  HRFLOW_TRY(conn_.execute("create schema if not exists " + quote_identifier(schema)));
  HRFLOW_ASSIGN_OR_RETURN(auto existing, relation_kind(schema, name));
  const std::string tmp = relation_sql_tmp(schema, name);
  HRFLOW_ASSIGN_OR_RETURN(auto tx, db::Transaction::begin(conn_));
  HRFLOW_TRY(conn_.execute("drop table if exists " + tmp));
  HRFLOW_ASSIGN_OR_RETURN(auto res, conn_.query(fmt::format("create table {} as select * from read_csv({}, {})", tmp,
                                                            quote_literal(fs::absolute(csv).string()), options)));
  if (res.row_count() > 0) r.rows_affected = res.get_int64(0, 0).value_or(-1);
  if (existing == "view") HRFLOW_TRY(conn_.execute("drop view " + target));
  if (existing == "table") HRFLOW_TRY(conn_.execute("drop table " + target));
  HRFLOW_TRY(conn_.execute(fmt::format("alter table {} rename to {}", tmp, quote_identifier(name))));
  return tx.commit();
}

Status Runner::run_test(const Node& node, const std::string& sql, const RunOptions& options, NodeResult& r) {
  std::string query = sql;
  int64_t limit = -1;
  if (auto it = node.config.find("limit"); it != node.config.end() && it->second.kind == Value::kInt) limit = it->second.i;
  if (limit >= 0) query = fmt::format("select * from ({}\n) dbt_limit limit {}", sql, limit);
  bool store = options.store_failures || node.cfg_bool("store_failures", false);
  // No newline before the test SQL: DuckDB's "LINE n" then matches the compiled file.
  std::string count_sql = fmt::format("select count(*) from ({}\n) dbt_internal_test", query);
  if (store) {
    std::string schema = node.cfg_string("schema", "dbt_test__audit");
    std::string rel = quote_identifier(schema) + "." + quote_identifier(node.name);
    HRFLOW_TRY(conn_.execute("create schema if not exists " + quote_identifier(schema)));
    HRFLOW_TRY(conn_.execute(fmt::format("create or replace table {} as {}", rel, query)));
    count_sql = "select count(*) from " + rel;
  }
  HRFLOW_ASSIGN_OR_RETURN(auto n, conn_.scalar(count_sql));
  r.failures = n ? std::strtoll(n->c_str(), nullptr, 10) : 0;
  bool warn_sev = node.cfg_string("severity", "error") == "warn" || node.cfg_string("severity", "error") == "WARN";
  std::string error_if = node.cfg_string("error_if", "!= 0"), warn_if = node.cfg_string("warn_if", "!= 0");
  if (!warn_sev && meets(error_if, r.failures)) {
    r.status = "fail";
  } else if (meets(warn_if, r.failures)) {
    r.status = "warn";
  } else {
    r.status = "pass";
  }
  if (r.status != "pass") {
    r.message = fmt::format("Got {} result{}, configured to {} if {}", r.failures, r.failures == 1 ? "" : "s",
                            r.status == "fail" ? "fail" : "warn", r.status == "fail" ? error_if : warn_if);
    if (store) r.message += fmt::format("; failing rows in {}.{}", node.cfg_string("schema", "dbt_test__audit"), node.name);
  }
  return {};
}

NodeResult Runner::execute(const Node& node, const RunOptions& options) {
  NodeResult r;
  r.unique_id = node.unique_id;
  auto t0 = std::chrono::steady_clock::now();
  std::string where = node.line > 0 ? fmt::format("{}:{}", node.path, node.line) : node.path;
  auto fail = [&](const Error& e, const std::string& what) {
    r.status = "error";
    std::string msg = e.message;
    // DuckDB repeats the "LINE n:" excerpt; keep one.
    if (size_t first = msg.find("\nLINE "); first != std::string::npos) {
      if (size_t second = msg.find("\nLINE ", first + 1); second != std::string::npos) msg = msg.substr(0, second);
    }
    while (!msg.empty() && std::isspace(static_cast<unsigned char>(msg.back()))) msg.pop_back();
    // DuckDB reports "LINE n:" of the statement; statements start on the compiled SQL's first line.
    std::smatch m;
    static const std::regex kLine("LINE ([0-9]+):");
    std::string line_hint;
    if (std::regex_search(msg, m, kLine) && !r.compiled_path.empty()) line_hint = fmt::format(" (line {} of {})", m[1].str(), r.compiled_path);
    else if (!r.compiled_path.empty()) line_hint = fmt::format(" (compiled SQL: {})", r.compiled_path);
    r.message = fmt::format("{}: {} {}{}: {}", where, what, node.name, line_hint, msg);
  };
  if (node.type == NodeType::kSeed) {
    auto st = load_seed(node, r);
    if (!st.ok()) fail(st.error(), "error loading seed");
    else r.status = "success";
  } else {
    bool incremental = false;
    if (node.materialized() == "incremental" && !options.full_refresh) {
      auto ex = relation_exists(node.schema(), node.alias());
      incremental = ex.ok() && *ex;
    }
    auto sql = project_.compile(node, incremental);
    if (!sql.ok()) {
      r.status = "error";
      r.message = sql.error().message;
    } else {
      r.compiled_path = write_compiled(node, *sql);
      if (options.command == Command::kCompile) {
        r.status = "success";
      } else if (node.type == NodeType::kTest) {
        auto st = run_test(node, *sql, options, r);
        if (!st.ok()) fail(st.error(), "error in test");
      } else {
        auto st = materialize(node, *sql, options, r);
        if (!st.ok()) fail(st.error(), "database error in model");
        else r.status = "success";
      }
      if (options.command == Command::kCompile) {
        std::fprintf(options.out, "-- %s (%s)\n%s\n\n", node.name.c_str(), node.path.c_str(), sql->c_str());
      }
    }
  }
  r.seconds = seconds_since(t0);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Run

Result<std::vector<NodeResult>> Runner::run(const RunOptions& options) {
  auto t0 = std::chrono::steady_clock::now();
  bool include_tests = options.command == Command::kBuild || options.command == Command::kTest || options.command == Command::kList;
  HRFLOW_ASSIGN_OR_RETURN(auto chosen, select_nodes(project_, options.select, options.exclude, include_tests));
  auto wanted = [&](const Node& n) {
    switch (options.command) {
      case Command::kBuild: return n.type != NodeType::kSource;
      case Command::kRun: return n.type == NodeType::kModel;
      case Command::kTest: return n.type == NodeType::kTest;
      case Command::kSeed: return n.type == NodeType::kSeed;
      case Command::kCompile: return n.type == NodeType::kModel || n.type == NodeType::kTest;
      case Command::kList: return true;
    }
    return false;
  };
  std::vector<const Node*> plan_nodes, pending_tests;
  for (const auto& id : project_.topological_order()) {
    const Node* n = project_.find(id);
    if (!chosen.count(id) || !wanted(*n)) continue;
    if (n->type == NodeType::kModel && n->materialized() == "ephemeral") continue;  // inlined where used
    if (n->type == NodeType::kTest) pending_tests.push_back(n);
    else plan_nodes.push_back(n);
  }
  size_t total = plan_nodes.size() + pending_tests.size();
  std::set<std::string> in_run;
  for (const auto* n : plan_nodes) in_run.insert(n->unique_id);
  std::map<std::string, int> counts;
  for (const auto* n : plan_nodes) counts[to_string(n->type)]++;
  if (!pending_tests.empty()) counts["test"] = static_cast<int>(pending_tests.size());
  std::string found;
  for (const auto& [k, v] : counts) found += fmt::format("{}{} {}{}", found.empty() ? "" : ", ", v, k, v == 1 ? "" : "s");
  if (options.command != Command::kCompile) {
    std::fprintf(options.out, "Found %s in project %s\n\n", found.empty() ? "nothing to run" : found.c_str(), project_.name().c_str());
  }
  std::error_code ec;
  fs::create_directories(target_dir_, ec);

  std::vector<NodeResult> results;
  std::set<std::string> done, blocked;
  bool stop = false;
  size_t index = 0;
  auto print = [&](const Node& n, const NodeResult& r) {
    std::string label;
    if (n.type == NodeType::kTest) label = n.name;
    else label = fmt::format("{} {}", n.type == NodeType::kSeed ? "seed file" : n.materialized() + " model", n.schema() + "." + n.alias());
    std::string status = r.status == "success" ? "OK" : r.status == "pass" ? "PASS" : r.status == "fail" ? fmt::format("FAIL {}", r.failures)
                         : r.status == "warn" ? fmt::format("WARN {}", r.failures) : r.status == "skipped" ? "SKIP" : "ERROR";
    std::string tail = r.status == "skipped" ? fmt::format("[{}]", status) : fmt::format("[{} in {:.2f}s]", status, r.seconds);
    if (r.status == "success" && r.rows_affected >= 0 && n.type != NodeType::kTest) tail = fmt::format("[OK {} rows in {:.2f}s]", r.rows_affected, r.seconds);
    std::fprintf(options.out, "%3zu of %zu %s %s\n", index, total, dots(status + " " + label).c_str(), tail.c_str());
    std::fflush(options.out);
  };
  auto block_descendants = [&](const std::string& id, bool include_tests_of_self) {
    std::function<void(const std::string&)> walk = [&](const std::string& x) {
      for (const auto& c : project_.children(x)) {
        const Node* cn = project_.find(c);
        if (!include_tests_of_self && cn->type == NodeType::kTest && x == id) continue;
        if (blocked.insert(c).second) walk(c);
      }
    };
    walk(id);
  };
  auto run_one = [&](const Node& n) {
    ++index;
    NodeResult r;
    bool is_blocked = blocked.count(n.unique_id) > 0 ||
                      std::any_of(n.depends_on.begin(), n.depends_on.end(), [&](const std::string& d) { return blocked.count(d) > 0; });
    const bool interrupted = options.stop.stop_requested();
    if (stop || is_blocked || interrupted) {
      r.unique_id = n.unique_id;
      r.status = "skipped";
      r.message = interrupted ? "skipped: the run was stopped"
                  : stop      ? "skipped: --fail-fast after an earlier failure"
                              : "skipped: an upstream model or test failed";
      blocked.insert(n.unique_id);
    } else {
      r = execute(n, options);
    }
    if (options.command != Command::kCompile) print(n, r);
    bool failed = r.status == "error" || r.status == "fail";
    if (failed) {
      if (n.type == NodeType::kTest) {
        for (const auto& d : n.depends_on) block_descendants(d, false);
      } else {
        block_descendants(n.unique_id, true);
      }
      if (options.fail_fast) stop = true;
    }
    done.insert(n.unique_id);
    results.push_back(std::move(r));
  };
  auto flush_tests = [&] {
    for (auto it = pending_tests.begin(); it != pending_tests.end();) {
      const Node* t = *it;
      bool ready = std::all_of(t->depends_on.begin(), t->depends_on.end(),
                               [&](const std::string& d) { return !in_run.count(d) || done.count(d); });
      if (ready) {
        it = pending_tests.erase(it);
        run_one(*t);
      } else {
        ++it;
      }
    }
  };
  flush_tests();
  for (const auto* n : plan_nodes) {
    run_one(*n);
    flush_tests();
  }
  double elapsed = seconds_since(t0);

  int pass = 0, warn = 0, error = 0, skip = 0;
  for (const auto& r : results) {
    if (r.status == "success" || r.status == "pass") ++pass;
    else if (r.status == "warn") ++warn;
    else if (r.status == "skipped") ++skip;
    else ++error;
  }
  if (options.command != Command::kCompile) {
    std::fprintf(options.out, "\nFinished running %s in %.2fs.\n", found.empty() ? "nothing" : found.c_str(), elapsed);
    if (error + warn > 0) {
      std::fprintf(options.out, "\nCompleted with %d error%s and %d warning%s:\n", error, error == 1 ? "" : "s", warn, warn == 1 ? "" : "s");
      for (const auto& r : results) {
        if (r.status != "error" && r.status != "fail" && r.status != "warn") continue;
        const Node* n = project_.find(r.unique_id);
        std::string at = n->line > 0 ? fmt::format("{}:{}", n->path, n->line) : n->path;
        std::fprintf(options.out, "\n%s in %s %s (%s)\n  %s\n", r.status == "warn" ? "Warning" : r.status == "fail" ? "Failure" : "Error",
                     to_string(n->type).c_str(), n->name.c_str(), at.c_str(), r.message.c_str());
        if (!r.compiled_path.empty() && r.status != "error") std::fprintf(options.out, "  compiled SQL: %s\n", r.compiled_path.c_str());
      }
    }
    std::fprintf(options.out, "\nDone. PASS=%d WARN=%d ERROR=%d SKIP=%d TOTAL=%zu\n", pass, warn, error, skip, results.size());
  }
  const char* names[] = {"build", "run", "test", "seed", "compile", "ls"};
  HRFLOW_TRY(write_results(results, names[static_cast<int>(options.command)], elapsed, "run_results.json"));
  return results;
}

Status Runner::write_results(const std::vector<NodeResult>& results, const std::string& command, double elapsed, const char* file) {
  nlohmann::json j;
  j["metadata"] = {{"generated_at", fmt::format("{}", std::chrono::system_clock::now().time_since_epoch().count())},
                   {"hrflow_schema_version", 1}};
  j["args"] = {{"which", command}};
  j["elapsed_time"] = elapsed;
  j["results"] = nlohmann::json::array();
  for (const auto& r : results) {
    nlohmann::json x = {{"unique_id", r.unique_id}, {"status", r.status}, {"execution_time", r.seconds}, {"message", r.message},
                        {"failures", r.failures}, {"adapter_response", {{"rows_affected", r.rows_affected}}}};
    if (!r.compiled_path.empty()) x["compiled_path"] = r.compiled_path;
    j["results"].push_back(x);
  }
  std::error_code ec;
  fs::create_directories(target_dir_, ec);
  fs::path tmp = target_dir_ / (std::string(file) + ".tmp");
  {
    std::ofstream out(tmp);
    out << j.dump(2) << "\n";
    if (!out) return io_error("{}: cannot write", tmp.string());
  }
  fs::rename(tmp, target_dir_ / file, ec);
  if (ec) return io_error("{}: cannot write: {}", (target_dir_ / file).string(), ec.message());
  return {};
}

// ---------------------------------------------------------------------------------------------
// Source freshness

Result<std::vector<NodeResult>> Runner::freshness(const RunOptions& options) {
  auto t0 = std::chrono::steady_clock::now();
  bool any = false;
  std::vector<std::string> sel = options.select;
  HRFLOW_ASSIGN_OR_RETURN(auto chosen, select_nodes(project_, sel, options.exclude, false));
  (void)any;
  std::vector<const Node*> sources;
  for (const auto& [id, n] : project_.nodes()) {
    if (n.type == NodeType::kSource && chosen.count(id) && !n.loaded_at_field.empty() &&
        (n.freshness.warn_after_s > 0 || n.freshness.error_after_s > 0))
      sources.push_back(&n);
  }
  std::fprintf(options.out, "Found %zu source%s with freshness checks\n\n", sources.size(), sources.size() == 1 ? "" : "s");
  std::vector<NodeResult> results;
  size_t index = 0;
  int pass = 0, warn = 0, error = 0;
  for (const auto* n : sources) {
    ++index;
    NodeResult r;
    r.unique_id = n->unique_id;
    auto t1 = std::chrono::steady_clock::now();
    std::string sql = fmt::format(
        "select max(cast({} as timestamp))::varchar, epoch(cast(now() as timestamp)) - epoch(max(cast({} as timestamp))) from {}{}",
        n->loaded_at_field, n->loaded_at_field, n->relation(), n->freshness.filter.empty() ? "" : " where " + n->freshness.filter);
    auto q = conn_.query(sql);
    if (!q.ok()) {
      r.status = "error";
      r.message = fmt::format("{}:{}: source {}.{}: {}", n->path, n->line, n->source_name, n->name, first_line(q.error().message));
    } else {
      auto max_loaded = q->get_string(0, 0);
      auto age = q->get_double(0, 1);
      if (!age) {
        r.status = "error";
        r.message = fmt::format("source {}.{} has no rows with {}", n->source_name, n->name, n->loaded_at_field);
      } else {
        r.rows_affected = static_cast<int64_t>(*age);
        if (n->freshness.error_after_s > 0 && *age > static_cast<double>(n->freshness.error_after_s)) r.status = "error";
        else if (n->freshness.warn_after_s > 0 && *age > static_cast<double>(n->freshness.warn_after_s)) r.status = "warn";
        else r.status = "pass";
        r.message = fmt::format("max({}) = {}, {:.0f}s ago (warn after {}s, error after {}s)", n->loaded_at_field,
                                max_loaded.value_or("NULL"), *age, n->freshness.warn_after_s, n->freshness.error_after_s);
      }
    }
    r.seconds = seconds_since(t1);
    if (r.status == "pass") ++pass; else if (r.status == "warn") ++warn; else ++error;
    std::string status = r.status == "pass" ? "PASS" : r.status == "warn" ? "WARN" : "ERROR STALE";
    if (r.status == "error" && r.rows_affected < 0) status = "ERROR";
    std::fprintf(options.out, "%3zu of %zu %s [%s in %.2fs]\n      %s\n", index, sources.size(),
                 dots("freshness of " + n->source_name + "." + n->name).c_str(), status.c_str(), r.seconds, r.message.c_str());
    results.push_back(r);
  }
  std::fprintf(options.out, "\nDone. PASS=%d WARN=%d ERROR=%d TOTAL=%zu\n", pass, warn, error, results.size());
  HRFLOW_TRY(write_results(results, "source freshness", seconds_since(t0), "sources.json"));
  return results;
}

// ---------------------------------------------------------------------------------------------
// Graph as data

namespace {
nlohmann::json to_json(const Value& v) {
  switch (v.kind) {
    case Value::kNone: case Value::kUndefined: return nullptr;
    case Value::kBool: return v.b;
    case Value::kInt: return v.i;
    case Value::kFloat: return v.f;
    case Value::kList: {
      auto a = nlohmann::json::array();
      for (const auto& x : *v.list) a.push_back(to_json(x));
      return a;
    }
    case Value::kDict: {
      auto o = nlohmann::json::object();
      for (const auto& [k, x] : *v.dict) o[k] = to_json(x);
      return o;
    }
    default: return to_display(v);
  }
}
}  // namespace

nlohmann::json graph_json(const Project& project, const fs::path& target_dir) {
  nlohmann::json j;
  j["project"] = project.name();
  j["nodes"] = nlohmann::json::object();
  j["edges"] = nlohmann::json::array();
  for (const auto& [id, n] : project.nodes()) {
    nlohmann::json x;
    x["name"] = n.name;
    x["resource_type"] = to_string(n.type);
    x["path"] = n.path;
    if (n.line) x["line"] = n.line;
    x["fqn"] = n.fqn;
    x["description"] = n.description;
    x["materialized"] = n.materialized();
    x["relation"] = n.type == NodeType::kTest ? "" : n.schema() + "." + n.alias();
    auto cfg = nlohmann::json::object();
    for (const auto& [k, v] : n.config) cfg[k] = to_json(v);
    x["config"] = cfg;
    x["meta"] = to_json(n.meta);
    x["tags"] = n.tags();
    x["depends_on"] = n.depends_on;
    auto cols = nlohmann::json::array();
    for (const auto& c : n.columns) cols.push_back({{"name", c.name}, {"description", c.description}, {"data_type", c.data_type}, {"meta", to_json(c.meta)}});
    x["columns"] = cols;
    if (n.type == NodeType::kTest) {
      x["test_name"] = n.test_name;
      x["attached_to"] = n.attached_to;
      x["column_name"] = n.column_name;
    }
    if (n.type == NodeType::kSource) {
      x["source_name"] = n.source_name;
      x["loaded_at_field"] = n.loaded_at_field;
      x["freshness"] = {{"warn_after_s", n.freshness.warn_after_s}, {"error_after_s", n.freshness.error_after_s}};
    }
    j["nodes"][id] = x;
    for (const auto& d : n.depends_on) j["edges"].push_back({d, id});
  }
  j["last_results"] = nlohmann::json::object();
  for (const char* f : {"run_results.json", "sources.json"}) {
    std::ifstream in(target_dir / f);
    if (!in) continue;
    auto parsed = nlohmann::json::parse(in, nullptr, false);
    if (parsed.is_discarded() || !parsed.contains("results")) continue;
    for (const auto& r : parsed["results"]) j["last_results"][r.value("unique_id", "")] = r;
  }
  return j;
}

}  // namespace hrflow::transform
