// Registering a DuckDB table function without handling C handles by hand: the function, its
// parameter types and its callbacks are declared in a spec, and register_table_function() creates,
// registers and frees the handles. A function stays registered for the database's life, so
// registering again (a later run on the same database) is not an error.
// Thread-safety: as the connection (one thread at a time).
#pragma once

#include <duckdb.h>

#include <string>
#include <vector>

#include "common/duckdb.h"

namespace hrflow::db {

struct TableFunctionSpec {
  std::string name;
  std::vector<duckdb_type> parameters;
  duckdb_table_function_bind_t bind = nullptr;
  duckdb_table_function_init_t init = nullptr;
  duckdb_table_function_init_t local_init = nullptr;  // optional: per-thread state
  duckdb_table_function_t function = nullptr;
};

Status register_table_function(Connection& conn, const TableFunctionSpec& spec);

// A duckdb_value owned for its scope (bind parameters, constant vectors).
class OwnedValue {
 public:
  explicit OwnedValue(duckdb_value v = nullptr) : v_(v) {}
  OwnedValue(OwnedValue&& o) noexcept : v_(o.v_) { o.v_ = nullptr; }
  OwnedValue& operator=(OwnedValue&& o) noexcept {
    if (this != &o) {
      reset();
      v_ = o.v_;
      o.v_ = nullptr;
    }
    return *this;
  }
  OwnedValue(const OwnedValue&) = delete;
  OwnedValue& operator=(const OwnedValue&) = delete;
  ~OwnedValue() { reset(); }
  duckdb_value get() const { return v_; }
  explicit operator bool() const { return v_ != nullptr; }
  void reset() {
    if (v_) duckdb_destroy_value(&v_);
    v_ = nullptr;
  }

 private:
  duckdb_value v_;
};

}  // namespace hrflow::db
