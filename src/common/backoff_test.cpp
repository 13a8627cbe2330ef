#include "common/backoff.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace hrflow {
namespace {

TEST(Backoff, CeilingDoublesFromTheInitialWaitUpToTheCap) {
  BackoffPolicy p{100, 1'000};
  EXPECT_EQ(Backoff::ceiling_ms(p, 1), 100);
  EXPECT_EQ(Backoff::ceiling_ms(p, 2), 200);
  EXPECT_EQ(Backoff::ceiling_ms(p, 4), 800);
  EXPECT_EQ(Backoff::ceiling_ms(p, 5), 1'000);
  EXPECT_EQ(Backoff::ceiling_ms(p, 60), 1'000);  // no overflow after many failures
}

TEST(Backoff, FullJitterDrawsAcrossTheWholeRangeBelowTheCeiling) {
  Backoff b({1'000, 1'000});
  int64_t lo = INT64_MAX, hi = 0;
  for (int i = 0; i < 2'000; ++i) {
    int64_t d = b.next_ms();
    ASSERT_GE(d, 0);
    ASSERT_LE(d, 1'000);
    lo = std::min(lo, d);
    hi = std::max(hi, d);
  }
  // Full jitter, not [ceiling/2, ceiling]: waits near zero and near the ceiling both occur.
  EXPECT_LT(lo, 100);
  EXPECT_GT(hi, 900);
}

TEST(Backoff, ResetStartsTheScheduleOverAndCountsFailures) {
  std::vector<int64_t> seen;
  Backoff b({10, 1'000}, [&](int64_t ceiling) {
    seen.push_back(ceiling);
    return ceiling;
  });
  EXPECT_EQ(b.next_ms(), 10);
  EXPECT_EQ(b.next_ms(), 20);
  EXPECT_EQ(b.next_ms(), 40);
  EXPECT_EQ(b.failures(), 3);
  b.reset();
  EXPECT_EQ(b.next_ms(), 10);
  EXPECT_EQ(seen, (std::vector<int64_t>{10, 20, 40, 10}));
}

TEST(Backoff, WaitFollowsTheInjectedClockAndEndsEarlyOnStop) {
  ManualClock clock(0);
  std::atomic<bool> drawn{false}, done{false};
  Backoff b({5'000, 5'000}, [&](int64_t ceiling) {
    drawn = true;  // the deadline is fixed from here on
    return ceiling;
  });
  std::thread waiter([&] {
    EXPECT_TRUE(b.wait(StopToken(), clock));
    done = true;
  });
  while (!drawn) std::this_thread::yield();
  clock.advance_ms(4'999);
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  EXPECT_FALSE(done);  // still 1 ms of (manual) time to go
  clock.advance_ms(1);
  waiter.join();
  EXPECT_TRUE(done);

  std::atomic<bool> stop{true};
  EXPECT_FALSE(b.wait(StopToken::from_flag(stop), clock));  // stopped: no wait at all
}

TEST(StopToken, AFlagTokenStopsWhenTheFlagIsSetAndTheDefaultNever) {
  std::atomic<bool> flag{false};
  StopToken t = StopToken::from_flag(flag);
  EXPECT_FALSE(t.stop_requested());
  flag = true;
  EXPECT_TRUE(t.stop_requested());
  EXPECT_FALSE(StopToken().stop_requested());
}

}  // namespace
}  // namespace hrflow
