// Move-only RAII wrappers over DuckDB's C API. Every call's return code is checked here and turned
// into an Error that carries DuckDB's message, so callers never see a raw duckdb_state.
//
// Lifecycle: Database -> Connection -> (QueryResult | PreparedStatement | Appender). A child must not
// outlive its parent. DuckDB allows one writing process per database file: hrflow opens the warehouse
// from a single owner process (see README, "one owner of the warehouse").
// Thread-safety: a Database may be shared by threads, each with its own Connection; a Connection and
// everything made from it belong to one thread at a time.
#pragma once

#include <duckdb.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/sql_text.h"
#include "common/status.h"

namespace hrflow::db {

class QueryResult {
 public:
  QueryResult() = default;
  explicit QueryResult(duckdb_result r) : r_(r), valid_(true) {}
  QueryResult(QueryResult&& o) noexcept;
  QueryResult& operator=(QueryResult&& o) noexcept;
  QueryResult(const QueryResult&) = delete;
  QueryResult& operator=(const QueryResult&) = delete;
  ~QueryResult();

  uint64_t row_count();
  uint64_t column_count();
  std::string column_name(uint64_t col);
  uint64_t rows_changed();
  bool is_null(uint64_t row, uint64_t col);
  // Values converted by DuckDB; NULL reads as nullopt.
  std::optional<std::string> get_string(uint64_t row, uint64_t col);
  std::optional<int64_t> get_int64(uint64_t row, uint64_t col);
  std::optional<double> get_double(uint64_t row, uint64_t col);
  duckdb_result* raw() { return &r_; }

 private:
  duckdb_result r_{};
  bool valid_ = false;
};

class Database {
 public:
  // Open (creating if missing) a database file; ":memory:" or "" for an in-memory database.
  // `options` are DuckDB configuration flags (e.g. threads, memory_limit).
  static Result<Database> open(const std::string& path, const std::map<std::string, std::string>& options = {});
  Database(Database&& o) noexcept : db_(o.db_) { o.db_ = nullptr; }
  Database& operator=(Database&& o) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();
  duckdb_database raw() const { return db_; }

 private:
  explicit Database(duckdb_database db) : db_(db) {}
  duckdb_database db_ = nullptr;
};

class PreparedStatement;
class Appender;
class ColumnTypes;

class Connection {
 public:
  static Result<Connection> connect(const Database& db);
  Connection(Connection&& o) noexcept : c_(o.c_) { o.c_ = nullptr; }
  Connection& operator=(Connection&& o) noexcept;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  Result<QueryResult> query(std::string_view sql);
  Status execute(std::string_view sql);  // query() and discard the result
  // The first column of the first row, NULL as nullopt (e.g. "SELECT count(*) FROM t").
  Result<std::optional<std::string>> scalar(std::string_view sql);
  Result<PreparedStatement> prepare(std::string_view sql);
  Result<Appender> appender(std::string_view schema, std::string_view table);
  duckdb_connection raw() const { return c_; }

 private:
  explicit Connection(duckdb_connection c) : c_(c) {}
  duckdb_connection c_ = nullptr;
};

// A transaction that rolls back unless commit() succeeded.
class Transaction {
 public:
  static Result<Transaction> begin(Connection& conn);
  Transaction(Transaction&& o) noexcept : conn_(o.conn_) { o.conn_ = nullptr; }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();
  Status commit();

 private:
  explicit Transaction(Connection* conn) : conn_(conn) {}
  Connection* conn_;
};

class PreparedStatement {
 public:
  explicit PreparedStatement(duckdb_prepared_statement s) : s_(s) {}
  PreparedStatement(PreparedStatement&& o) noexcept : s_(o.s_) { o.s_ = nullptr; }
  PreparedStatement& operator=(PreparedStatement&& o) noexcept;
  PreparedStatement(const PreparedStatement&) = delete;
  PreparedStatement& operator=(const PreparedStatement&) = delete;
  ~PreparedStatement();

  // Parameters are 1-based, as in DuckDB.
  Status bind(uint64_t idx, int64_t v);
  Status bind(uint64_t idx, double v);
  Status bind(uint64_t idx, std::string_view v);
  Status bind_null(uint64_t idx);
  Status clear_bindings();
  uint64_t parameter_count();
  Result<QueryResult> execute();

 private:
  duckdb_prepared_statement s_ = nullptr;
};

class Appender {
 public:
  explicit Appender(duckdb_appender a) : a_(a) {}
  Appender(Appender&& o) noexcept : a_(o.a_) { o.a_ = nullptr; }
  Appender& operator=(Appender&& o) noexcept;
  Appender(const Appender&) = delete;
  Appender& operator=(const Appender&) = delete;
  ~Appender();

  Status append(int64_t v);
  Status append(int32_t v);
  Status append(double v);
  Status append(std::string_view v);
  Status append_bool(bool v);
  Status append_null();
  // A TIMESTAMP value from microseconds since the epoch.
  Status append_timestamp_us(int64_t micros);
  Status end_row();
  // Append a whole data chunk whose column types match the table (the fast path of bulk loads).
  Status append_chunk(duckdb_data_chunk chunk);
  // Type of column `col` of the target table; the caller destroys it (duckdb_destroy_logical_type).
  duckdb_logical_type column_type(uint64_t col);
  // All column types of the target table, for building chunks (aliases such as JSON are kept, so no cast).
  ColumnTypes column_types();
  uint64_t column_count();
  Status flush();
  Status close();

 private:
  Status check(duckdb_state st, std::string_view what);
  duckdb_appender a_ = nullptr;
};

// The column types of a table, owned; read-only use from several threads is safe.
class ColumnTypes {
 public:
  ColumnTypes() = default;
  ColumnTypes(ColumnTypes&& o) noexcept : types_(std::move(o.types_)) { o.types_.clear(); }
  ColumnTypes& operator=(ColumnTypes&& o) noexcept;
  ColumnTypes(const ColumnTypes&) = delete;
  ColumnTypes& operator=(const ColumnTypes&) = delete;
  ~ColumnTypes();
  void add(duckdb_logical_type t) { types_.push_back(t); }
  uint64_t size() const { return types_.size(); }
  duckdb_logical_type* data() { return types_.data(); }

 private:
  std::vector<duckdb_logical_type> types_;
};

// A data chunk built outside a query (e.g. by a parse thread) and handed to Appender::append_chunk.
// Move-only; one thread at a time.
class DataChunk {
 public:
  explicit DataChunk(ColumnTypes& types) : c_(duckdb_create_data_chunk(types.data(), types.size())) {}
  DataChunk(DataChunk&& o) noexcept : c_(o.c_) { o.c_ = nullptr; }
  DataChunk& operator=(DataChunk&& o) noexcept;
  DataChunk(const DataChunk&) = delete;
  DataChunk& operator=(const DataChunk&) = delete;
  ~DataChunk();
  duckdb_data_chunk get() const { return c_; }
  duckdb_vector vector(uint64_t col) const { return duckdb_data_chunk_get_vector(c_, col); }
  uint64_t size() const { return duckdb_data_chunk_get_size(c_); }
  void set_size(uint64_t rows) { duckdb_data_chunk_set_size(c_, rows); }

 private:
  duckdb_data_chunk c_ = nullptr;
};

// SQL quoting (common/sql_text.h), also reachable as db::quote_identifier / db::quote_literal.
using hrflow::quote_identifier;
using hrflow::quote_literal;
std::string duckdb_version();

}  // namespace hrflow::db
