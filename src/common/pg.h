// The one libpq layer of hrflow (the operational database, CDC): move-only RAII types for a
// connection (normal or logical replication), a query result and a transaction, COPY in/out, and
// the COPY BOTH stream of logical replication.
//
// Every connection uses UTC and ISO dates, so timestamps travel unambiguous in text form (from SQL and
// from pgoutput). Failures are values naming the server (password masked), the statement and the fix;
// a lost connection is retriable (kUnavailable), an SQL error is not.
// Lifecycle: PgConnection::connect() -> exec()/copy_*()/start_copy_both() -> destroyed (PQfinish).
// Thread-safety: a PgConnection belongs to one thread at a time.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/sql_text.h"
#include "common/status.h"

namespace hrflow {

class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(PGresult* r) : r_(r, &PQclear) {}
  PGresult* raw() const { return r_.get(); }
  int rows() const { return r_ ? PQntuples(r_.get()) : 0; }
  int columns() const { return r_ ? PQnfields(r_.get()) : 0; }
  bool is_null(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
  std::string_view value(int row, int col) const {
    return {PQgetvalue(r_.get(), row, col), static_cast<size_t>(PQgetlength(r_.get(), row, col))};
  }
  std::string text(int row, int col) const { return std::string(value(row, col)); }
  std::optional<std::string> text_or_null(int row, int col) const;
  int64_t int64(int row, int col) const { return std::stoll(text(row, col)); }
  double real(int row, int col) const { return std::stod(text(row, col)); }
  // Rows affected by an INSERT/UPDATE/DELETE.
  int64_t affected() const;

 private:
  std::unique_ptr<PGresult, void (*)(PGresult*)> r_{nullptr, &PQclear};
};

// One message read from a COPY BOTH stream.
enum class CopyRead { kData, kNone, kEnd };

struct PgConnectOptions {
  // A logical replication connection (replication=database): accepts CREATE_REPLICATION_SLOT /
  // START_REPLICATION as well as plain SQL.
  bool replication = false;
  int timeout_s = 10;
  const char* application_name = "hrflow";
};

class PgConnection {
 public:
  // Connect to `url` (postgresql://user[:password]@host:port/db, or key=value). Errors name the server
  // (password masked) and the likely fix: wrong login, missing database, server not running.
  static Result<PgConnection> connect(const std::string& url, const PgConnectOptions& options = {});

  // Without parameters: one or more statements, the last one's result. With text parameters ($1, $2,
  // ...; nullopt = NULL): one statement.
  Result<PgResult> exec(std::string_view sql, const std::vector<std::optional<std::string>>& params = {});
  // The first column of the first row, or nullopt when there is no row or it is NULL.
  Result<std::optional<std::string>> scalar(std::string_view sql);

  // COPY ... FROM STDIN: `produce` appends data to the buffer and returns false when done (or an
  // error, which aborts the COPY). Data is sent in chunks as it is produced.
  Status copy_in(std::string_view copy_sql, const std::function<Result<bool>(std::string&)>& produce);
  // COPY ... TO STDOUT: each row, as the server sent it (with its newline), is handed to `consume`.
  Status copy_out(std::string_view copy_sql, const std::function<Status(std::string_view)>& consume);

  // Logical replication: send a command that switches to COPY BOTH (START_REPLICATION), then read
  // messages (waiting up to `wait`; kData sets `out`) and send standby status updates.
  Status start_copy_both(std::string_view command);
  Result<CopyRead> read_copy(std::string& out, std::chrono::milliseconds wait);
  Status put_copy(std::string_view data);

  PGconn* raw() const { return c_.get(); }
  // "127.0.0.1:5432/hrflow" once connected, for messages (never a password).
  const std::string& where() const { return where_; }

 private:
  PgConnection(PGconn* c, std::string where) : c_(c, &PQfinish), where_(std::move(where)) {}
  Error error(std::string_view what, const PGresult* r = nullptr) const;
  std::unique_ptr<PGconn, void (*)(PGconn*)> c_{nullptr, &PQfinish};
  std::string where_;
};

// A transaction that rolls back unless committed: nothing half-written when a step fails.
class PgTransaction {
 public:
  static Result<PgTransaction> begin(PgConnection& conn);
  PgTransaction(PgTransaction&& o) noexcept : conn_(o.conn_) { o.conn_ = nullptr; }
  PgTransaction(const PgTransaction&) = delete;
  PgTransaction& operator=(const PgTransaction&) = delete;
  PgTransaction& operator=(PgTransaction&&) = delete;
  ~PgTransaction();
  Status commit();

 private:
  explicit PgTransaction(PgConnection* c) : conn_(c) {}
  PgConnection* conn_;
};

// Split one line of COPY's text format into fields (nullopt = \N), undoing its backslash escapes.
// Returns false on a malformed escape.
bool parse_copy_text_line(std::string_view line, std::vector<std::optional<std::string>>& fields);

// The managed PostgreSQL belongs to its state directory: is the server at `url` the one whose data
// directory is `data_dir`? Another hrflow's server on the same port (a second state directory) is
// refused with the fix, so its replication slot and tables are never touched by mistake.
Status check_managed_server(const std::string& url, const std::filesystem::path& data_dir);

// LSNs as PostgreSQL prints them ("16/B374D848") <-> 64-bit positions.
Result<uint64_t> parse_lsn(std::string_view text);
std::string format_lsn(uint64_t lsn);

}  // namespace hrflow
