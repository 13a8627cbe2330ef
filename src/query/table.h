// Running compiled queries and read-only SQL against the warehouse, and rendering the rows as a
// text table, CSV or JSON for `hrflow query` and the dashboard's API.
//
// Read-only SQL: every statement of the text must be a SELECT (DuckDB's own parser decides, via
// prepared-statement types), so nothing that writes, attaches, copies out or changes settings runs.
// The CLI also opens the warehouse read-only.
//
// Thread-safety: functions are reentrant; a Connection belongs to one thread at a time.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/duckdb.h"
#include "common/status.h"
#include "query/semantic_layer.h"

namespace hrflow::query {

struct Table {
  std::vector<std::string> columns;
  std::vector<bool> numeric;  // per column: render unquoted in JSON, right-aligned in text
  std::vector<std::vector<std::optional<std::string>>> rows;
};

// Prepare, bind every parameter, execute.
Result<Table> execute(db::Connection& conn, const CompiledQuery& query);
// One or more statements, each of which must be a SELECT; the last one's rows are returned.
Result<Table> run_read_only_sql(db::Connection& conn, const std::string& sql);

std::string to_text(const Table& t);
std::string to_csv(const Table& t);
// {"columns":[...],"rows":[[...],...]} with numbers as JSON numbers and NULL as null.
std::string to_json(const Table& t);

}  // namespace hrflow::query
