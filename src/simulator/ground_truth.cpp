#include "simulator/ground_truth.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>

namespace hrflow::sim {

namespace {
constexpr const char* kWeekdays[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

double round_to(double v, double unit) { return std::round(v / unit) * unit; }

std::pair<double, double> mean_sd(const std::vector<double>& v) {
  if (v.empty()) return {0, 0};
  double s = 0, ss = 0;
  for (double x : v) s += x;
  double m = s / static_cast<double>(v.size());
  for (double x : v) ss += (x - m) * (x - m);
  return {m, v.size() > 1 ? std::sqrt(ss / static_cast<double>(v.size() - 1)) : 0.0};
}
}  // namespace

GroundTruth::GroundTruth(const ActivityCatalog& catalog, uint64_t seed, int64_t from_ts, int64_t to_ts)
    : catalog_(&catalog),
      seed_(seed),
      from_ts_(from_ts),
      to_ts_(to_ts),
      activity_(static_cast<size_t>(catalog.size())),
      seconds_(static_cast<size_t>(kRegionCount) * 7 * 24 * static_cast<size_t>(catalog.size()), 0) {}

void GroundTruth::add_user(double resting_bpm, double max_bpm, Persona persona, Region region) {
  user_rest_.push_back(resting_bpm);
  user_max_.push_back(max_bpm);
  personas_[static_cast<size_t>(region)][static_cast<size_t>(persona)] += 1;
}

uint64_t GroundTruth::readings() const {
  uint64_t n = 0;
  for (const auto& a : activity_) n += a.readings;
  return n;
}

double GroundTruth::mean_hr_of(int activity) const {
  const auto& a = activity_[static_cast<size_t>(activity)];
  return a.readings ? static_cast<double>(a.hr_sum) / static_cast<double>(a.readings) : 0.0;
}

std::string GroundTruth::to_json() const {
  using nlohmann::json;
  json j;
  j["generator"] = "hrflow fleet simulator";
  j["format_version"] = 1;
  j["seed"] = seed_;
  j["from_ts"] = from_ts_;
  if (to_ts_ != std::numeric_limits<int64_t>::max()) j["to_ts"] = to_ts_;
  j["readings"] = readings();
  j["users"] = user_rest_.size();

  auto [rest_mean, rest_sd] = mean_sd(user_rest_);
  auto [max_mean, max_sd] = mean_sd(user_max_);
  j["resting_heart_rate"] = {
      {"definition", "per-user daytime resting heart rate (sitting still, MET 1) before circadian, seasonal and weekend effects"},
      {"planted_mean_bpm", kRestingMeanBpm},
      {"planted_sd_bpm", kRestingSdBpm},
      {"range_bpm", {kRestingMinBpm, kRestingMaxBpm}},
      {"age_effect", "+0.08 bpm/year to age 50, then -0.1 bpm/year"},
      {"sex_effect_bpm", {{"F", 1.5}, {"M", -1.5}}},
      {"fitness_effect_bpm_per_sd", -2.5},
      {"users_mean_bpm", round_to(rest_mean, 0.01)},
      {"users_sd_bpm", round_to(rest_sd, 0.01)}};
  j["max_heart_rate"] = {{"formula", "Tanaka: 208 - 0.7 * age"},
                         {"sd_bpm", kMaxHrSdBpm},
                         {"users_mean_bpm", round_to(max_mean, 0.01)},
                         {"users_sd_bpm", round_to(max_sd, 0.01)}};
  j["circadian"] = {{"dip_bpm", kCircadianDipBpm},
                    {"minimum_local_hour", kCircadianMinHour},
                    {"half_width_hours", kCircadianHalfWidthH},
                    {"shape", fmt::format("-dip * cos^2(pi/2 * (h - {}) / {}) within {} h of the minimum, else 0",
                                          kCircadianMinHour, kCircadianHalfWidthH, kCircadianHalfWidthH)},
                    {"applies_to", "resting activities (MET < 2): Sleep, Sit, Stand"}};
  j["seasonal"] = {
      {"amplitude_bpm", kSeasonalAmplitudeBpm},
      {"peak_to_trough_bpm", 2 * kSeasonalAmplitudeBpm},
      {"shape", "amplitude * cos(2 pi (day_of_year - peak_day) / 365.25), day_of_year 0 = 1 January"},
      {"north", {{"peak_day_of_year", kSeasonalPeakDayNorth}, {"highest", "mid-January"}, {"lowest", "mid-July"}}},
      {"south", {{"peak_day_of_year", kSeasonalPeakDayNorth + 182.625}, {"highest", "mid-July"}, {"lowest", "mid-January"}}},
      {"hemisphere", "from the home's latitude"},
      {"applies_to", "every reading"}};
  j["weekend"] = {{"delta_bpm", kWeekendDeltaBpm}, {"days", {"Sat", "Sun"}}, {"time", "local"}, {"applies_to", "every reading"}};
  j["transitions"] = {{"onset_tau_s", kOnsetTauS}, {"recovery_tau_s", kRecoveryTauS},
                      {"settled_after_s", std::round(3.4 * kRecoveryTauS)}};
  j["sampling"] = {{"workout_interval_s", {kWorkoutIntervalMinS, kWorkoutIntervalMaxS}},
                   {"after_workout_s", kPostWorkoutS},
                   {"background_interval_s", {kBackgroundMinS, kBackgroundMaxS}},
                   {"sensor_range_bpm", {kSensorMinBpm, kSensorMaxBpm}},
                   {"noise_sd_bpm", {{"resting", "1.5 * (1.25 - age / 160)"}, {"workout", 2.5}}}};

  json acts = json::array();
  for (int i = 0; i < catalog_->size(); ++i) {
    const auto& a = catalog_->at(i);
    json o = {{"activity_id", a.id}, {"name", a.name}, {"met", a.met}, {"zone", zone_name(a.intensity.zone)}};
    if (a.intensity.zone == HrZone::kRest) {
      o["target"] = fmt::format("resting + {:.1f} bpm", a.intensity.rest_delta);
      o["rest_delta_bpm"] = round_to(a.intensity.rest_delta, 0.01);
    } else {
      o["target_pct_max_hr"] = round_to(a.intensity.pct_max, 0.0001);
      o["zone_pct_max_hr"] = {a.intensity.lo, a.intensity.hi};
      o["target"] = "max(target_pct_max_hr * max HR, resting + 5) once settled (first ~3 min ramp up); "
                    "per person +-0.02, per session +-0.015, kept inside the zone";
    }
    o["outdoor_route"] = a.outdoor;
    o["readings"] = activity_[static_cast<size_t>(i)].readings;
    o["mean_heart_rate"] = round_to(mean_hr_of(i), 0.01);
    acts.push_back(o);
  }
  j["activities"] = acts;

  json seasonal_realized;
  for (int h = 0; h < 2; ++h) {
    json months = json::array();
    for (int m = 0; m < 12; ++m) {
      const auto& t = resting_[static_cast<size_t>(h)][static_cast<size_t>(m)];
      if (!t.readings) continue;
      months.push_back({{"month", kMonths[m]},
                        {"resting_readings", t.readings},
                        {"mean_heart_rate", round_to(static_cast<double>(t.hr_sum) / static_cast<double>(t.readings), 0.001)}});
    }
    seasonal_realized[h == 0 ? "north" : "south"] = months;
  }
  j["resting_by_month"] = seasonal_realized;

  json regions = json::object();
  for (int r = 0; r < kRegionCount; ++r) {
    const auto& p = region_profile(static_cast<Region>(r));
    json personas = json::object(), counts = json::object();
    for (int q = 0; q < kPersonaCount; ++q) {
      personas[std::string(persona_name(static_cast<Persona>(q)))] = p.persona_weights[static_cast<size_t>(q)];
      counts[std::string(persona_name(static_cast<Persona>(q)))] = personas_[static_cast<size_t>(r)][static_cast<size_t>(q)];
    }
    regions[std::string(p.name)] = {{"countries", p.countries},
                                    {"weekday_wake_hour", p.wake_h},
                                    {"sleep_hours", p.sleep_h},
                                    {"evening_shift_hours", p.evening_shift_h},
                                    {"lunch_hours", p.lunch_h},
                                    {"morning_workout_share", p.morning_share},
                                    {"persona_weights", personas},
                                    {"users_by_persona", counts}};
  }
  j["regions"] = regions;
  json personas = json::object();
  for (int q = 0; q < kPersonaCount; ++q) {
    json days = json::object();
    for (int d = 0; d < 7; ++d) days[kWeekdays[d]] = workout_day_probability(static_cast<Persona>(q), d);
    personas[std::string(persona_name(static_cast<Persona>(q)))] = {
        {"workout_probability_by_weekday", days}, {"morning_factor", morning_factor(static_cast<Persona>(q))}};
  }
  j["personas"] = personas;

  // Realised schedule: share of time in each activity per region, local weekday and local hour.
  json schedule = json::object();
  const auto n_act = static_cast<size_t>(catalog_->size());
  for (int r = 0; r < kRegionCount; ++r) {
    json by_day = json::object();
    bool any = false;
    for (int d = 0; d < 7; ++d) {
      json by_hour = json::object();
      for (int h = 0; h < 24; ++h) {
        int64_t total = 0;
        size_t base = index(static_cast<Region>(r), d, h, 0);
        for (size_t a = 0; a < n_act; ++a) total += seconds_[base + a];
        if (total == 0) continue;
        json shares = json::object();
        for (size_t a = 0; a < n_act; ++a) {
          if (seconds_[base + a] == 0) continue;
          shares[catalog_->at(static_cast<int>(a)).name] =
              round_to(static_cast<double>(seconds_[base + a]) / static_cast<double>(total), 0.0001);
        }
        by_hour[fmt::format("{:02}", h)] = shares;
        any = true;
      }
      if (!by_hour.empty()) by_day[kWeekdays[d]] = by_hour;
    }
    if (any) schedule[std::string(region_profile(static_cast<Region>(r)).name)] = by_day;
  }
  j["schedule_share_of_time"] = schedule;
  j["schedule_note"] = "share of simulated time in each activity, by the home's region, local weekday and local hour";
  return j.dump(1);
}

Status GroundTruth::write_json(const std::filesystem::path& path) const {
  std::error_code ec;
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path(), ec);
  if (ec) return io_error("cannot create {}: {}", path.parent_path().string(), ec.message());
  auto tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return io_error("cannot write the ground truth to {}", tmp.string());
    out << to_json() << '\n';
    out.flush();
    if (!out) return io_error("writing the ground truth to {} failed (disk full?)", tmp.string());
  }
  std::filesystem::rename(tmp, path, ec);
  if (ec) return io_error("cannot rename {} to {}: {}", tmp.string(), path.string(), ec.message());
  return {};
}

}  // namespace hrflow::sim
