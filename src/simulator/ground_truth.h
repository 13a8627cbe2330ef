// What the simulator planted and what it produced, for the end-to-end tests and researchers: the
// model's parameters (per-activity target intensity, seasonal amplitude and phase by hemisphere,
// circadian dip, weekend effect, regional rhythms) and tallies of the readings actually produced
// (count and mean heart rate per activity, resting readings per hemisphere and month, and minutes
// of each activity per region, local weekday and local hour -> schedule probabilities).
//
// Filled by one FleetSimulator (single thread); write_json() after the run. Tallies are integers,
// so they do not depend on the order in which they were added.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/status.h"
#include "simulator/model.h"

namespace hrflow::sim {

class GroundTruth {
 public:
  GroundTruth(const ActivityCatalog& catalog, uint64_t seed, int64_t from_ts, int64_t to_ts);

  // One reading produced.
  void add_reading(int activity, int heart_rate, bool southern, int month0) {
    auto& a = activity_[static_cast<size_t>(activity)];
    a.readings += 1;
    a.hr_sum += heart_rate;
    if (catalog_->at(activity).intensity.zone == HrZone::kRest) {
      auto& s = resting_[southern ? 1 : 0][static_cast<size_t>(month0)];
      s.readings += 1;
      s.hr_sum += heart_rate;
    }
  }
  // `seconds` of `activity` in a region on a local weekday (0 = Monday) and local hour.
  void add_time(Region region, int weekday, int hour, int activity, int64_t seconds) {
    seconds_[index(region, weekday, hour, activity)] += seconds;
  }
  // Per-user figures drawn at the start (for the resting/maximum distribution).
  void add_user(double resting_bpm, double max_bpm, Persona persona, Region region);

  uint64_t readings() const;
  uint64_t readings_of(int activity) const { return activity_[static_cast<size_t>(activity)].readings; }
  double mean_hr_of(int activity) const;
  // Seconds of `activity` in (region, weekday, hour); for tests.
  int64_t seconds_at(Region region, int weekday, int hour, int activity) const {
    return seconds_[index(region, weekday, hour, activity)];
  }
  void set_period_end(int64_t to_ts) { to_ts_ = to_ts; }

  std::string to_json() const;
  // Write atomically (temp file + rename) so readers never see half a file.
  Status write_json(const std::filesystem::path& path) const;

 private:
  size_t index(Region r, int weekday, int hour, int activity) const {
    return ((static_cast<size_t>(r) * 7 + static_cast<size_t>(weekday)) * 24 + static_cast<size_t>(hour)) *
               static_cast<size_t>(catalog_->size()) +
           static_cast<size_t>(activity);
  }
  struct Tally {
    uint64_t readings = 0;
    uint64_t hr_sum = 0;
  };
  const ActivityCatalog* catalog_;
  uint64_t seed_;
  int64_t from_ts_, to_ts_;
  std::vector<Tally> activity_;
  std::array<std::array<Tally, 12>, 2> resting_{};
  std::vector<int64_t> seconds_;  // per (region, weekday, hour, activity)
  std::vector<double> user_rest_, user_max_;
  std::array<std::array<uint32_t, kPersonaCount>, kRegionCount> personas_{};
};

}  // namespace hrflow::sim
