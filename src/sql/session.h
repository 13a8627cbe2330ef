// One client of the SQL endpoint, from the startup packet to Terminate: TLS negotiation, SCRAM
// authentication, the simple and extended query protocols (Parse/Bind/Describe/Execute/Sync, named
// statements and portals), cursors (DECLARE/FETCH/CLOSE), and session commands answered here (SET,
// SHOW, RESET, BEGIN/COMMIT/ROLLBACK, SAVEPOINT, DISCARD).
//
// What runs: a statement goes to DuckDB only when DuckDB's own parser, preparing it on this session's
// connection, says it is a SELECT (or an EXPLAIN of one). Everything else is refused with SQLSTATE
// 25006 before it runs. File access from SQL is refused by the database itself (serve disables
// DuckDB's external access: see README).
//
// Thread-safety: run() on the session's thread; interrupt() and the accessors from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "common/duckdb.h"
#include "sql/server.h"
#include "sql/wire.h"

namespace hrflow::sql {

class Session;

// What sessions share: the database, the options, and the registry CancelRequest looks into.
class SessionHost {
 public:
  virtual ~SessionHost() = default;
  virtual db::Database& database() = 0;
  virtual const ServerOptions& options() const = 0;
  virtual const TlsContext* tls() const = 0;
  // A CancelRequest arrived for (pid, secret): interrupt that session's running statement.
  virtual void cancel(int32_t pid, int32_t secret) = 0;
  virtual bool loopback_only() const = 0;
  // A client that passed startup counts against serve.sql.max_connections until leave().
  virtual bool admit() = 0;
  virtual void leave() = 0;
};

class Session {
 public:
  Session(SessionHost& host, int fd, std::string peer, bool peer_is_loopback, int32_t pid);
  ~Session();
  void run();
  // Interrupt the running statement, if any (`timeout`: because its deadline passed).
  void interrupt(bool timeout);
  // Interrupt when the running statement passed its deadline.
  void check_deadline(std::chrono::steady_clock::time_point now);
  // End the session from another thread (server stop): the socket is shut down, the statement interrupted.
  void shutdown();
  int32_t pid() const { return pid_; }
  int32_t secret() const { return secret_; }
  bool finished() const { return finished_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int32_t pid_, secret_;
  std::atomic<bool> finished_{false};
};

}  // namespace hrflow::sql
