#include "sql/server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <list>
#include <mutex>
#include <thread>

#include "sql/session.h"

namespace hrflow::sql {

namespace {

bool loopback_host(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  in_addr a{};
  return inet_pton(AF_INET, host.c_str(), &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

class ServerImpl final : public Server, public SessionHost {
 public:
  ServerImpl(db::Database& db, ServerOptions options) : db_(db), options_(std::move(options)) {}
  ~ServerImpl() override { stop(); }

  Status init() {
    bool loopback = loopback_host(options_.host);
    if (options_.tls_cert.empty() != options_.tls_key.empty()) {
      return invalid_argument("serve.sql.tls_cert and serve.sql.tls_key go together: set both (PEM files) or neither");
    }
    if (!options_.tls_cert.empty()) {
      HRFLOW_ASSIGN_OR_RETURN(tls_, TlsContext::load(options_.tls_cert, options_.tls_key));
    }
    if (!loopback && !tls_) {
      return invalid_argument("the SQL endpoint on {} (beyond loopback) needs TLS: set serve.sql.tls_cert and "
                              "serve.sql.tls_key, or keep serve.sql.host on 127.0.0.1", options_.host);
    }
    if (!loopback && options_.users.empty() && options_.token.empty()) {
      return invalid_argument("the SQL endpoint on {} (beyond loopback) needs passwords: set serve.sql.users or "
                              "serve.token", options_.host);
    }
    addrinfo hints{}, *res = nullptr;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    std::string port = std::to_string(options_.port);
    if (int rc = getaddrinfo(options_.host.c_str(), port.c_str(), &hints, &res); rc != 0) {
      return invalid_argument("serve.sql.host '{}': {}", options_.host, gai_strerror(rc));
    }
    listen_fd_ = ::socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int rc = ::bind(listen_fd_, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    if (rc != 0 || ::listen(listen_fd_, 128) != 0) {
      std::string why = std::strerror(errno);
      ::close(listen_fd_);
      listen_fd_ = -1;
      return make_error(ErrorKind::kUnavailable,
                        "the SQL endpoint cannot listen on {}:{} ({}); choose another port with serve.sql.port "
                        "(0 turns the endpoint off)", options_.host, options_.port, why);
    }
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &len);
    port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                              : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    accept_thread_ = std::thread([this] { accept_loop(); });
    watchdog_ = std::thread([this] { watch(); });
    return {};
  }

  void stop() override {
    if (stopping_.exchange(true)) return;
    {
      std::lock_guard lock(mu_);
      cv_.notify_all();
      for (auto& s : sessions_) s.session->shutdown();
    }
    if (accept_thread_.joinable()) accept_thread_.join();
    if (watchdog_.joinable()) watchdog_.join();
    std::list<Entry> ending;
    {
      std::lock_guard lock(mu_);
      ending.swap(sessions_);
    }
    for (auto& s : ending) {
      if (s.thread.joinable()) s.thread.join();
    }
    if (listen_fd_ >= 0) ::close(listen_fd_);
    listen_fd_ = -1;
  }

  int port() const override { return port_; }

  db::Database& database() override { return db_; }
  const ServerOptions& options() const override { return options_; }
  const TlsContext* tls() const override { return tls_.get(); }
  bool loopback_only() const override { return loopback_host(options_.host); }

  bool admit() override {
    if (admitted_.fetch_add(1) >= options_.max_connections) {
      admitted_--;
      return false;
    }
    return true;
  }
  void leave() override { admitted_--; }

  void cancel(int32_t pid, int32_t secret) override {
    std::lock_guard lock(mu_);
    for (auto& s : sessions_) {
      if (s.session->pid() == pid && s.session->secret() == secret) {
        spdlog::info("sql: cancel request for session {}", pid);
        s.session->interrupt(false);
      }
    }
  }

 private:
  struct Entry {
    std::unique_ptr<Session> session;
    std::thread thread;
  };

  void accept_loop() {
    while (!stopping_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) continue;
      sockaddr_storage peer{};
      socklen_t len = sizeof peer;
      int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&peer), &len, SOCK_CLOEXEC);
      if (fd < 0) continue;
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      char addr[INET6_ADDRSTRLEN] = "?";
      int peer_port = 0;
      if (peer.ss_family == AF_INET) {
        auto* a = reinterpret_cast<sockaddr_in*>(&peer);
        inet_ntop(AF_INET, &a->sin_addr, addr, sizeof addr);
        peer_port = ntohs(a->sin_port);
      } else if (peer.ss_family == AF_INET6) {
        auto* a = reinterpret_cast<sockaddr_in6*>(&peer);
        inet_ntop(AF_INET6, &a->sin6_addr, addr, sizeof addr);
        peer_port = ntohs(a->sin6_port);
      }
      std::string host = addr;
      bool loopback = loopback_host(host) || host.starts_with("::ffff:127.");
      reap();
      std::lock_guard lock(mu_);
      // Sockets beyond the cap are still read a little (a CancelRequest must get through; a client
      // beyond serve.sql.max_connections is refused by its session): this bounds the threads.
      if (static_cast<int>(sessions_.size()) >= options_.max_connections + 8) {
        static const char kTooMany[] = "sorry, too many clients already (serve.sql.max_connections)";
        std::string msg;
        msg += 'E';
        std::string body = std::string("SFATAL") + '\0' + "C53300" + '\0' + "M" + kTooMany + '\0' + '\0';
        uint32_t n = static_cast<uint32_t>(body.size() + 4);
        msg += char(n >> 24);
        msg += char(n >> 16);
        msg += char(n >> 8);
        msg += char(n);
        msg += body;
        (void)::send(fd, msg.data(), msg.size(), MSG_NOSIGNAL);
        ::close(fd);
        spdlog::warn("sql: refused {}: {} connections open (serve.sql.max_connections)", host, sessions_.size());
        continue;
      }
      int32_t pid = next_pid_++;
      auto session = std::make_unique<Session>(*this, fd, fmt::format("{}:{}", host, peer_port), loopback, pid);
      Session* raw = session.get();
      sessions_.push_back(Entry{std::move(session), std::thread()});
      sessions_.back().thread = std::thread([raw] { raw->run(); });
    }
  }

  // Join the threads of sessions that ended.
  void reap() {
    std::list<Entry> done;
    {
      std::lock_guard lock(mu_);
      for (auto it = sessions_.begin(); it != sessions_.end();) {
        if (it->session->finished()) {
          done.splice(done.end(), sessions_, it++);
        } else {
          ++it;
        }
      }
    }
    for (auto& e : done) {
      if (e.thread.joinable()) e.thread.join();
    }
  }

  // Statement deadlines, and the threads of sessions that ended.
  void watch() {
    int ticks = 0;
    while (!stopping_) {
      {
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, std::chrono::milliseconds(50));
        auto now = std::chrono::steady_clock::now();
        for (auto& s : sessions_) s.session->check_deadline(now);
      }
      if (++ticks % 20 == 0) reap();
    }
  }

  db::Database& db_;
  ServerOptions options_;
  std::shared_ptr<TlsContext> tls_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::thread accept_thread_, watchdog_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::list<Entry> sessions_;
  std::atomic<int> admitted_{0};
  int32_t next_pid_ = 1000;
};

}  // namespace

Status restrict_file_access(db::Database& db, const std::vector<std::filesystem::path>& readable_dirs) {
  HRFLOW_ASSIGN_OR_RETURN(auto conn, db::Connection::connect(db));
  std::string list;
  for (const auto& d : readable_dirs) {
    std::string dir = d.string();
    if (!dir.ends_with("/")) dir += "/";  // a prefix match: /seeds/ must not allow /seeds-other
    list += (list.empty() ? "" : ", ") + db::quote_literal(dir);
  }
  HRFLOW_TRY(conn.execute("SET GLOBAL allowed_directories = [" + list + "]"));
  HRFLOW_TRY(conn.execute("SET GLOBAL enable_external_access = false"));
  return {};
}

Result<std::unique_ptr<Server>> Server::start(db::Database& db, ServerOptions options) {
  auto s = std::make_unique<ServerImpl>(db, std::move(options));
  HRFLOW_TRY(s->init());
  return std::unique_ptr<Server>(std::move(s));
}

}  // namespace hrflow::sql
