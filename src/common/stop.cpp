#include "common/stop.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

namespace hrflow {
namespace {
constexpr int kExitInterrupted = 130;
std::atomic<int> g_stop_requests{0};

void on_signal(int /*sig*/) {
  if (g_stop_requests.fetch_add(1) >= 1) _exit(kExitInterrupted);
  static const char kMsg[] = "\nstopping (press Ctrl-C again to abort at once)\n";
  (void)!write(STDERR_FILENO, kMsg, sizeof kMsg - 1);
}
}  // namespace

StopToken StopToken::process() {
  return StopToken([] { return hrflow::stop_requested(); });
}

StopToken StopToken::or_else(StopToken other) const {
  if (!asked_) return other;
  if (!other.asked_) return *this;
  return StopToken([a = asked_, b = std::move(other.asked_)] { return a() || b(); });
}

bool StopToken::sleep_for_ms(int64_t ms) const {
  const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  for (;;) {
    if (stop_requested()) return false;
    auto left = until - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) return true;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(left, std::chrono::milliseconds(20)));
  }
}

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

bool stop_requested() { return g_stop_requests.load() > 0; }
void request_stop() { g_stop_requests.fetch_add(1); }

}  // namespace hrflow
