#include "simulator/simulator.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "simulator/timezone.h"

namespace hrflow::sim {

namespace {

constexpr int64_t kDay = 86400;
constexpr double kPi = 3.14159265358979323846;
constexpr uint64_t kTraitsSalt = 0x7472616974730000ULL;  // "traits"
constexpr int32_t kDayStartLocal = 4 * 3600;              // a simulated day runs 04:00 -> 04:00 local

// Canonical activities the daily plan refers to (resolved to the fleet's catalogue once).
enum A : uint8_t {
  kStand, kSit, kSleep, kWalk, kRun, kCycling, kElliptical, kRower, kStairStepper, kHiit, kHiking, kYoga,
  kFunctional, kDance, kCooldown, kCore, kPilates, kTaiChi, kSwimming, kWheelchair, kMultisport, kKickboxing,
  kOther, kCanonicalCount
};
constexpr std::string_view kCanonicalNames[kCanonicalCount] = {
    "Stand", "Sit", "Sleep", "Walk", "Run", "Cycling", "Elliptical", "Rower", "Stair Stepper", "HIIT", "Hiking",
    "Yoga", "Functional Strength Training", "Dance", "Cooldown", "Core Training", "Pilates", "Tai Chi",
    "Swimming", "Wheelchair", "Multisport", "Kickboxing", "Other"};

struct Segment {
  int32_t start = 0, end = 0;  // seconds since the day's start
  int16_t act = 0;
  bool workout = false;
  float pct = 0;      // this session's target share of max HR (active zones)
  float heading = 0;  // outdoor route direction (radians)
};

struct Traits {
  double fit_z, rest_resid, max_resid, chrono_h, sleep_delta_h, employed_u, commute_u, commute_min, morning_u,
      propensity, evening_off_h, pct_offset;
  bool standing_job, wheelchair;
  Persona persona;
};

int age_on(int32_t dob, int64_t day) {
  if (dob < 19000101) return 40;
  int y;
  unsigned m, d;
  civil_from_days(day, y, m, d);
  int by = dob / 10000, bm = dob / 100 % 100, bd = dob % 100;
  int age = y - by - ((static_cast<int>(m) < bm || (static_cast<int>(m) == bm && static_cast<int>(d) < bd)) ? 1 : 0);
  return std::clamp(age, 0, 120);
}

double resting_for(const UserProfile& u, const Traits& t, int age) {
  // Rises with age until ~50, then falls; women a few bpm higher; fitter people lower (Quer 2020).
  double age_eff = age <= 50 ? 0.08 * (age - 40) : 0.8 - 0.1 * (age - 50);
  double sex_eff = u.sex == 'M' ? -1.5 : 1.5;
  return std::clamp(66.7 + age_eff + sex_eff - 2.5 * t.fit_z + t.rest_resid, kRestingMinBpm, kRestingMaxBpm);
}

}  // namespace

// Data shared by all users' generators (read-only once built).
struct Shared {
  ActivityCatalog catalog;
  std::array<int, kCanonicalCount> idx{};  // canonical -> catalogue index, -1 when missing
  std::array<float, 1440> circadian{};     // per local minute
  uint64_t seed = 0;
  int64_t from = 0, to = 0;
  GroundTruth* truth = nullptr;

  int pick(Rng& rng, std::initializer_list<std::pair<A, double>> options) const {
    double total = 0;
    for (auto [a, w] : options) total += idx[a] >= 0 ? w : 0;
    if (total <= 0) return idx[kOther] >= 0 ? idx[kOther] : catalog.walk;
    double u = rng.uniform() * total;
    for (auto [a, w] : options) {
      if (idx[a] < 0) continue;
      if ((u -= w) < 0) return idx[a];
    }
    for (auto [a, w] : options) {
      if (idx[a] >= 0) return idx[a];
    }
    return catalog.walk;
  }
};

struct ResidenceInfo {
  int64_t from_ts;
  Zone zone;
  Region region;
  bool south;
  double lat, lon, cos_lat;
  int32_t lat_e6, lon_e6;
};

// One user's readings, lazily, day by day.
class UserGenerator {
 public:
  UserGenerator(const UserProfile& user, const Shared& shared) : user_(user), sh_(shared) {
    cur_.user_id = user.user_id;
    Rng rng(stream_seed(shared.seed, static_cast<uint64_t>(user.user_id), kTraitsSalt));
    traits_.fit_z = rng.normal();
    traits_.rest_resid = 7.0 * rng.normal();
    traits_.max_resid = kMaxHrSdBpm * rng.normal();
    traits_.chrono_h = 0.5 * rng.normal();
    traits_.sleep_delta_h = 0.4 * rng.normal();
    traits_.employed_u = rng.uniform();
    traits_.commute_u = rng.uniform();
    traits_.commute_min = rng.uniform(12, 50);
    traits_.morning_u = rng.uniform();
    traits_.propensity = rng.uniform(0.6, 1.3);
    traits_.evening_off_h = 0.5 * rng.normal();
    traits_.pct_offset = 0.02 * rng.normal();
    traits_.standing_job = rng.chance(0.25);
    traits_.wheelchair = rng.chance(0.015) && shared.idx[kWheelchair] >= 0;
    for (const auto& r : user.residences) {
      ResidenceInfo info;
      info.from_ts = r.from_ts;
      info.zone = zone_for(r.country_code, r.latitude, r.longitude);
      info.region = region_of(r.country_code);
      info.south = r.latitude < 0;
      info.lat = r.latitude, info.lon = r.longitude;
      info.cos_lat = std::max(0.01, std::cos(r.latitude * kPi / 180));
      info.lat_e6 = static_cast<int32_t>(std::lround(r.latitude * 1e6));
      info.lon_e6 = static_cast<int32_t>(std::lround(r.longitude * 1e6));
      residences_.push_back(info);
    }
    Region home_region = residences_.empty() ? Region::kOther : residences_.front().region;
    const auto& weights = region_profile(home_region).persona_weights;
    double u = rng.uniform(), acc = 0;
    traits_.persona = Persona::kSedentary;
    for (int p = 0; p < kPersonaCount; ++p) {
      acc += weights[static_cast<size_t>(p)];
      if (u < acc) {
        traits_.persona = static_cast<Persona>(p);
        break;
      }
    }
    // Where readings may fall: account spans within the simulated period.
    for (const auto& s : user.accounts) {
      int64_t a = std::max(s.from_ts, shared.from);
      int64_t b = std::min(s.to_ts.value_or(std::numeric_limits<int64_t>::max()), shared.to);
      if (a < b) allowed_.emplace_back(a, b);
    }
    std::sort(allowed_.begin(), allowed_.end());
    // Local day D covers [D 04:00 local, D+1 04:00 local); offsets lie within -12h..+14h.
    day_ = shared.from / kDay - (shared.from % kDay < 0 ? 1 : 0) - 1;
    if (!residences_.empty() && !allowed_.empty()) {
      int age = age_on(user.date_of_birth, shared.from / kDay);
      double rest = resting_for(user, traits_, age);
      shared.truth->add_user(rest, std::max(208 - 0.7 * age + traits_.max_resid, rest + 60), traits_.persona,
                             home_region);
    }
  }

  bool exhausted_from_start() const { return residences_.empty() || allowed_.empty(); }
  const Reading& current() const { return cur_; }

  // Compute the next reading into current(); false when the user has no more.
  bool advance() {
    for (;;) {
      if (t_ >= day_len_) {
        if (!start_next_day()) return false;
        continue;
      }
      int64_t ts = day_start_ + t_;
      sample(ts);
      if (ts < allowed_[allowed_i_].first) continue;
      while (ts >= allowed_[allowed_i_].second) {
        if (++allowed_i_ == allowed_.size()) return false;
      }
      if (ts < allowed_[allowed_i_].first) continue;
      int month0 = month0_;
      sh_.truth->add_reading(segs_[seg_i_].act, cur_.heart_rate, res_->south, month0);
      return true;
    }
  }

 private:
  const ResidenceInfo& residence_at(int64_t ts) const {
    size_t i = 0;
    while (i + 1 < residences_.size() && residences_[i + 1].from_ts <= ts) ++i;
    return residences_[i];
  }

  // The UTC start of local day `d`, in the zone of the home at that date.
  int64_t day_start_utc(int64_t d) const {
    const auto& r = residence_at(d * kDay);
    return r.zone.to_utc(d * kDay + kDayStartLocal);
  }

  bool start_next_day() {
    for (;;) {
      ++day_;
      int64_t start = day_start_utc(day_);
      int64_t end = day_start_utc(day_ + 1);
      if (start >= allowed_.back().second) return false;
      if (end <= start) continue;
      // Skip days that no allowed interval touches.
      while (allowed_i_ < allowed_.size() && allowed_[allowed_i_].second <= start) ++allowed_i_;
      if (allowed_i_ == allowed_.size()) return false;
      if (allowed_[allowed_i_].first >= end) continue;
      day_start_ = start;
      day_len_ = static_cast<int32_t>(end - start);
      res_ = &residence_at(day_ * kDay);
      plan_day();
      return true;
    }
  }

  int local_minute(int64_t ts) const {
    int32_t off = off_varies_ ? res_->zone.offset_at(ts) : off_;
    int64_t local = ts + off;
    return static_cast<int>(((local % kDay) + kDay) % kDay / 60);
  }
  bool weekend_at(int64_t ts) const {
    int32_t off = off_varies_ ? res_->zone.offset_at(ts) : off_;
    int64_t local = ts + off;
    int64_t d = local >= 0 ? local / kDay : (local - kDay + 1) / kDay;
    return weekday_of_days(d) >= 5;
  }

  // Target heart rate of segment `s` at relative time `t` (before noise and transitions).
  double target(const Segment& s, int32_t t) const {
    int64_t ts = day_start_ + t;
    double mods = season_ + (weekend_at(ts) ? kWeekendDeltaBpm : 0.0);
    const auto& in = sh_.catalog.at(s.act).intensity;
    if (in.zone == HrZone::kRest) return rest_ + mods + sh_.circadian[static_cast<size_t>(local_minute(ts))] + in.rest_delta;
    double tgt = std::max(static_cast<double>(s.pct) * hrmax_, rest_ + 5.0) + mods;
    if (s.act == sh_.idx[kHiit]) tgt += 0.05 * hrmax_ * std::sin(2 * kPi * (t - s.start) / 120.0);
    return tgt;
  }
  double hr_at(const Segment& s, int32_t t) const {
    double since = t - s.start;
    // After 10 time constants the transition is below 0.01 bpm: skip the exponential.
    return since > 10 * tau_ ? target(s, t) : target(s, t) + dev0_ * std::exp(-since / tau_);
  }
  void enter_segment(size_t i) {
    const Segment& prev = segs_[seg_i_];
    double h_end = hr_at(prev, prev.end);
    seg_i_ = i;
    dev0_ = h_end - target(segs_[i], segs_[i].start);
    tau_ = dev0_ < 0 ? kOnsetTauS : kRecoveryTauS;
  }

  void sample(int64_t ts) {
    while (segs_[seg_i_].end <= t_) {
      const Segment& prev = segs_[seg_i_];
      if (prev.workout && (seg_i_ + 1 == segs_.size() || !segs_[seg_i_ + 1].workout)) post_until_ = prev.end + kPostWorkoutS;
      enter_segment(seg_i_ + 1);
    }
    const Segment& s = segs_[seg_i_];
    const auto& act = sh_.catalog.at(s.act);
    double h = hr_at(s, t_) + (s.workout ? 2.5 : noise_sd_) * rng_.fast_normal();
    cur_.timestamp = ts;
    cur_.activity_id = act.id;
    cur_.heart_rate = std::clamp(static_cast<int32_t>(std::floor(h + 0.5)), kSensorMinBpm, kSensorMaxBpm);
    const auto& home = (residences_.size() > 1) ? residence_at(ts) : *res_;
    if (s.workout && act.outdoor && act.speed_mps > 0) {
      double len = s.end - s.start;
      double r = std::min(act.speed_mps * len / (2 * kPi), 15000.0);
      double phi = 2 * kPi * (t_ - s.start) / len;
      double th = s.heading;
      double dx = r * (std::cos(th) - std::cos(th + phi)), dy = r * (std::sin(th) - std::sin(th + phi));
      double lat = home.lat + dy / 111320.0, lon = home.lon + dx / (111320.0 * home.cos_lat);
      cur_.latitude_e6 = static_cast<int32_t>(std::lround(lat * 1e6));
      cur_.longitude_e6 = static_cast<int32_t>(std::lround(lon * 1e6));
    } else {
      cur_.latitude_e6 = home.lat_e6;
      cur_.longitude_e6 = home.lon_e6;
    }
    // When to sample next: every ~5 s in a workout and 3 min after, else every 3-10 min, but at the
    // start of the next workout at the latest.
    if (s.workout || t_ < post_until_) {
      t_ += static_cast<int32_t>(rng_.range(kWorkoutIntervalMinS, kWorkoutIntervalMaxS));
    } else {
      int32_t next = t_ + static_cast<int32_t>(rng_.range(kBackgroundMinS, kBackgroundMaxS));
      for (size_t j = seg_i_ + 1; j < segs_.size() && segs_[j].start < next; ++j) {
        if (segs_[j].workout) {
          next = segs_[j].start;
          break;
        }
      }
      t_ = next;
    }
  }

  // --- the daily plan ---------------------------------------------------------------------------
  void add(int act, int32_t dur, bool workout = false) {
    if (act < 0 || dur <= 0 || cursor_ >= day_len_) return;
    Segment s;
    s.start = cursor_;
    s.end = std::min(cursor_ + dur, day_len_);
    s.act = static_cast<int16_t>(act);
    s.workout = workout;
    if (workout) {
      const auto& in = sh_.catalog.at(act).intensity;
      double p = in.pct_max + traits_.pct_offset + 0.015 * rng_.normal();
      s.pct = static_cast<float>(std::clamp(p, in.lo + 0.01, in.hi - 0.01));
      s.heading = static_cast<float>(rng_.uniform(0, 2 * kPi));
    }
    // Merge with a preceding segment of the same resting activity.
    if (!segs_.empty() && !workout && !segs_.back().workout && segs_.back().act == s.act && segs_.back().end == s.start) {
      segs_.back().end = s.end;
    } else {
      segs_.push_back(s);
    }
    cursor_ = s.end;
  }
  static int32_t hours_to_rel(double local_hour) { return static_cast<int32_t>((local_hour - 4.0) * 3600); }
  int32_t minutes(double lo, double hi) { return static_cast<int32_t>(rng_.uniform(lo, hi) * 60); }
  int walk_act() const { return traits_.wheelchair ? sh_.idx[kWheelchair] : sh_.catalog.walk; }

  void fill_leisure(int32_t until) {
    until = std::min(until, day_len_);
    while (cursor_ < until) {
      add(sh_.catalog.sit, std::min(minutes(20, 90), until - cursor_));
      if (cursor_ >= until) break;
      double u = rng_.uniform();
      int act = u < 0.55 ? sh_.catalog.stand : (u < 0.8 ? walk_act() : sh_.catalog.sit);
      add(act, std::min(minutes(5, 20), until - cursor_));
    }
  }
  void fill_work(int32_t until) {
    until = std::min(until, day_len_);
    while (cursor_ < until) {
      if (traits_.standing_job) {
        add(sh_.catalog.stand, std::min(minutes(30, 70), until - cursor_));
        if (cursor_ < until) add(walk_act(), std::min(minutes(4, 15), until - cursor_));
      } else {
        add(sh_.catalog.sit, std::min(minutes(45, 110), until - cursor_));
        if (cursor_ < until) add(rng_.chance(0.5) ? walk_act() : sh_.catalog.stand, std::min(minutes(2, 8), until - cursor_));
      }
    }
  }
  void commute() { add(commute_act_, static_cast<int32_t>(traits_.commute_min * 60 * rng_.uniform(0.85, 1.2))); }

  void session(bool weekend_slot, int weekday) {
    const Persona p = traits_.persona;
    std::vector<std::pair<int, int32_t>> parts;
    auto one = [&](int act, double lo, double hi) { parts.emplace_back(act, minutes(lo, hi)); };
    switch (p) {
      case Persona::kRunner:
        if (weekday == 6) one(sh_.pick(rng_, {{kRun, 1}}), 70, 110);
        else if (rng_.chance(0.1)) one(sh_.pick(rng_, {{kHiit, 1}, {kRun, 0.2}}), 20, 35);
        else if (rng_.chance(0.05)) one(sh_.pick(rng_, {{kMultisport, 1}, {kRun, 0.2}}), 60, 90);
        else one(sh_.pick(rng_, {{kRun, 1}}), 30, 60);
        break;
      case Persona::kGym:
        if (rng_.chance(0.5)) one(sh_.pick(rng_, {{kElliptical, 0.5}, {kRower, 0.3}, {kStairStepper, 0.2}}), 10, 20);
        {
          int main = sh_.pick(rng_, {{kFunctional, 0.45}, {kCore, 0.15}, {kHiit, 0.12}, {kKickboxing, 0.08},
                                     {kElliptical, 0.1}, {kRower, 0.05}, {kStairStepper, 0.05}});
          one(main, 25, 60);
        }
        break;
      case Persona::kCyclist:
        if (weekend_slot) one(sh_.pick(rng_, {{kCycling, 1}}), 90, 180);
        else one(sh_.pick(rng_, {{kCycling, 1}}), 45, 90);
        break;
      case Persona::kMindBody:
        one(sh_.pick(rng_, {{kYoga, 0.5}, {kPilates, 0.3}, {kTaiChi, age_ > 55 ? 0.8 : 0.2}}), 35, 75);
        break;
      case Persona::kSwimmer:
        one(sh_.pick(rng_, {{kSwimming, 1}}), 30, 55);
        break;
      case Persona::kDancer:
        one(sh_.pick(rng_, {{kDance, 1}}), 45, 90);
        break;
      case Persona::kWalker:
        if (weekend_slot && rng_.chance(res_->region == Region::kNordic ? 0.6 : 0.35)) one(sh_.pick(rng_, {{kHiking, 1}}), 90, 240);
        else one(walk_act(), 25, 50);
        break;
      case Persona::kSedentary:
        if (rng_.chance(0.1)) one(sh_.pick(rng_, {{kOther, 1}}), 20, 50);
        else one(walk_act(), 20, 40);
        break;
    }
    if (traits_.wheelchair) {
      for (auto& [act, dur] : parts) {
        if (sh_.catalog.at(act).outdoor) act = sh_.idx[kWheelchair];
      }
    }
    if (p != Persona::kWalker && p != Persona::kSedentary && rng_.chance(0.4) && sh_.catalog.cooldown >= 0) {
      parts.emplace_back(sh_.catalog.cooldown, minutes(4, 10));
    }
    for (auto [act, dur] : parts) add(act, dur, true);
  }

  void plan_day() {
    segs_.clear();
    seg_i_ = 0;
    cursor_ = 0;
    t_ = 0;
    post_until_ = -1;
    rng_ = Rng(stream_seed(sh_.seed, static_cast<uint64_t>(user_.user_id), static_cast<uint64_t>(day_)));
    const auto& region = region_profile(res_->region);
    off_ = res_->zone.offset_at(day_start_);
    off_varies_ = res_->zone.offset_at(day_start_ + day_len_ - 1) != off_;
    int y;
    unsigned m, d;
    civil_from_days(day_, y, m, d);
    month0_ = static_cast<int>(m) - 1;
    int doy = static_cast<int>(day_ - days_from_civil(y, 1, 1));
    season_ = seasonal_offset(doy, res_->south);
    age_ = age_on(user_.date_of_birth, day_);
    rest_ = resting_for(user_, traits_, age_);
    hrmax_ = std::max(208 - 0.7 * age_ + traits_.max_resid, rest_ + 60);
    noise_sd_ = 1.5 * (1.25 - age_ / 160.0);
    const int weekday = weekday_of_days(day_);
    const bool weekend = weekday >= 5;
    const bool next_weekend = weekday >= 4 && weekday <= 5;  // tomorrow is Sat or Sun: sleep in
    const std::string_view cc = user_.residences[static_cast<size_t>(res_ - residences_.data())].country_code;
    double cyc = cycle_commute_share(cc), walk = walk_commute_share(cc);
    commute_act_ = traits_.commute_u < cyc && sh_.catalog.cycling >= 0 && !traits_.wheelchair
                       ? sh_.catalog.cycling
                       : (traits_.commute_u < cyc + walk ? walk_act() : sh_.catalog.sit);
    const bool employed =
        age_ >= 18 && age_ < 66 && traits_.employed_u < (age_ < 23 ? 0.5 : 0.78) && !weekend;

    double wake_h = region.wake_h + traits_.chrono_h + (weekend ? 1.0 : 0.0) + 0.25 * rng_.normal();
    double sleep_h = region.sleep_h + traits_.sleep_delta_h;
    double bed_h = region.wake_h + traits_.chrono_h + (next_weekend ? 1.0 : 0.0) + 24 - sleep_h + 0.3 * rng_.normal();
    double evening_h = 17.6 + region.evening_shift_h + traits_.evening_off_h;
    double dinner_h = 19.0 + region.evening_shift_h + 0.5 * traits_.evening_off_h;

    // Does this person work out today, and when?
    double pw = std::min(0.95, workout_day_probability(traits_.persona, weekday) * traits_.propensity);
    bool workout = rng_.chance(pw);
    bool morning = traits_.morning_u < region.morning_share * morning_factor(traits_.persona);
    bool lunch = employed && !morning && (traits_.persona == Persona::kSwimmer || traits_.persona == Persona::kGym) &&
                 traits_.morning_u > 0.9;
    bool outdoor_persona = traits_.persona == Persona::kRunner || traits_.persona == Persona::kCyclist ||
                           traits_.persona == Persona::kWalker;

    add(sh_.catalog.sleep, hours_to_rel(wake_h));
    if (workout && morning && !weekend) {
      add(sh_.catalog.stand, minutes(4, 10));
      session(false, weekday);
      add(sh_.catalog.stand, minutes(10, 20));
      workout = false;
    }
    add(sh_.catalog.stand, minutes(10, 25));
    add(sh_.catalog.sit, minutes(12, 25));
    if (employed) {
      commute();
      int32_t work_start = cursor_;
      fill_work(work_start + minutes(210, 250));
      add(walk_act(), minutes(4, 10));
      if (workout && lunch) {
        session(false, weekday);
        add(sh_.catalog.sit, minutes(15, 25));
        workout = false;
      } else {
        add(sh_.catalog.sit, static_cast<int32_t>((region.lunch_h + 0.2 * rng_.normal()) * 3600));
      }
      fill_work(cursor_ + minutes(220, 270));
      commute();
    } else if (workout && weekend) {
      double at_h = outdoor_persona || morning ? wake_h + rng_.uniform(0.75, 1.5)
                                               : (traits_.persona == Persona::kDancer ? 20.0 + region.evening_shift_h
                                                                                      : 16.0 + region.evening_shift_h);
      fill_leisure(hours_to_rel(at_h));
      session(true, weekday);
      add(sh_.catalog.stand, minutes(10, 20));
      workout = false;
    } else {
      fill_leisure(hours_to_rel(12.5 + 0.5 * region.evening_shift_h));
      add(sh_.catalog.sit, static_cast<int32_t>((region.lunch_h + 0.2 * rng_.normal()) * 3600));
    }
    if (workout) {  // evening workout (or a morning one on a day off)
      double at_h = morning ? std::max(wake_h + 1.5, 9.5) : evening_h + rng_.uniform(0, 0.75);
      if (!morning || !employed) fill_leisure(hours_to_rel(at_h));
      session(false, weekday);
      add(sh_.catalog.stand, minutes(10, 20));
    }
    fill_leisure(hours_to_rel(dinner_h - 0.5));
    add(sh_.catalog.stand, minutes(20, 40));
    add(sh_.catalog.sit, minutes(25, 45));
    fill_leisure(hours_to_rel(bed_h));
    add(sh_.catalog.sleep, day_len_ - cursor_);
    if (segs_.empty() || segs_.back().end < day_len_) {
      Segment s;
      s.start = segs_.empty() ? 0 : segs_.back().end;
      s.end = day_len_;
      s.act = static_cast<int16_t>(sh_.catalog.sleep);
      segs_.push_back(s);
    }
    // The day starts asleep and settled.
    dev0_ = 0;
    tau_ = kRecoveryTauS;
    t_ = static_cast<int32_t>(rng_.range(0, kBackgroundMaxS - 1));
    tally_schedule();
  }

  // Add the day's activity time (inside the allowed intervals) per region, local weekday and hour.
  void tally_schedule() {
    for (const auto& s : segs_) {
      int64_t a = day_start_ + s.start, b = day_start_ + s.end;
      for (size_t k = allowed_i_; k < allowed_.size() && allowed_[k].first < b; ++k) {
        int64_t lo = std::max(a, allowed_[k].first), hi = std::min(b, allowed_[k].second);
        while (lo < hi) {
          int32_t off = res_->zone.offset_at(lo);
          int64_t local = lo + off;
          int64_t local_day = local >= 0 ? local / kDay : (local - kDay + 1) / kDay;
          int64_t sec_of_day = local - local_day * kDay;
          int64_t hour_end = lo + (3600 - sec_of_day % 3600);
          int64_t chunk_end = std::min(hi, hour_end);
          sh_.truth->add_time(res_->region, weekday_of_days(local_day), static_cast<int>(sec_of_day / 3600), s.act,
                              chunk_end - lo);
          lo = chunk_end;
        }
      }
    }
  }

  const UserProfile& user_;
  const Shared& sh_;
  Traits traits_{};
  std::vector<ResidenceInfo> residences_;
  std::vector<std::pair<int64_t, int64_t>> allowed_;
  size_t allowed_i_ = 0;

  // current day
  int64_t day_ = 0, day_start_ = 0;
  int32_t day_len_ = 0, cursor_ = 0, t_ = 0, post_until_ = -1;
  const ResidenceInfo* res_ = nullptr;
  int32_t off_ = 0;
  bool off_varies_ = false;
  int month0_ = 0, age_ = 40, commute_act_ = 0;
  double season_ = 0, rest_ = 65, hrmax_ = 180, noise_sd_ = 1.5;
  std::vector<Segment> segs_;
  size_t seg_i_ = 0;
  double dev0_ = 0, tau_ = kRecoveryTauS;
  Rng rng_{0};
  Reading cur_;
};

// ---------------------------------------------------------------------------------------------------

FleetSimulator::FleetSimulator(FleetSimulator&&) noexcept = default;
FleetSimulator& FleetSimulator::operator=(FleetSimulator&&) noexcept = default;
FleetSimulator::~FleetSimulator() = default;

Result<FleetSimulator> FleetSimulator::create(const Fleet& fleet, const SimulatorOptions& options) {
  if (options.from_ts >= options.to_ts) {
    return invalid_argument("the simulated period is empty: from ({}) is not before to ({})", options.from_ts,
                            options.to_ts);
  }
  HRFLOW_ASSIGN_OR_RETURN(auto catalog, ActivityCatalog::create(fleet.activities));
  FleetSimulator sim;
  sim.options_ = options;
  sim.base_ts_ = options.from_ts;  // every reading is at or after the start
  sim.shared_ = std::make_unique<Shared>();
  Shared& sh = *sim.shared_;
  sh.catalog = std::move(catalog);
  for (int i = 0; i < kCanonicalCount; ++i) sh.idx[static_cast<size_t>(i)] = sh.catalog.find(kCanonicalNames[i]);
  for (int m = 0; m < 1440; ++m) sh.circadian[static_cast<size_t>(m)] = static_cast<float>(circadian_offset(m / 60.0));
  sh.seed = options.seed;
  sh.from = options.from_ts;
  sh.to = options.to_ts;
  sim.truth_ = std::make_unique<GroundTruth>(sh.catalog, options.seed, options.from_ts, options.to_ts);
  sh.truth = sim.truth_.get();

  std::vector<const UserProfile*> users;
  for (const auto& u : fleet.users) users.push_back(&u);
  std::sort(users.begin(), users.end(), [](auto* a, auto* b) { return a->user_id < b->user_id; });
  for (size_t i = 1; i < users.size(); ++i) {
    if (users[i]->user_id == users[i - 1]->user_id) {
      return invalid_argument("the fleet lists user {} twice", users[i]->user_id);
    }
  }
  if (users.size() >= (size_t{1} << kUserBits)) {
    return invalid_argument("the simulator handles at most {} users at once, the fleet has {}", (size_t{1} << kUserBits) - 1,
                            users.size());
  }
  for (const auto* u : users) {
    auto gen = std::make_unique<UserGenerator>(*u, sh);
    if (gen->exhausted_from_start() || !gen->advance()) continue;
    sim.heap_.push_back(sim.key(gen->current().timestamp, sim.users_.size()));
    sim.users_.push_back(std::move(gen));
  }
  // Heapify (min-heap on (ts, user index)).
  for (size_t i = sim.heap_.size() / 2; i-- > 0;) sim.sift_down(i);
  return sim;
}

void FleetSimulator::sift_down(size_t i) {
  const size_t n = heap_.size();
  const uint64_t e = heap_[i];
  for (;;) {
    size_t c = 2 * i + 1;
    if (c >= n) break;
    c += (c + 1 < n && heap_[c + 1] < heap_[c]) ? 1 : 0;
    if (e < heap_[c]) break;
    heap_[i] = heap_[c];
    i = c;
  }
  heap_[i] = e;
}

bool FleetSimulator::next(Reading& out) { return next_batch(&out, 1) == 1; }

size_t FleetSimulator::next_batch(Reading* out, size_t n, int64_t before) {
  size_t k = 0;
  while (k < n && !heap_.empty() && timestamp_of(heap_[0]) < before) {
    const size_t u = heap_[0] & kUserMask;
    UserGenerator& g = *users_[u];
    out[k++] = g.current();
    if (g.advance()) {
      heap_[0] = key(g.current().timestamp, u);
    } else {
      heap_[0] = heap_.back();
      heap_.pop_back();
      if (heap_.empty()) break;
    }
    sift_down(0);
  }
  return k;
}

}  // namespace hrflow::sim
