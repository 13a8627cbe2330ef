// Stopping long work. Every long-running entry point (sink, sync, produce, builds) takes a StopToken
// and ends cleanly when it says so: a command passes the token of Ctrl-C/SIGTERM, `hrflow serve` one
// per service, so one service (or one run) can be stopped without stopping the process.
//
// Thread-safety: a StopToken may be copied and asked from any thread; its source must outlive it.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

namespace hrflow {

class StopToken {
 public:
  StopToken() = default;  // never asks to stop
  explicit StopToken(std::function<bool()> asked) : asked_(std::move(asked)) {}
  // Stops when `flag` is set (the flag must outlive the token).
  static StopToken from_flag(const std::atomic<bool>& flag) {
    return StopToken([&flag] { return flag.load(std::memory_order_relaxed); });
  }
  // Stops on Ctrl-C / SIGTERM once install_stop_handlers() ran (what commands pass).
  static StopToken process();

  bool stop_requested() const { return asked_ && asked_(); }

 private:
  std::function<bool()> asked_;
};

// Ctrl-C / SIGTERM: the first request sets the process flag so long work can flush and exit cleanly;
// a second one exits at once. Only command adapters install them and read the flag.
void install_stop_handlers();
bool stop_requested();
void request_stop();

}  // namespace hrflow
