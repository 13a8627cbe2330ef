// Injected time. Production code asks a Clock, never the system directly, so tests of time-driven
// logic (rotation, idle timeouts, cron, freshness) run on a ManualClock without sleeping.
// SystemClock is stateless; ManualClock is safe to read from several threads.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace hrflow {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time, milliseconds since the Unix epoch (UTC).
  virtual int64_t now_ms() const = 0;
  // Monotonic time for measuring intervals, milliseconds.
  virtual int64_t monotonic_ms() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t now_ms() const override {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  }
  int64_t monotonic_ms() const override {
    using namespace std::chrono;
    return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
  }
  static const SystemClock& instance() {
    static const SystemClock clock;
    return clock;
  }
};

class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ms = 0) : now_(start_ms) {}
  int64_t now_ms() const override { return now_.load(); }
  int64_t monotonic_ms() const override { return now_.load(); }
  void advance_ms(int64_t ms) { now_ += ms; }
  void set_ms(int64_t ms) { now_ = ms; }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace hrflow
