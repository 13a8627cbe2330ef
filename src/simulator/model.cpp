#include "simulator/model.h"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace hrflow::sim {

namespace {
constexpr double kPi = 3.14159265358979323846;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

// Canonical activity names with their other spellings (the operational source renames some).
struct KnownActivity {
  std::string_view name;
  double met;
  bool outdoor;
  double speed_mps;
  std::array<std::string_view, 2> aliases;
};
constexpr KnownActivity kKnown[] = {
    {"Stand", 1.8, false, 0, {}},
    {"Sit", 1.3, false, 0, {}},
    {"Sleep", 0.95, false, 0, {}},
    {"Walk", 3.5, true, 1.4, {"Walking", ""}},
    {"Run", 9.8, true, 2.9, {"Running", "Outdoor Run"}},
    {"Cycling", 7.5, true, 6.5, {"Outdoor Cycling", ""}},
    {"Elliptical", 5.0, false, 0, {"Elliptical Trainer", ""}},
    {"Rower", 7.0, false, 0, {"Rowing", ""}},
    {"Stair Stepper", 9.0, false, 0, {"Stair Climbing", ""}},
    {"HIIT", 8.0, false, 0, {"High Intensity Interval Training", ""}},
    {"Hiking", 6.0, true, 1.2, {"Hike", ""}},
    {"Yoga", 2.5, false, 0, {}},
    {"Functional Strength Training", 5.0, false, 0, {"Strength Training", ""}},
    {"Dance", 5.0, false, 0, {"Dancing", ""}},
    {"Cooldown", 2.0, false, 0, {"Cool Down", ""}},
    {"Core Training", 3.8, false, 0, {}},
    {"Pilates", 3.0, false, 0, {}},
    {"Tai Chi", 3.0, false, 0, {}},
    {"Swimming", 7.0, false, 0, {"Pool Swimming", ""}},
    {"Wheelchair", 3.0, true, 1.5, {}},
    {"Multisport", 8.0, true, 4.0, {}},
    {"Kickboxing", 7.75, false, 0, {}},
    {"Other", 3.0, false, 0, {}},
};

const KnownActivity* known(std::string_view name) {
  for (const auto& k : kKnown) {
    if (iequals(k.name, name)) return &k;
    for (auto a : k.aliases) {
      if (!a.empty() && iequals(a, name)) return &k;
    }
  }
  return nullptr;
}
}  // namespace

double Rng::normal() {
  double u1 = uniform(), u2 = uniform();
  if (u1 < 1e-300) u1 = 1e-300;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2 * kPi * u2);
}

double circadian_offset(double h) {
  double d = h - kCircadianMinHour;
  if (d > 12) d -= 24;
  if (d < -12) d += 24;
  if (std::fabs(d) >= kCircadianHalfWidthH) return 0;
  double c = std::cos(kPi / 2 * d / kCircadianHalfWidthH);
  return -kCircadianDipBpm * c * c;
}

double seasonal_offset(int doy, bool south) {
  double peak = kSeasonalPeakDayNorth + (south ? 365.25 / 2 : 0);
  return kSeasonalAmplitudeBpm * std::cos(2 * kPi * (doy - peak) / 365.25);
}

std::string_view zone_name(HrZone z) {
  switch (z) {
    case HrZone::kRest: return "rest";
    case HrZone::kLight: return "light";
    case HrZone::kModerate: return "moderate";
    case HrZone::kVigorous: return "vigorous";
  }
  return "rest";
}

Intensity intensity_for_met(double met) {
  Intensity in;
  if (met < 2.0) {
    in.zone = HrZone::kRest;
    in.rest_delta = 6.0 * (met - 1.0);
  } else if (met < 3.0) {
    in.zone = HrZone::kLight;
    in.lo = 0.40, in.hi = 0.50;
    in.pct_max = 0.40 + 0.10 * (met - 2.0);
  } else if (met < 6.0) {
    in.zone = HrZone::kModerate;
    in.lo = 0.50, in.hi = 0.70;
    in.pct_max = 0.52 + 0.16 * (met - 3.0) / 3.0;
  } else {
    in.zone = HrZone::kVigorous;
    in.lo = 0.70, in.hi = 0.85;
    in.pct_max = 0.72 + 0.11 * std::min(1.0, (met - 6.0) / 5.0);
  }
  return in;
}

std::string_view persona_name(Persona p) {
  static constexpr std::string_view kNames[] = {"runner", "gym", "cyclist", "mind_body",
                                                "swimmer", "dancer", "walker", "sedentary"};
  return kNames[static_cast<int>(p)];
}

namespace {
//                                   run   gym   cycle mind  swim  dance walk  sedentary
const RegionProfile kRegions[] = {
    {"north_america", "US", 6.4, 7.2, 0.0, 0.5, 0.45, {0.16, 0.24, 0.05, 0.08, 0.05, 0.03, 0.12, 0.27}},
    {"western_europe", "GB FR NL", 6.9, 7.4, 0.4, 0.75, 0.30, {0.14, 0.20, 0.10, 0.09, 0.05, 0.04, 0.13, 0.25}},
    {"central_europe", "DE PL", 6.3, 7.3, 0.0, 0.5, 0.32, {0.12, 0.20, 0.12, 0.07, 0.06, 0.03, 0.15, 0.25}},
    {"southern_europe", "ES IT", 7.3, 7.0, 1.6, 1.5, 0.15, {0.13, 0.27, 0.08, 0.06, 0.05, 0.06, 0.12, 0.23}},
    {"nordic", "SE NO FI DK", 6.5, 7.5, -0.4, 0.5, 0.33, {0.15, 0.20, 0.12, 0.07, 0.05, 0.02, 0.20, 0.19}},
    {"oceania", "AU", 6.0, 7.3, -0.2, 0.5, 0.55, {0.18, 0.18, 0.07, 0.07, 0.12, 0.03, 0.12, 0.23}},
    {"south_america", "BR", 6.3, 7.2, 0.8, 1.0, 0.35, {0.16, 0.20, 0.05, 0.05, 0.05, 0.12, 0.10, 0.27}},
    {"other", "", 6.7, 7.3, 0.0, 0.75, 0.30, {0.14, 0.20, 0.08, 0.07, 0.05, 0.04, 0.13, 0.29}},
};
}  // namespace

namespace {
// Probability of a workout of each persona on each weekday (Mon..Sun), before the person's propensity.
const double kWorkoutDays[kPersonaCount][7] = {
    {0.45, 0.55, 0.40, 0.55, 0.25, 0.45, 0.70},  // runner: long run on Sunday
    {0.65, 0.60, 0.60, 0.55, 0.35, 0.40, 0.20},  // gym: Monday peak, quiet Sunday
    {0.30, 0.35, 0.30, 0.35, 0.20, 0.60, 0.75},  // cyclist: weekend rides
    {0.40, 0.40, 0.45, 0.40, 0.30, 0.35, 0.25},  // yoga, pilates, tai chi
    {0.45, 0.30, 0.45, 0.30, 0.30, 0.40, 0.30},  // swimmer
    {0.10, 0.30, 0.10, 0.40, 0.35, 0.35, 0.05},  // dancer: classes Tue/Thu, Fri/Sat nights
    {0.60, 0.60, 0.60, 0.60, 0.60, 0.65, 0.65},  // walker: daily walk, weekend hikes
    {0.06, 0.06, 0.06, 0.06, 0.06, 0.12, 0.12},  // sedentary: the odd walk
};
// How much more (or less) than the regional share each persona trains in the morning.
const double kMorningFactor[kPersonaCount] = {1.4, 0.8, 1.0, 0.9, 1.3, 0.0, 0.6, 0.5};

}  // namespace

double workout_day_probability(Persona p, int weekday) { return kWorkoutDays[static_cast<int>(p)][weekday]; }
double morning_factor(Persona p) { return kMorningFactor[static_cast<int>(p)]; }

Region region_of(std::string_view cc) {
  if (cc == "US") return Region::kNorthAmerica;
  if (cc == "GB" || cc == "FR" || cc == "NL") return Region::kWesternEurope;
  if (cc == "DE" || cc == "PL") return Region::kCentralEurope;
  if (cc == "ES" || cc == "IT") return Region::kSouthernEurope;
  if (cc == "SE" || cc == "NO" || cc == "FI" || cc == "DK") return Region::kNordic;
  if (cc == "AU") return Region::kOceania;
  if (cc == "BR") return Region::kSouthAmerica;
  return Region::kOther;
}

const RegionProfile& region_profile(Region r) { return kRegions[static_cast<int>(r)]; }

double cycle_commute_share(std::string_view cc) {
  if (cc == "NL") return 0.40;
  if (cc == "DK") return 0.35;
  if (cc == "DE" || cc == "SE" || cc == "FI") return 0.12;
  if (cc == "US" || cc == "AU" || cc == "BR") return 0.01;
  return 0.05;
}

double walk_commute_share(std::string_view cc) {
  if (cc == "US" || cc == "AU") return 0.03;
  if (cc == "ES" || cc == "IT" || cc == "FR" || cc == "GB") return 0.15;
  return 0.10;
}

double default_met(std::string_view name) {
  const auto* k = known(name);
  return k ? k->met : 3.0;
}

Result<ActivityCatalog> ActivityCatalog::create(const std::vector<ActivityInfo>& activities) {
  ActivityCatalog c;
  for (const auto& a : activities) {
    ActivityEntry e;
    e.id = a.activity_id;
    e.name = a.name;
    const auto* k = known(a.name);
    e.met = a.met > 0 ? a.met : (k ? k->met : 3.0);
    e.intensity = intensity_for_met(e.met);
    e.outdoor = k && k->outdoor;
    e.speed_mps = k ? k->speed_mps : 0;
    c.entries_.push_back(std::move(e));
  }
  c.sleep = c.find("Sleep");
  c.sit = c.find("Sit");
  if (c.sleep < 0 || c.sit < 0) {
    return invalid_argument(
        "the fleet has no '{}' activity; the simulator needs at least Sleep and Sit (load the operational "
        "activities with `hrflow oltp` first)",
        c.sleep < 0 ? "Sleep" : "Sit");
  }
  c.stand = c.find("Stand");
  if (c.stand < 0) c.stand = c.sit;
  c.walk = c.find("Walk");
  if (c.walk < 0) c.walk = c.stand;
  c.cycling = c.find("Cycling");
  c.cooldown = c.find("Cooldown");
  c.wheelchair = c.find("Wheelchair");
  return c;
}

int ActivityCatalog::find(std::string_view name) const {
  const auto* k = known(name);
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (iequals(entries_[i].name, name)) return static_cast<int>(i);
    if (k && known(entries_[i].name) == k) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace hrflow::sim
