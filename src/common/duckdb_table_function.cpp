#include "common/duckdb_table_function.h"

#include <memory>

namespace hrflow::db {

Status register_table_function(Connection& conn, const TableFunctionSpec& spec) {
  std::unique_ptr<_duckdb_table_function, void (*)(_duckdb_table_function*)> f(
      duckdb_create_table_function(), [](_duckdb_table_function* p) { duckdb_destroy_table_function(&p); });
  duckdb_table_function_set_name(f.get(), spec.name.c_str());
  for (duckdb_type t : spec.parameters) {
    duckdb_logical_type type = duckdb_create_logical_type(t);
    duckdb_table_function_add_parameter(f.get(), type);
    duckdb_destroy_logical_type(&type);
  }
  duckdb_table_function_set_bind(f.get(), spec.bind);
  duckdb_table_function_set_init(f.get(), spec.init);
  if (spec.local_init) duckdb_table_function_set_local_init(f.get(), spec.local_init);
  duckdb_table_function_set_function(f.get(), spec.function);
  if (duckdb_register_table_function(conn.raw(), f.get()) == DuckDBSuccess) return {};
  // Registered by an earlier run on this database (it stays for the database's life).
  HRFLOW_ASSIGN_OR_RETURN(auto n, conn.scalar(fmt::format("SELECT count(*) FROM duckdb_functions() WHERE function_name = "
                                                          "{} AND function_type = 'table'",
                                                          quote_literal(spec.name))));
  if (n.value_or("0") == "0") {
    return make_error(ErrorKind::kInternal, "cannot register the table function {} with DuckDB", spec.name);
  }
  return {};
}

}  // namespace hrflow::db
