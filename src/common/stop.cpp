#include "common/stop.h"

#include <signal.h>
#include <unistd.h>

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
