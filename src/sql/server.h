// The PostgreSQL-protocol endpoint of `hrflow serve`: psql, psycopg2, JDBC, node-postgres and BI tools
// query the warehouse while serve loads and builds it. One thread per client; every client has its
// own DuckDB connection on serve's database (each statement sees a snapshot, builds commit meanwhile).
// Read-only: see session.h for what runs and what is refused.
//
// Lifecycle: start() listens and returns; stop() (or the destructor) closes the listener, ends every
// session (running statements are interrupted) and joins the threads.
// Thread-safety: start/stop from one thread; sessions run on their own threads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>
#include <map>
#include <memory>
#include <string>

#include "common/duckdb.h"
#include "common/status.h"

namespace hrflow::sql {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 5433;
  // Password authentication (SCRAM-SHA-256): `users` (name -> password) when any are given, else
  // any user name with `token` as password; neither = no password (loopback only).
  std::map<std::string, std::string> users;
  std::string token;
  std::string tls_cert, tls_key;  // both set = TLS offered (and required from beyond loopback)
  int64_t statement_timeout_ms = 300000;  // upper bound; a client may SET a lower statement_timeout
  int max_connections = 64;
  // Search path of new sessions: the schemas of these names that exist, in this order.
  std::vector<std::string> search_path = {"serving", "staging", "raw", "main"};
};

// Close DuckDB's external access for the whole database `db` (irreversible while it is open): no
// read_csv/read_text/glob of files, COPY TO/FROM, ATTACH, INSTALL/LOAD from any connection, except
// files under `readable_dirs` (the pipeline's seeds). DuckDB's own files (database, WAL, temp) stay usable.
Status restrict_file_access(db::Database& db, const std::vector<std::filesystem::path>& readable_dirs);

class Server {
 public:
  static Result<std::unique_ptr<Server>> start(db::Database& db, ServerOptions options);
  virtual ~Server() = default;
  virtual void stop() = 0;
  virtual int port() const = 0;  // the bound port (options.port, or the one picked for port 0)
};

}  // namespace hrflow::sql
