#include "common/backoff.h"

#include <algorithm>
#include <thread>

namespace hrflow {

Backoff::Backoff(BackoffPolicy policy, Jitter jitter)
    : policy_(policy), jitter_(jitter ? std::move(jitter) : Jitter(&Backoff::uniform_jitter)) {}

int64_t Backoff::ceiling_ms(const BackoffPolicy& policy, int failures) {
  int64_t ceiling = std::max<int64_t>(policy.initial_ms, 0);
  for (int i = 1; i < failures && ceiling < policy.max_ms; ++i) ceiling *= 2;
  return std::min(ceiling, policy.max_ms);
}

int64_t Backoff::uniform_jitter(int64_t ceiling_ms) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_int_distribution<int64_t>(0, std::max<int64_t>(ceiling_ms, 0))(rng);
}

int64_t Backoff::next_ms() {
  ++failures_;
  return std::clamp<int64_t>(jitter_(ceiling_ms(policy_, failures_)), 0, policy_.max_ms);
}

bool Backoff::wait(const StopToken& stop, const Clock& clock) {
  const int64_t until = clock.monotonic_ms() + next_ms();
  for (;;) {
    if (stop.stop_requested()) return false;
    const int64_t left = until - clock.monotonic_ms();
    if (left <= 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min<int64_t>(left, 20)));
  }
}

}  // namespace hrflow
