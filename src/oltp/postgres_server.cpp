#include "oltp/postgres_server.h"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "common/subprocess.h"

namespace hrflow::oltp {
namespace fs = std::filesystem;

fs::path postgres_bin_dir() {
  if (const char* env = std::getenv("HRFLOW_PG_BIN"); env && *env) return env;
  return "/usr/lib/postgresql/15/bin";
}

namespace {

constexpr const char* kServerUser = "postgres";

// When root, hand the directory to the postgres user so the server can own it.
Status give_to_server_user(const fs::path& dir) {
  if (!running_as_root()) return {};
  struct passwd* pw = getpwnam(kServerUser);
  if (pw == nullptr) {
    return Error{ErrorKind::kNotFound,
                 "running as root, but there is no 'postgres' system user to run PostgreSQL as; install "
                 "postgresql-15 (make setup)",
                 false};
  }
  if (chown(dir.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
    return io_error("cannot hand '{}' to the postgres user: {}", dir.string(), std::strerror(errno));
  }
  return {};
}

Result<CommandOutput> pg_tool(const std::vector<std::string>& argv) { return run_command_as(kServerUser, argv); }

// Settings every managed cluster needs; appended to postgresql.auto.conf when missing (also for
// clusters created by an older hrflow).
Status ensure_settings(const fs::path& data_dir) {
  auto conf_path = data_dir / "postgresql.auto.conf";
  std::ifstream in(conf_path);
  std::string conf((std::istreambuf_iterator<char>(in)), {});
  std::ofstream out(conf_path, std::ios::app);
  // The commit time of each row version: ingestion stamps snapshot rows with pg_xact_commit_timestamp.
  if (conf.find("track_commit_timestamp") == std::string::npos) out << "track_commit_timestamp = on\n";
  if (!out) return io_error("cannot write '{}'", conf_path.string());
  return {};
}

}  // namespace

bool PostgresServer::is_running(const fs::path& data_dir) {
  auto r = pg_tool({(postgres_bin_dir() / "pg_ctl").string(), "status", "-D", data_dir.string()});
  return r.ok() && r->exit_code == 0;
}

Status PostgresServer::stop(const fs::path& data_dir) {
  if (!fs::exists(data_dir / "PG_VERSION") || !is_running(data_dir)) return {};
  auto r = pg_tool({(postgres_bin_dir() / "pg_ctl").string(), "stop", "-D", data_dir.string(), "-m", "fast",
                    "-w", "-t", "60"});
  if (!r.ok()) return r.error();
  if (r->exit_code != 0) return io_error("pg_ctl stop failed for '{}': {}", data_dir.string(), r->output);
  return {};
}

Result<PostgresServer> PostgresServer::start(const PostgresServerOptions& options) {
  PostgresServerOptions o = options;
  o.data_dir = fs::absolute(o.data_dir);
  std::error_code ec;
  if (!fs::exists(o.data_dir / "PG_VERSION")) {
    fs::create_directories(o.data_dir, ec);
    if (ec) return io_error("cannot create '{}': {}", o.data_dir.string(), ec.message());
    fs::permissions(o.data_dir, fs::perms::owner_all, ec);
    HRFLOW_TRY(give_to_server_user(o.data_dir));
    auto r = pg_tool({(postgres_bin_dir() / "initdb").string(), "-D", o.data_dir.string(), "-U", "postgres",
                      "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync"});
    if (!r.ok()) return r.error().with_context("initdb");
    if (r->exit_code != 0) {
      // Run as root, the server runs as the postgres user, which must be able to enter every parent
      // directory (a private 0700 home or mktemp -d is the usual culprit).
      std::string hint = r->output.find("Permission denied") != std::string::npos
                             ? "\nThe server runs as the postgres system user, which cannot enter a parent directory of "
                               "the data directory: allow it (chmod o+x on each parent) or set state_dir to a "
                               "directory it can reach."
                             : "";
      Error e = io_error("initdb failed in '{}':\n{}{}", o.data_dir.string(), r->output, hint);
      e.retriable = hint.empty();  // a permission problem does not go away by itself
      return e;
    }
    // Settings for CDC and for a small, private, loopback-only server.
    std::ofstream conf(o.data_dir / "postgresql.auto.conf", std::ios::app);
    conf << "wal_level = logical\nmax_replication_slots = 10\nmax_wal_senders = 10\n"
            "listen_addresses = '127.0.0.1'\nfsync = on\nunix_socket_directories = ''\n"
            "max_connections = 50\nshared_buffers = '128MB'\n";
    conf.close();
    std::ofstream hba(o.data_dir / "pg_hba.conf", std::ios::trunc);
    hba << "host all all 127.0.0.1/32 trust\nhost replication all 127.0.0.1/32 trust\n";
  }

  bool reused = is_running(o.data_dir);
  if (!reused) {
    HRFLOW_TRY(ensure_settings(o.data_dir));
    auto log = o.data_dir / "server.log";
    std::vector<std::string> argv;
    // Under libfaketime (when installed) the server's clock follows a file hrflow writes, so
    // `hrflow oltp mutate` can commit each change at its simulated time. "+0" = the real time.
    if (auto lib = faketime_library(); !lib.empty()) {
      auto clock = o.data_dir / kClockFileName;
      HRFLOW_TRY(write_clock_file(clock, "+0"));
      argv = {"env", "LD_PRELOAD=" + lib, "FAKETIME_TIMESTAMP_FILE=" + clock.string(), "FAKETIME_NO_CACHE=1",
              "FAKETIME_DONT_FAKE_MONOTONIC=1"};
    }
    for (const std::string& a : {(postgres_bin_dir() / "pg_ctl").string(), std::string("start"), std::string("-D"),
                                 o.data_dir.string(), std::string("-w"), std::string("-t"),
                                 std::to_string(o.start_timeout_s), std::string("-l"), log.string(),
                                 std::string("-o"), fmt::format("-p {} -k ''", o.port)}) {
      argv.push_back(a);
    }
    auto r = pg_tool(argv);
    if (!r.ok()) return r.error().with_context("pg_ctl start");
    if (r->exit_code != 0) {
      std::ifstream in(log);
      std::string tail((std::istreambuf_iterator<char>(in)), {});
      if (tail.size() > 2000) tail = tail.substr(tail.size() - 2000);
      return Error{ErrorKind::kUnavailable,
                   fmt::format("PostgreSQL did not start on 127.0.0.1:{} (data '{}'); is the port taken? Set "
                               "oltp.port to another one. Server log:\n{}",
                               o.port, o.data_dir.string(), tail),
                   true};
    }
  } else {
    // Reuse: learn the port the running server listens on from postmaster.pid (line 4).
    std::ifstream pid(o.data_dir / "postmaster.pid");
    std::string line;
    for (int i = 0; i < 4 && std::getline(pid, line); ++i) {
    }
    if (!line.empty()) o.port = std::atoi(line.c_str());
  }

  PostgresServer server(o, reused);
  if (!o.database.empty() && o.database != "postgres") {
    auto psql = [&](const std::string& sql) {
      return run_command({"psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-d", server.url_for("postgres"),
                          "-c", sql});
    };
    auto exists = psql(fmt::format("SELECT 1 FROM pg_database WHERE datname = '{}'", o.database));
    if (!exists.ok()) return exists.error();
    if (exists->exit_code != 0) return io_error("cannot query the managed PostgreSQL: {}", exists->output);
    if (exists->output.find('1') == std::string::npos) {
      auto created = psql(fmt::format("CREATE DATABASE \"{}\"", o.database));
      if (!created.ok()) return created.error();
      if (created->exit_code != 0) return io_error("cannot create database {}: {}", o.database, created->output);
    }
  }
  return server;
}

std::string faketime_library() {
  for (const char* candidate : {"/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
                                "/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1",
                                "/usr/lib/faketime/libfaketime.so.1"}) {
    if (fs::exists(candidate)) return candidate;
  }
  return {};
}

Status write_clock_file(const fs::path& path, const std::string& content) {
  // Write then rename: the server never reads a half-written time.
  auto tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << content << "\n";
    if (!out) return io_error("cannot write the server clock file '{}'", tmp.string());
  }
  fs::permissions(tmp, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return io_error("cannot replace the server clock file '{}': {}", path.string(), ec.message());
  return {};
}

std::string PostgresServer::url() const { return url_for(options_.database); }
std::string PostgresServer::url_for(const std::string& database) const {
  return fmt::format("postgresql://postgres@127.0.0.1:{}/{}", options_.port, database);
}

}  // namespace hrflow::oltp
