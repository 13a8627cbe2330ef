// DuckDB values -> PostgreSQL: type OIDs for RowDescription, text and binary encodings of result
// values read straight from DuckDB's vectors, and parameters decoded from the client's formats.
//
// Thread-safety: a ColumnEncoder is built per result and used by the session thread only.
#pragma once

#include <duckdb.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace hrflow::sql {

namespace oid {
inline constexpr int32_t kBool = 16, kBytea = 17, kInt8 = 20, kInt2 = 21, kInt4 = 23, kText = 25, kJson = 114,
                         kFloat4 = 700, kFloat8 = 701, kUnknown = 705, kVarchar = 1043, kDate = 1082, kTime = 1083,
                         kTimestamp = 1114, kTimestampTz = 1184, kInterval = 1186, kNumeric = 1700, kUuid = 2950;
}

// The PostgreSQL type of a DuckDB type, and its size for RowDescription.
int32_t pg_type_of(duckdb_logical_type type);
int32_t pg_type_of(duckdb_type type);
int16_t pg_type_size(int32_t oid);

// Encodes the values of one result column. The logical type is borrowed from the result.
class ColumnEncoder {
 public:
  explicit ColumnEncoder(duckdb_logical_type type);
  ColumnEncoder(ColumnEncoder&&) = default;
  ~ColumnEncoder();
  int32_t oid() const { return oid_; }
  // Append the value at `row` of `vec` as text (PostgreSQL's output format). NULLs are handled by the caller.
  void text(duckdb_vector vec, uint64_t row, std::string& out) const;
  // Binary format (PostgreSQL's send functions); types without one are sent as text bytes.
  void binary(duckdb_vector vec, uint64_t row, std::string& out) const;

 private:
  duckdb_type id_;
  int32_t oid_;
  uint8_t width_ = 0, scale_ = 0;  // DECIMAL
  duckdb_type internal_ = DUCKDB_TYPE_INVALID;
  std::vector<ColumnEncoder> children_;  // LIST / ARRAY / STRUCT / MAP
  std::vector<std::string> names_;       // STRUCT field names, ENUM dictionary
};

// Bind a client parameter (text or binary, with the type OID the client gave or 0) to a prepared
// statement; text values are cast by DuckDB to the type the parameter has in the statement.
Status bind_parameter(duckdb_prepared_statement stmt, uint64_t index, int32_t type_oid, bool binary,
                      const std::string* value);

}  // namespace hrflow::sql
