// The fleet simulator: every heart-rate reading of every user of a Fleet over a period, in global
// event-time order, as an Apple Watch would have recorded them (see model.h for the physiology and
// docs/physiology.md for the figures).
//
// How it works: one generator per user plans each local day (04:00 to 04:00 in the home's time
// zone) from a random stream seeded by (seed, user, day) and samples it lazily; a binary heap merges
// the users by (timestamp, user id). Hence:
//   - deterministic: same fleet, seed and period -> byte-identical output, whatever the machine;
//   - a sub-period of a run is exactly the same readings as the longer run restricted to it;
//   - users are independent of each other (adding a user does not change the others' readings).
// A user reads only inside their account spans, at the home of the time (residences).
//
// Lifecycle: create() -> next()/next_batch() until they return nothing -> ground_truth().
// Thread-safety: one thread per FleetSimulator.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "common/fleet.h"
#include "common/status.h"
#include "simulator/ground_truth.h"

namespace hrflow::sim {

struct Reading {
  int64_t timestamp = 0;  // epoch seconds, UTC
  int64_t user_id = 0;
  int64_t activity_id = 0;
  int32_t heart_rate = 0;
  int32_t latitude_e6 = 0, longitude_e6 = 0;  // micro-degrees
};

struct SimulatorOptions {
  uint64_t seed = 42;
  int64_t from_ts = 0;  // first second simulated (inclusive), epoch seconds
  int64_t to_ts = std::numeric_limits<int64_t>::max();  // end (exclusive); max = open-ended (live)
};

class UserGenerator;
struct Shared;

class FleetSimulator {
 public:
  static Result<FleetSimulator> create(const Fleet& fleet, const SimulatorOptions& options);
  FleetSimulator(FleetSimulator&&) noexcept;
  FleetSimulator& operator=(FleetSimulator&&) noexcept;
  ~FleetSimulator();

  // Timestamp of the next reading, or INT64_MAX when none is left.
  int64_t next_timestamp() const { return heap_.empty() ? std::numeric_limits<int64_t>::max() : timestamp_of(heap_[0]); }
  // The next reading in (timestamp, user id) order; false at the end.
  bool next(Reading& out);
  // Up to `n` readings with timestamp < `before` into `out`; returns how many.
  size_t next_batch(Reading* out, size_t n, int64_t before = std::numeric_limits<int64_t>::max());

  const SimulatorOptions& options() const { return options_; }
  size_t user_count() const { return users_.size(); }
  // The effects planted so far, and what was produced (counts, means, schedule minutes).
  const GroundTruth& ground_truth() const { return *truth_; }
  GroundTruth& mutable_ground_truth() { return *truth_; }

 private:
  // Heap keys: (seconds since the period's start) << kUserBits | user index, one integer compare.
  static constexpr int kUserBits = 24;
  static constexpr uint64_t kUserMask = (uint64_t{1} << kUserBits) - 1;
  uint64_t key(int64_t ts, size_t user) const {
    return (static_cast<uint64_t>(ts - base_ts_) << kUserBits) | static_cast<uint64_t>(user);
  }
  int64_t timestamp_of(uint64_t k) const { return base_ts_ + static_cast<int64_t>(k >> kUserBits); }
  FleetSimulator() = default;
  void sift_down(size_t i);

  SimulatorOptions options_;
  std::unique_ptr<Shared> shared_;
  std::unique_ptr<GroundTruth> truth_;
  std::vector<std::unique_ptr<UserGenerator>> users_;
  int64_t base_ts_ = 0;  // a little before the first possible reading
  std::vector<uint64_t> heap_;
};

// --- record formats -----------------------------------------------------------------------------
// The contract JSON of one reading, integers as numbers, coordinates with 6 decimals:
// {"user_id":10001,"heart_rate":128,"timestamp":1711943972,"meta":{"activity_id":20890,"location":{"latitude":37.416834,"longitude":-121.975002}}}
// Writes at most kMaxJsonBytes into `out` and returns the end.
inline constexpr size_t kMaxJsonBytes = 192;
char* format_json(const Reading& r, char* out);
// The same with every value a JSON string, as the original producer sent it.
char* format_json_strings(const Reading& r, char* out);
// The record key: the user id in decimal.
char* format_key(int64_t user_id, char* out);

}  // namespace hrflow::sim
