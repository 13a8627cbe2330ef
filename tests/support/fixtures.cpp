#include "support/fixtures.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <thread>

#include "oltp/postgres_server.h"

namespace hrflow::testing {
namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "hrflow-test-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
  fs::permissions(path_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                             fs::perms::others_read | fs::perms::others_exec);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

int free_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  int port = ntohs(addr.sin_port);
  close(fd);
  return port;
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout,
                std::chrono::milliseconds poll) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(poll);
  }
  return condition();
}

std::string hrflow_bin() {
  const char* bin = std::getenv("HRFLOW_BIN");
  return bin ? bin : HRFLOW_BIN_DEFAULT;
}

fs::path source_dir() {
  const char* dir = std::getenv("HRFLOW_SOURCE_DIR");
  return dir ? dir : HRFLOW_SOURCE_DIR_DEFAULT;
}

CommandOutput run_hrflow(const std::vector<std::string>& args, const fs::path& cwd) {
  std::vector<std::string> argv = {"/bin/sh", "-c", ""};
  std::string cmd = cwd.empty() ? "" : "cd '" + cwd.string() + "' && ";
  cmd += "exec '" + hrflow_bin() + "'";
  for (const auto& a : args) {
    std::string q = "'";
    for (char c : a) q += (c == '\'') ? std::string("'\\''") : std::string(1, c);
    cmd += " " + q + "'";
  }
  argv[2] = cmd;
  auto r = run_command(argv);
  return r.ok() ? *r : CommandOutput{-1, r.error().message};
}

// --- PostgreSQL ------------------------------------------------------------------------------

Result<std::unique_ptr<PostgresInstance>> PostgresInstance::start() {
  if (!fs::exists(oltp::postgres_bin_dir() / "initdb")) {
    return Error{ErrorKind::kNotFound, "PostgreSQL 15 is not installed (run make setup)", false};
  }
  std::unique_ptr<PostgresInstance> pg(new PostgresInstance());
  pg->dir_ = std::make_unique<TempDir>();
  for (int attempt = 0; attempt < 3; ++attempt) {
    pg->port_ = free_port();
    auto server = oltp::PostgresServer::start({pg->dir_->path() / "data", pg->port_, "hrflow", 60});
    if (server.ok()) return pg;
    if (attempt == 2) return server.error();
  }
  return make_error(ErrorKind::kUnavailable, "PostgreSQL did not start");
}

PostgresInstance::~PostgresInstance() {
  if (dir_) (void)oltp::PostgresServer::stop(dir_->path() / "data");
}

std::string PostgresInstance::url() const { return fmt::format("postgresql://postgres@127.0.0.1:{}/hrflow", port_); }

// --- Kafka (mock cluster) --------------------------------------------------------------------

Result<std::unique_ptr<KafkaInstance>> KafkaInstance::start(int partitions, const std::string& topic) {
  std::unique_ptr<KafkaInstance> k(new KafkaInstance());
  k->dir_ = std::make_unique<TempDir>();
  auto log = k->dir_->path() / "kafka.log";
  auto p = Subprocess::start(
      {hrflow_bin(), "dev", "kafka", "--partitions", std::to_string(partitions), "--topic", topic}, log.string());
  if (!p.ok()) return p.error();
  k->process_ = std::make_unique<Subprocess>(std::move(p).value());
  bool up = wait_until(
      [&] {
        std::ifstream in(log);
        std::string line;
        if (std::getline(in, line) && line.find(':') != std::string::npos && line.find(' ') == std::string::npos) {
          k->bootstrap_ = line;
          return true;
        }
        return false;
      },
      std::chrono::seconds(20));
  if (!up) {
    std::ifstream in(log);
    std::string all((std::istreambuf_iterator<char>(in)), {});
    return make_error(ErrorKind::kUnavailable, "`hrflow dev kafka` did not print its bootstrap servers: {}", all);
  }
  return k;
}

// --- S3 (moto_server) ------------------------------------------------------------------------

Result<std::unique_ptr<S3Instance>> S3Instance::start() {
  auto which = run_command({"sh", "-c", "command -v moto_server"});
  if (!which.ok() || which->exit_code != 0) {
    return Error{ErrorKind::kNotFound, "moto_server (an S3 API server) is not installed on this machine", false};
  }
  std::unique_ptr<S3Instance> s3(new S3Instance());
  s3->dir_ = std::make_unique<TempDir>();
  s3->port_ = free_port();
  auto p = Subprocess::start({"moto_server", "-H", "127.0.0.1", "-p", std::to_string(s3->port_)},
                             (s3->dir_->path() / "moto.log").string());
  if (!p.ok()) return p.error();
  s3->process_ = std::make_unique<Subprocess>(std::move(p).value());
  int port = s3->port_;
  bool up = wait_until(
      [port] {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(static_cast<uint16_t>(port));
        bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
        close(fd);
        return ok;
      },
      std::chrono::seconds(30), std::chrono::milliseconds(50));
  if (!up) return make_error(ErrorKind::kUnavailable, "moto_server did not start listening on port {}", port);
  return s3;
}

std::string S3Instance::endpoint() const { return fmt::format("http://127.0.0.1:{}", port_); }

}  // namespace hrflow::testing
