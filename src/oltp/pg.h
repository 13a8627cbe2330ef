// RAII wrappers over libpq: a connection (PGconn) and a query result (PGresult), with errors as
// values that say what to do (server down, wrong password, missing database), plus COPY in and out.
// Every connection uses UTC (TimeZone=UTC) so timestamps written and read are UTC.
// A PgConnection is movable, not copyable, and used by one thread at a time.
#pragma once

#include <libpq-fe.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace hrflow::oltp {

class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(PGresult* r) : r_(r, &PQclear) {}
  PGresult* get() const { return r_.get(); }
  int rows() const { return PQntuples(r_.get()); }
  int columns() const { return PQnfields(r_.get()); }
  bool is_null(int row, int col) const { return PQgetisnull(r_.get(), row, col) != 0; }
  std::string_view value(int row, int col) const {
    return {PQgetvalue(r_.get(), row, col), static_cast<size_t>(PQgetlength(r_.get(), row, col))};
  }
  std::string text(int row, int col) const { return std::string(value(row, col)); }
  int64_t int64(int row, int col) const { return std::stoll(text(row, col)); }
  double real(int row, int col) const { return std::stod(text(row, col)); }
  // Rows affected by an INSERT/UPDATE/DELETE.
  int64_t affected() const;

 private:
  std::unique_ptr<PGresult, void (*)(PGresult*)> r_{nullptr, &PQclear};
};

class PgConnection {
 public:
  // Connect to `url` (postgresql://user[:password]@host:port/db). Errors name the server (password
  // masked) and the likely fix.
  static Result<PgConnection> connect(const std::string& url, int timeout_s = 10);

  // Run SQL (one or more statements without parameters); the last statement's result.
  Result<PgResult> exec(std::string_view sql);
  // One statement with text parameters ($1, $2, ...; nullopt = NULL).
  Result<PgResult> exec(std::string_view sql, const std::vector<std::optional<std::string>>& params);
  // The first column of the first row, or nullopt when there is no row or it is NULL.
  Result<std::optional<std::string>> scalar(std::string_view sql);

  // COPY ... FROM STDIN: `produce` appends data to the buffer and returns false when done (or an
  // error). Data is sent in chunks as it is produced.
  Status copy_in(std::string_view copy_sql, const std::function<Result<bool>(std::string&)>& produce);
  // COPY ... TO STDOUT: each chunk of data is handed to `consume`.
  Status copy_out(std::string_view copy_sql, const std::function<Status(std::string_view)>& consume);

  PGconn* get() const { return c_.get(); }
  const std::string& display_url() const { return display_url_; }

 private:
  PgConnection(PGconn* c, std::string display_url) : c_(c, &PQfinish), display_url_(std::move(display_url)) {}
  Error error(std::string_view what, const PGresult* r = nullptr) const;
  std::unique_ptr<PGconn, void (*)(PGconn*)> c_{nullptr, &PQfinish};
  std::string display_url_;
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

// SQL literal quoting for identifiers we build statements from.
std::string quote_ident(std::string_view ident);

}  // namespace hrflow::oltp
