// Small move-only RAII layer over libpq for the CDC source: a connection (normal or replication),
// query results, COPY OUT reading, and the COPY BOTH stream of logical replication.
//
// Lifecycle: PgConnection::connect() -> exec()/copy_out()/start_copy_both() -> destroyed (PQfinish).
// Every failure becomes an Error naming the server and the statement; connection-level failures are
// retriable (kUnavailable), SQL errors are not.
// Thread-safety: a PgConnection belongs to one thread at a time.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace hrflow::ingest {

class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(PGresult* r) : r_(r) {}
  PgResult(PgResult&& o) noexcept : r_(o.r_) { o.r_ = nullptr; }
  PgResult& operator=(PgResult&& o) noexcept;
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;
  ~PgResult();

  int rows() const { return r_ ? PQntuples(r_) : 0; }
  bool is_null(int row, int col) const { return PQgetisnull(r_, row, col) != 0; }
  std::string get(int row, int col) const { return PQgetvalue(r_, row, col); }
  std::optional<std::string> get_opt(int row, int col) const;
  PGresult* raw() const { return r_; }

 private:
  PGresult* r_ = nullptr;
};

// One message read from a COPY BOTH stream.
enum class CopyRead { kData, kNone, kEnd };

class PgConnection {
 public:
  // `url` is a libpq URL or key=value string. `replication` opens a logical replication connection
  // (replication=database), which accepts CREATE_REPLICATION_SLOT / START_REPLICATION and plain SQL.
  static Result<PgConnection> connect(const std::string& url, bool replication);
  PgConnection(PgConnection&& o) noexcept : c_(o.c_), where_(std::move(o.where_)) { o.c_ = nullptr; }
  PgConnection& operator=(PgConnection&& o) noexcept;
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;
  ~PgConnection();

  // Run a statement; rows (if any) in the result. Text parameters ($1, $2, ...); nullopt = NULL.
  Result<PgResult> exec(std::string_view sql, const std::vector<std::optional<std::string>>& params = {});
  // Run `COPY ... TO STDOUT` and hand each line (without the newline) to `on_line`.
  Status copy_out(std::string_view sql, const std::function<Status(std::string_view)>& on_line);
  // Send a command that switches to COPY BOTH (START_REPLICATION).
  Status start_copy_both(std::string_view command);
  // Read one COPY BOTH message, waiting up to `wait` for it. kData sets `out`.
  Result<CopyRead> read_copy(std::string& out, std::chrono::milliseconds wait);
  Status put_copy(std::string_view data);

  // "127.0.0.1:5432/hrflow", for messages.
  const std::string& where() const { return where_; }
  PGconn* raw() const { return c_; }

 private:
  PgConnection(PGconn* c, std::string where) : c_(c), where_(std::move(where)) {}
  Error connection_error(std::string_view what) const;
  PGconn* c_ = nullptr;
  std::string where_;
};

// Quote an identifier for PostgreSQL ("my ""slot""").
std::string pg_quote_identifier(std::string_view name);
std::string pg_quote_literal(std::string_view value);

// Split one line of COPY's text format into fields (nullopt = \N), undoing its backslash escapes.
// Returns false on a malformed escape.
bool parse_copy_text_line(std::string_view line, std::vector<std::optional<std::string>>& fields);

// LSNs as PostgreSQL prints them ("16/B374D848") <-> 64-bit positions.
Result<uint64_t> parse_lsn(std::string_view text);
std::string format_lsn(uint64_t lsn);

}  // namespace hrflow::ingest
