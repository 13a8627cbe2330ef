// The physiological and behavioural model of the fleet simulator: the published figures of
// docs physiology.md turned into constants and small pure functions, the regional daily rhythms,
// and the activity catalogue (MET -> intensity zone). Everything here is planted on purpose and
// written to the ground-truth file, so the warehouse's answers can be checked against it.
//
// Pure functions and immutable tables; safe from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/fleet.h"
#include "common/status.h"

namespace hrflow::sim {

// --- random numbers ------------------------------------------------------------------------------
// splitmix64: tiny, fast, and good enough for simulation; one stream per (seed, user, day) so users
// are independent and any day can be generated without the days before it.
inline uint64_t mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
inline uint64_t stream_seed(uint64_t seed, uint64_t a, uint64_t b) { return mix64(mix64(mix64(seed) ^ a) ^ b); }

class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t next() { return mix64(s_ += 0x9e3779b97f4a7c15ULL); }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  double uniform(double a, double b) { return a + (b - a) * uniform(); }
  int64_t range(int64_t lo, int64_t hi) {  // inclusive
    return lo + static_cast<int64_t>(next() % static_cast<uint64_t>(hi - lo + 1));
  }
  bool chance(double p) { return uniform() < p; }
  // Standard normal (Box-Muller, one value per call; the simulator's hot path uses fast_normal).
  double normal();
  // Approximately normal (sum of four uniforms, scaled to sd 1): cheap sensor noise.
  double fast_normal() {
    uint64_t r = next();
    double s = static_cast<double>(r & 0xffff) + static_cast<double>((r >> 16) & 0xffff) +
               static_cast<double>((r >> 32) & 0xffff) + static_cast<double>(r >> 48);
    return (s / 65536.0 - 2.0) * 1.7320508075688772;
  }

 private:
  uint64_t s_;
};

// --- physiology ----------------------------------------------------------------------------------
inline constexpr double kRestingMeanBpm = 65.5;   // Quer et al. 2020
inline constexpr double kRestingSdBpm = 7.7;
inline constexpr double kRestingMinBpm = 40, kRestingMaxBpm = 109;
inline constexpr double kMaxHrSdBpm = 6.0;        // spread around Tanaka 208 - 0.7 age
inline constexpr double kCircadianDipBpm = 4.0;   // daytime above night (Speed et al. 2023)
inline constexpr double kCircadianMinHour = 5.0;  // minimum of the dip, local time
inline constexpr double kCircadianHalfWidthH = 8.0;
inline constexpr double kSeasonalAmplitudeBpm = 1.05;  // peak-to-trough 2.1 (Dec/Jan vs Jul/Aug)
inline constexpr int kSeasonalPeakDayNorth = 15;       // day of year (0 = Jan 1) of the highest RHR
inline constexpr double kWeekendDeltaBpm = 1.6;         // Saturday and Sunday, local time
inline constexpr double kOnsetTauS = 45;                // exponential approach to a higher target
inline constexpr double kRecoveryTauS = 70;             // ~4 min (3.4 tau) to settle after activity
inline constexpr int kSensorMinBpm = 30, kSensorMaxBpm = 210;
inline constexpr int kWorkoutIntervalMinS = 4, kWorkoutIntervalMaxS = 6;  // Apple Watch in a workout
inline constexpr int kPostWorkoutS = 180;                                  // ... and 3 min after
inline constexpr int kBackgroundMinS = 180, kBackgroundMaxS = 600;         // still: every 3-10 min

// Circadian offset (<= 0) at a local hour: a cos^2 dip centred at 05:00, 8 h half-width, 0 by day.
double circadian_offset(double local_hour);
// Seasonal offset on day-of-year `doy` (0-based): cosine peaking mid-January (north) or mid-July (south).
double seasonal_offset(int doy, bool southern_hemisphere);

// CDC intensity zones as a share of maximum heart rate, from the activity's MET.
enum class HrZone : uint8_t { kRest, kLight, kModerate, kVigorous };
std::string_view zone_name(HrZone z);
struct Intensity {
  HrZone zone = HrZone::kRest;
  double pct_max = 0;       // target share of max HR (light, moderate, vigorous)
  double lo = 0, hi = 0;    // the zone's bounds (share of max HR)
  double rest_delta = 0;    // bpm above resting (rest-like activities, MET < 2)
};
// MET < 2: resting + 12 bpm/MET; 2-3 light 40-50%; 3-6 moderate 50-70%; >= 6 vigorous 70-85% of max.
Intensity intensity_for_met(double met);

// --- regions ---------------------------------------------------------------------------------------
enum class Persona : uint8_t { kRunner, kGym, kCyclist, kMindBody, kSwimmer, kDancer, kWalker, kSedentary };
inline constexpr int kPersonaCount = 8;
std::string_view persona_name(Persona p);
// Probability that a person of persona `p` works out on `weekday` (0 = Monday), before their own
// propensity (x 0.6-1.3); and how much more than their region's share they train in the morning.
double workout_day_probability(Persona p, int weekday);
double morning_factor(Persona p);

enum class Region : uint8_t {
  kNorthAmerica, kWesternEurope, kCentralEurope, kSouthernEurope, kNordic, kOceania, kSouthAmerica, kOther
};
inline constexpr int kRegionCount = 8;

struct RegionProfile {
  std::string_view name;
  std::string_view countries;   // for the ground truth
  double wake_h;                // weekday wake-up, local hours
  double sleep_h;               // sleep duration
  double evening_shift_h;       // dinner, evening workouts and bedtime later (+) or earlier (-)
  double lunch_h;               // lunch break length
  double morning_share;         // share of people who train in the morning (rest: evening)
  std::array<double, kPersonaCount> persona_weights;
};
Region region_of(std::string_view country_code);
const RegionProfile& region_profile(Region r);
// Share of commuters by bicycle / on foot in a country (the rest go by car or transit: sitting).
double cycle_commute_share(std::string_view country_code);
double walk_commute_share(std::string_view country_code);

// --- activities -----------------------------------------------------------------------------------
struct ActivityEntry {
  int64_t id = 0;
  std::string name;
  double met = 1;
  Intensity intensity;
  bool outdoor = false;   // moves along a route when done as a workout
  double speed_mps = 0;
};

// The fleet's activities with their intensity; well-known names resolved once.
class ActivityCatalog {
 public:
  static Result<ActivityCatalog> create(const std::vector<ActivityInfo>& activities);
  int find(std::string_view name) const;  // -1 when the fleet has no such activity
  const ActivityEntry& at(int i) const { return entries_[static_cast<size_t>(i)]; }
  int size() const { return static_cast<int>(entries_.size()); }
  // Indexes used by the daily plan (fallbacks applied: Stand -> Sit, Walk -> Stand).
  int sleep = -1, sit = -1, stand = -1, walk = -1, cycling = -1, cooldown = -1, wheelchair = -1;

 private:
  std::vector<ActivityEntry> entries_;
};

// The Compendium of Physical Activities MET of an activity name, used when the fleet gives none.
double default_met(std::string_view activity_name);

}  // namespace hrflow::sim
