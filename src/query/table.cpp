#include "query/table.h"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace hrflow::query {

namespace {

bool is_numeric_type(duckdb_type t) {
  switch (t) {
    case DUCKDB_TYPE_TINYINT: case DUCKDB_TYPE_SMALLINT: case DUCKDB_TYPE_INTEGER: case DUCKDB_TYPE_BIGINT:
    case DUCKDB_TYPE_UTINYINT: case DUCKDB_TYPE_USMALLINT: case DUCKDB_TYPE_UINTEGER: case DUCKDB_TYPE_UBIGINT:
    case DUCKDB_TYPE_HUGEINT: case DUCKDB_TYPE_UHUGEINT: case DUCKDB_TYPE_FLOAT: case DUCKDB_TYPE_DOUBLE:
    case DUCKDB_TYPE_DECIMAL:
      return true;
    default:
      return false;
  }
}

Table to_table(db::QueryResult& r) {
  Table t;
  const uint64_t cols = r.column_count();
  for (uint64_t c = 0; c < cols; ++c) {
    t.columns.push_back(r.column_name(c));
    t.numeric.push_back(is_numeric_type(duckdb_column_type(r.raw(), c)));
  }
  const uint64_t n = r.row_count();
  t.rows.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    std::vector<std::optional<std::string>> row;
    row.reserve(cols);
    for (uint64_t c = 0; c < cols; ++c) row.push_back(r.get_string(i, c));
    t.rows.push_back(std::move(row));
  }
  return t;
}

// RAII for duckdb_extract_statements' result.
struct Extracted {
  duckdb_extracted_statements s = nullptr;
  ~Extracted() { duckdb_destroy_extracted(&s); }
};

}  // namespace

Result<Table> execute(db::Connection& conn, const CompiledQuery& query) {
  HRFLOW_ASSIGN_OR_RETURN(auto stmt, conn.prepare(query.sql));
  if (stmt.parameter_count() != query.params.size()) {
    return make_error(ErrorKind::kInternal, "query has {} parameters but {} values", stmt.parameter_count(), query.params.size());
  }
  for (size_t i = 0; i < query.params.size(); ++i) {
    const auto& p = query.params[i];
    if (p.type == ValueType::kInteger) {
      HRFLOW_TRY(stmt.bind(i + 1, p.integer));
    } else {
      HRFLOW_TRY(stmt.bind(i + 1, std::string_view(p.text)));
    }
  }
  HRFLOW_ASSIGN_OR_RETURN(auto result, stmt.execute());
  return to_table(result);
}

Result<Table> run_read_only_sql(db::Connection& conn, const std::string& sql) {
  Extracted ex;
  const idx_t n = duckdb_extract_statements(conn.raw(), sql.c_str(), &ex.s);
  if (n == 0) {
    const char* err = duckdb_extract_statements_error(ex.s);
    if (err == nullptr) return invalid_argument("no SQL statement given");
    return invalid_argument("SQL error: {}", err);
  }
  // Prepare all first: nothing runs unless every statement is a SELECT.
  std::vector<db::PreparedStatement> statements;
  for (idx_t i = 0; i < n; ++i) {
    duckdb_prepared_statement raw = nullptr;
    if (duckdb_prepare_extracted_statement(conn.raw(), ex.s, i, &raw) == DuckDBError) {
      std::string msg = duckdb_prepare_error(raw);
      duckdb_destroy_prepare(&raw);
      return invalid_argument("SQL error in statement {}: {}", i + 1, msg);
    }
    db::PreparedStatement stmt(raw);
    if (duckdb_prepared_statement_type(raw) != DUCKDB_STATEMENT_TYPE_SELECT) {
      return invalid_argument("statement {} is not a SELECT: --sql runs read-only queries only (SELECT, WITH ... SELECT)", i + 1);
    }
    if (stmt.parameter_count() != 0) return invalid_argument("statement {} has parameters ($1, ?); --sql takes none", i + 1);
    statements.push_back(std::move(stmt));
  }
  Table last;
  for (auto& s : statements) {
    HRFLOW_ASSIGN_OR_RETURN(auto result, s.execute());
    last = to_table(result);
  }
  return last;
}

std::string to_text(const Table& t) {
  std::vector<size_t> width(t.columns.size());
  for (size_t c = 0; c < t.columns.size(); ++c) width[c] = t.columns[c].size();
  for (const auto& row : t.rows) {
    for (size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c] ? row[c]->size() : 4);
  }
  auto cell = [&](size_t c, const std::string& v) {
    return t.numeric[c] ? fmt::format("{:>{}}", v, width[c]) : fmt::format("{:<{}}", v, width[c]);
  };
  std::string out, rule;
  for (size_t c = 0; c < t.columns.size(); ++c) {
    out += (c ? "  " : "") + cell(c, t.columns[c]);
    rule += (c ? "  " : "") + std::string(width[c], '-');
  }
  out += "\n" + rule + "\n";
  for (const auto& row : t.rows) {
    std::string line;
    for (size_t c = 0; c < row.size(); ++c) line += (c ? "  " : "") + cell(c, row[c] ? *row[c] : "NULL");
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  out += fmt::format("({} row{})\n", t.rows.size(), t.rows.size() == 1 ? "" : "s");
  return out;
}

std::string to_csv(const Table& t) {
  auto field = [](const std::string& v) {
    if (v.find_first_of(",\"\n\r") == std::string::npos) return v;
    std::string q = "\"";
    for (char ch : v) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
    return q + "\"";
  };
  std::string out;
  for (size_t c = 0; c < t.columns.size(); ++c) out += (c ? "," : "") + field(t.columns[c]);
  out += "\n";
  for (const auto& row : t.rows) {
    for (size_t c = 0; c < row.size(); ++c) out += (c ? "," : "") + (row[c] ? field(*row[c]) : std::string());
    out += "\n";
  }
  return out;
}

std::string to_json(const Table& t) {
  nlohmann::json j;
  j["columns"] = t.columns;
  auto rows = nlohmann::json::array();
  for (const auto& row : t.rows) {
    auto r = nlohmann::json::array();
    for (size_t c = 0; c < row.size(); ++c) {
      if (!row[c]) {
        r.push_back(nullptr);
      } else if (t.numeric[c]) {
        r.push_back(nlohmann::json::parse(*row[c], nullptr, false));
        if (r.back().is_discarded()) r.back() = *row[c];
      } else {
        r.push_back(*row[c]);
      }
    }
    rows.push_back(std::move(r));
  }
  j["rows"] = std::move(rows);
  return j.dump();
}

}  // namespace hrflow::query
