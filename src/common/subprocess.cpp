#include "common/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

extern char** environ;

namespace hrflow {
namespace {

std::vector<char*> c_argv(const std::vector<std::string>& argv) {
  std::vector<char*> out;
  for (const auto& a : argv) out.push_back(const_cast<char*>(a.c_str()));
  out.push_back(nullptr);
  return out;
}

Result<pid_t> spawn(const std::vector<std::string>& argv, int out_fd, bool new_group) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  if (out_fd >= 0) {
    posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
  }
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  if (new_group) {
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup(&attr, 0);
  }
  pid_t pid = -1;
  auto args = c_argv(argv);
  int rc = posix_spawnp(&pid, args[0], &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return Error{ErrorKind::kNotFound, fmt::format("cannot run '{}': {}", argv[0], std::strerror(rc)), false};
  }
  return pid;
}

}  // namespace

bool running_as_root() { return geteuid() == 0; }

Result<CommandOutput> run_command(const std::vector<std::string>& argv) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return io_error("pipe: {}", std::strerror(errno));
  auto pid = spawn(argv, fds[1], false);
  close(fds[1]);
  if (!pid.ok()) {
    close(fds[0]);
    return pid.error();
  }
  CommandOutput out;
  char buf[4096];
  ssize_t n;
  while ((n = read(fds[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) out.output.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(*pid, &status, 0) < 0 && errno == EINTR) {
  }
  out.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return out;
}

Result<int> run_attached(const std::vector<std::string>& argv) {
  pid_t pid = -1;
  auto args = c_argv(argv);
  int rc = posix_spawnp(&pid, args[0], nullptr, nullptr, args.data(), environ);
  if (rc != 0) {
    return Error{ErrorKind::kNotFound, fmt::format("cannot run '{}': {}", argv[0], std::strerror(rc)), false};
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

Result<CommandOutput> run_command_as(const std::string& user, const std::vector<std::string>& argv) {
  if (!running_as_root()) return run_command(argv);
  std::vector<std::string> full = {"runuser", "-u", user, "--"};
  full.insert(full.end(), argv.begin(), argv.end());
  return run_command(full);
}

Result<Subprocess> Subprocess::start(const std::vector<std::string>& argv, const std::string& log_path) {
  int fd = open(log_path.empty() ? "/dev/null" : log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                0644);
  if (fd < 0) return io_error("cannot open log file '{}': {}", log_path, std::strerror(errno));
  auto pid = spawn(argv, fd, true);
  close(fd);
  if (!pid.ok()) return pid.error();
  return Subprocess(*pid);
}

Subprocess& Subprocess::operator=(Subprocess&& o) noexcept {
  if (this != &o) {
    if (pid_ > 0) stop();
    pid_ = o.pid_;
    o.pid_ = -1;
  }
  return *this;
}

Subprocess::~Subprocess() {
  if (pid_ > 0) stop();
}

bool Subprocess::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  return waitpid(pid_, &status, WNOHANG) == 0;
}

int Subprocess::stop(int signal, int timeout_ms) {
  if (pid_ <= 0) return -1;
  kill(-pid_, signal);
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (true) {
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || r < 0) break;
    if (std::chrono::steady_clock::now() > deadline) {
      kill(-pid_, SIGKILL);
      waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace hrflow
