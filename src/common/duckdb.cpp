#include "common/duckdb.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <utility>

namespace hrflow::db {

QueryResult::QueryResult(QueryResult&& o) noexcept : r_(o.r_), valid_(o.valid_) { o.valid_ = false; }
QueryResult& QueryResult::operator=(QueryResult&& o) noexcept {
  if (this != &o) {
    if (valid_) duckdb_destroy_result(&r_);
    r_ = o.r_;
    valid_ = std::exchange(o.valid_, false);
  }
  return *this;
}
QueryResult::~QueryResult() {
  if (valid_) duckdb_destroy_result(&r_);
}
uint64_t QueryResult::row_count() { return valid_ ? duckdb_row_count(&r_) : 0; }
uint64_t QueryResult::column_count() { return valid_ ? duckdb_column_count(&r_) : 0; }
std::string QueryResult::column_name(uint64_t col) {
  const char* n = duckdb_column_name(&r_, col);
  return n ? n : "";
}
uint64_t QueryResult::rows_changed() { return valid_ ? duckdb_rows_changed(&r_) : 0; }
bool QueryResult::is_null(uint64_t row, uint64_t col) { return duckdb_value_is_null(&r_, col, row); }
std::optional<std::string> QueryResult::get_string(uint64_t row, uint64_t col) {
  if (is_null(row, col)) return std::nullopt;
  char* v = duckdb_value_varchar(&r_, col, row);
  std::string s = v ? v : "";
  duckdb_free(v);
  return s;
}
std::optional<int64_t> QueryResult::get_int64(uint64_t row, uint64_t col) {
  if (is_null(row, col)) return std::nullopt;
  return duckdb_value_int64(&r_, col, row);
}
std::optional<double> QueryResult::get_double(uint64_t row, uint64_t col) {
  if (is_null(row, col)) return std::nullopt;
  return duckdb_value_double(&r_, col, row);
}

Result<Database> Database::open(const std::string& path, const std::map<std::string, std::string>& options) {
  duckdb_config config = nullptr;
  if (duckdb_create_config(&config) != DuckDBSuccess) return make_error(ErrorKind::kInternal, "duckdb config");
  for (const auto& [k, v] : options) {
    if (duckdb_set_config(config, k.c_str(), v.c_str()) != DuckDBSuccess) {
      duckdb_destroy_config(&config);
      return invalid_argument("DuckDB rejected option {}={}", k, v);
    }
  }
  duckdb_database db = nullptr;
  char* err = nullptr;
  const char* p = path.empty() ? nullptr : path.c_str();
  auto st = duckdb_open_ext(p, &db, config, &err);
  duckdb_destroy_config(&config);
  if (st != DuckDBSuccess) {
    std::string msg = err ? err : "unknown error";
    duckdb_free(err);
    if (msg.find("lock") != std::string::npos) {
      return Error{ErrorKind::kUnavailable,
                   fmt::format("the warehouse {} is in use by another process ({}); stop it, or let `hrflow "
                               "serve` do the work if it is the one running",
                               path, msg),
                   true};
    }
    return io_error("cannot open DuckDB database '{}': {}", path, msg);
  }
  return Database(db);
}
Database& Database::operator=(Database&& o) noexcept {
  if (this != &o) {
    if (db_) duckdb_close(&db_);
    db_ = std::exchange(o.db_, nullptr);
  }
  return *this;
}
Database::~Database() {
  if (db_) duckdb_close(&db_);
}

Result<Connection> Connection::connect(const Database& db) {
  duckdb_connection c = nullptr;
  if (duckdb_connect(db.raw(), &c) != DuckDBSuccess) return io_error("cannot connect to DuckDB database");
  return Connection(c);
}
Connection& Connection::operator=(Connection&& o) noexcept {
  if (this != &o) {
    if (c_) duckdb_disconnect(&c_);
    c_ = std::exchange(o.c_, nullptr);
  }
  return *this;
}
Connection::~Connection() {
  if (c_) duckdb_disconnect(&c_);
}

Result<QueryResult> Connection::query(std::string_view sql) {
  duckdb_result r;
  std::string s(sql);
  // log_level: trace shows every statement with its time, to find what makes a command slow.
  const bool trace = spdlog::should_log(spdlog::level::trace);
  const auto t0 = trace ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point();
  const auto rc = duckdb_query(c_, s.c_str(), &r);
  if (trace) {
    std::string shown = s.size() > 160 ? s.substr(0, 160) + "..." : s;
    std::replace(shown.begin(), shown.end(), '\n', ' ');
    spdlog::trace("duckdb {:.3f}s: {}", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), shown);
  }
  if (rc != DuckDBSuccess) {
    const char* e = duckdb_result_error(&r);
    Error err = make_error(ErrorKind::kInvalidArgument, "{}", e ? e : "query failed");
    err.retriable = false;
    duckdb_destroy_result(&r);
    return err;
  }
  return QueryResult(r);
}
Status Connection::execute(std::string_view sql) {
  auto r = query(sql);
  if (!r.ok()) return r.error();
  return {};
}
Result<std::optional<std::string>> Connection::scalar(std::string_view sql) {
  HRFLOW_ASSIGN_OR_RETURN(auto r, query(sql));
  if (r.row_count() == 0 || r.column_count() == 0) return std::optional<std::string>();
  return r.get_string(0, 0);
}
Result<PreparedStatement> Connection::prepare(std::string_view sql) {
  duckdb_prepared_statement s = nullptr;
  std::string q(sql);
  if (duckdb_prepare(c_, q.c_str(), &s) != DuckDBSuccess) {
    const char* e = duckdb_prepare_error(s);
    Error err = invalid_argument("{}", e ? e : "prepare failed");
    duckdb_destroy_prepare(&s);
    return err;
  }
  return PreparedStatement(s);
}
Result<Appender> Connection::appender(std::string_view schema, std::string_view table) {
  duckdb_appender a = nullptr;
  std::string sc(schema), t(table);
  if (duckdb_appender_create(c_, sc.empty() ? nullptr : sc.c_str(), t.c_str(), &a) != DuckDBSuccess) {
    const char* e = duckdb_appender_error(a);
    Error err = invalid_argument("cannot append to {}.{}: {}", schema, table, e ? e : "unknown error");
    duckdb_appender_destroy(&a);
    return err;
  }
  return Appender(a);
}

Result<Transaction> Transaction::begin(Connection& conn) {
  HRFLOW_TRY(conn.execute("BEGIN TRANSACTION"));
  return Transaction(&conn);
}
Transaction::~Transaction() {
  if (conn_) (void)conn_->execute("ROLLBACK");
}
Status Transaction::commit() {
  Connection* c = std::exchange(conn_, nullptr);
  return c->execute("COMMIT");
}

PreparedStatement& PreparedStatement::operator=(PreparedStatement&& o) noexcept {
  if (this != &o) {
    if (s_) duckdb_destroy_prepare(&s_);
    s_ = std::exchange(o.s_, nullptr);
  }
  return *this;
}
PreparedStatement::~PreparedStatement() {
  if (s_) duckdb_destroy_prepare(&s_);
}
static Status bind_check(duckdb_state st, uint64_t idx) {
  if (st != DuckDBSuccess) return invalid_argument("cannot bind parameter {}", idx);
  return {};
}
Status PreparedStatement::bind(uint64_t idx, int64_t v) { return bind_check(duckdb_bind_int64(s_, idx, v), idx); }
Status PreparedStatement::bind(uint64_t idx, double v) { return bind_check(duckdb_bind_double(s_, idx, v), idx); }
Status PreparedStatement::bind(uint64_t idx, std::string_view v) {
  return bind_check(duckdb_bind_varchar_length(s_, idx, v.data(), v.size()), idx);
}
Status PreparedStatement::bind_null(uint64_t idx) { return bind_check(duckdb_bind_null(s_, idx), idx); }
Status PreparedStatement::clear_bindings() { return bind_check(duckdb_clear_bindings(s_), 0); }
uint64_t PreparedStatement::parameter_count() { return duckdb_nparams(s_); }
Result<QueryResult> PreparedStatement::execute() {
  duckdb_result r;
  if (duckdb_execute_prepared(s_, &r) != DuckDBSuccess) {
    const char* e = duckdb_result_error(&r);
    Error err = invalid_argument("{}", e ? e : "execution failed");
    duckdb_destroy_result(&r);
    return err;
  }
  return QueryResult(r);
}

Appender& Appender::operator=(Appender&& o) noexcept {
  if (this != &o) {
    if (a_) duckdb_appender_destroy(&a_);
    a_ = std::exchange(o.a_, nullptr);
  }
  return *this;
}
Appender::~Appender() {
  if (a_) duckdb_appender_destroy(&a_);
}
Status Appender::check(duckdb_state st, std::string_view what) {
  if (st == DuckDBSuccess) return {};
  const char* e = duckdb_appender_error(a_);
  return invalid_argument("appender {}: {}", what, e ? e : "failed");
}
Status Appender::append(int64_t v) { return check(duckdb_append_int64(a_, v), "int64"); }
Status Appender::append(int32_t v) { return check(duckdb_append_int32(a_, v), "int32"); }
Status Appender::append(double v) { return check(duckdb_append_double(a_, v), "double"); }
Status Appender::append(std::string_view v) {
  return check(duckdb_append_varchar_length(a_, v.data(), v.size()), "varchar");
}
Status Appender::append_bool(bool v) { return check(duckdb_append_bool(a_, v), "bool"); }
Status Appender::append_null() { return check(duckdb_append_null(a_), "null"); }
Status Appender::append_timestamp_us(int64_t micros) {
  return check(duckdb_append_timestamp(a_, duckdb_timestamp{micros}), "timestamp");
}
Status Appender::end_row() { return check(duckdb_appender_end_row(a_), "end_row"); }
Status Appender::append_chunk(duckdb_data_chunk chunk) {
  return check(duckdb_append_data_chunk(a_, chunk), "data chunk");
}
duckdb_logical_type Appender::column_type(uint64_t col) { return duckdb_appender_column_type(a_, col); }
ColumnTypes Appender::column_types() {
  ColumnTypes types;
  for (uint64_t i = 0, n = column_count(); i < n; ++i) types.add(column_type(i));
  return types;
}
ColumnTypes& ColumnTypes::operator=(ColumnTypes&& o) noexcept {
  if (this != &o) {
    for (auto& t : types_) duckdb_destroy_logical_type(&t);
    types_ = std::exchange(o.types_, {});
  }
  return *this;
}
ColumnTypes::~ColumnTypes() {
  for (auto& t : types_) duckdb_destroy_logical_type(&t);
}
DataChunk& DataChunk::operator=(DataChunk&& o) noexcept {
  if (this != &o) {
    if (c_) duckdb_destroy_data_chunk(&c_);
    c_ = std::exchange(o.c_, nullptr);
  }
  return *this;
}
DataChunk::~DataChunk() {
  if (c_) duckdb_destroy_data_chunk(&c_);
}
uint64_t Appender::column_count() { return duckdb_appender_column_count(a_); }
Status Appender::flush() { return check(duckdb_appender_flush(a_), "flush"); }
Status Appender::close() { return check(duckdb_appender_close(a_), "close"); }

std::string duckdb_version() { return duckdb_library_version(); }

}  // namespace hrflow::db
