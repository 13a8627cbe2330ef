// Exponential backoff with full jitter, the one retry schedule of hrflow (S3 requests, the sink and
// the CDC follower reconnecting, serve's automation retrying runs).
//
// The n-th wait is drawn uniformly from [0, min(max, initial * 2^(n-1))] ("full jitter"): clients
// that failed together do not retry together. reset() after a success starts over.
// The random draw is injectable (tests pin it); waiting uses a Clock, so a ManualClock drives it.
// Not thread-safe: one Backoff per retry loop.
#pragma once

#include <cstdint>
#include <functional>
#include <random>

#include "common/clock.h"
#include "common/stop.h"

namespace hrflow {

struct BackoffPolicy {
  int64_t initial_ms = 200;
  int64_t max_ms = 10'000;
};

class Backoff {
 public:
  // Draws a wait in [0, ceiling]; the default is uniform random.
  using Jitter = std::function<int64_t(int64_t ceiling_ms)>;

  explicit Backoff(BackoffPolicy policy, Jitter jitter = {});

  // The ceiling of the `failures`-th wait (1-based): initial * 2^(failures-1), capped at max.
  static int64_t ceiling_ms(const BackoffPolicy& policy, int failures);
  // Full jitter's draw: uniform in [0, ceiling].
  static int64_t uniform_jitter(int64_t ceiling_ms);

  // The wait before the next attempt; counts one more failure.
  int64_t next_ms();
  // Wait next_ms() on `clock`, waking early when `stop` asks; false when stopped.
  bool wait(const StopToken& stop, const Clock& clock = SystemClock::instance());
  void reset() { failures_ = 0; }
  int failures() const { return failures_; }

 private:
  BackoffPolicy policy_;
  Jitter jitter_;
  int failures_ = 0;
};

}  // namespace hrflow
