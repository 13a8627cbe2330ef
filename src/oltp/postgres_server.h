// A PostgreSQL 15 server that hrflow starts itself: the managed operational database
// (`hrflow oltp up`, data under {state_dir}/postgres) and the throwaway server of the test fixture.
//
// The cluster is created with initdb on first start, listens on 127.0.0.1 only, trusts loopback
// connections, and has wal_level=logical so CDC works and track_commit_timestamp=on so every row
// version's commit time can be read. When libfaketime is installed the server runs under it with its
// wall clock following a file in the data directory (kClockFileName; normally the real time), so that
// simulated changes can be committed at their simulated time (see src/oltp/README.md). PostgreSQL refuses to run as root, so when
// hrflow runs as root the server runs as the `postgres` system user (via runuser).
// Lifecycle: start() returns once the server accepts connections; stop() or the owner's choice to
// leave it running (managed mode) ends it. Not thread-safe.
#pragma once

#include <filesystem>
#include <string>

#include "common/status.h"

namespace hrflow::oltp {

struct PostgresServerOptions {
  std::filesystem::path data_dir;  // created by initdb when it has no cluster yet
  int port = 54329;
  std::string database = "hrflow";  // created on first start
  int start_timeout_s = 60;
};

class PostgresServer {
 public:
  // Start (initialising the cluster if needed), or reuse a server already running on this data dir.
  static Result<PostgresServer> start(const PostgresServerOptions& options);
  // Is a server running on this data directory?
  static bool is_running(const std::filesystem::path& data_dir);
  // Stop the server on `data_dir` (fast shutdown). Not running is not an error.
  static Status stop(const std::filesystem::path& data_dir);

  // postgresql://postgres@127.0.0.1:<port>/<database>
  std::string url() const;
  std::string url_for(const std::string& database) const;
  int port() const { return options_.port; }
  const std::filesystem::path& data_dir() const { return options_.data_dir; }
  bool reused() const { return reused_; }

 private:
  explicit PostgresServer(PostgresServerOptions o, bool reused) : options_(std::move(o)), reused_(reused) {}
  PostgresServerOptions options_;
  bool reused_ = false;
};

// The clock file in the data directory: libfaketime (when installed) makes the server's wall clock
// follow it. "+0" means the real time; "2025-03-01 12:00:00" freezes the clock at that UTC time.
inline constexpr const char* kClockFileName = "hrflow_clock";
// Path of libfaketime's preload library, or empty when it is not installed.
std::string faketime_library();
// Replace the clock file's content atomically.
Status write_clock_file(const std::filesystem::path& path, const std::string& content);

// Directory of PostgreSQL's server programs (initdb, pg_ctl): $HRFLOW_PG_BIN or Debian's default.
std::filesystem::path postgres_bin_dir();

}  // namespace hrflow::oltp
