// Behaviour of the fleet simulator a researcher relies on: the planted physiology is there in the
// readings (resting level and spread, workout zones, night dip, seasons by hemisphere), the watch's
// sampling cadence, determinism, the operational history, and the contract JSON.
#include "simulator/simulator.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <set>

#include "simulator/model.h"
#include "simulator/sample_fleet.h"
#include "simulator/timezone.h"

namespace hrflow::sim {
namespace {

constexpr int64_t kDay = 86400;
int64_t at(int y, unsigned m, unsigned d) { return days_from_civil(y, m, d) * kDay; }

std::vector<Reading> run(const Fleet& fleet, int64_t from, int64_t to, uint64_t seed = 7,
                         std::unique_ptr<FleetSimulator>* keep = nullptr) {
  auto sim = FleetSimulator::create(fleet, {seed, from, to});
  EXPECT_TRUE(sim.ok()) << (sim.ok() ? "" : sim.error().message);
  std::vector<Reading> out, buf(1024);
  size_t k;
  while ((k = sim->next_batch(buf.data(), buf.size())) > 0) out.insert(out.end(), buf.begin(), buf.begin() + k);
  if (keep) *keep = std::make_unique<FleetSimulator>(std::move(sim).value());
  return out;
}

std::map<int64_t, const UserProfile*> by_id(const Fleet& f) {
  std::map<int64_t, const UserProfile*> m;
  for (const auto& u : f.users) m[u.user_id] = &u;
  return m;
}
std::map<int64_t, std::string> activity_names(const Fleet& f) {
  std::map<int64_t, std::string> m;
  for (const auto& a : f.activities) m[a.activity_id] = a.name;
  return m;
}
int age_of(const UserProfile& u, int year) { return year - u.date_of_birth / 10000; }
int local_hour(const Reading& r, const UserProfile& u) {
  const auto& res = u.residences.front();
  Zone z = zone_for(res.country_code, res.latitude, res.longitude);
  int64_t local = r.timestamp + z.offset_at(r.timestamp);
  return static_cast<int>(((local % kDay) + kDay) % kDay / 3600);
}

// --- ordering, determinism, history -------------------------------------------------------------

TEST(Simulator, ReadingsAreInEventTimeOrderAndEachUsersTimestampsAreUnique) {
  Fleet fleet = sample_fleet(120, 1);
  auto rs = run(fleet, at(2025, 3, 1), at(2025, 3, 4));
  ASSERT_GT(rs.size(), 120u * 3 * 150);
  for (size_t i = 1; i < rs.size(); ++i) {
    ASSERT_TRUE(rs[i - 1].timestamp < rs[i].timestamp ||
                (rs[i - 1].timestamp == rs[i].timestamp && rs[i - 1].user_id < rs[i].user_id))
        << "at " << i;
  }
  for (const auto& r : rs) {
    ASSERT_GE(r.timestamp, at(2025, 3, 1));
    ASSERT_LT(r.timestamp, at(2025, 3, 4));
    ASSERT_GE(r.heart_rate, kSensorMinBpm);
    ASSERT_LE(r.heart_rate, kSensorMaxBpm);
  }
}

uint64_t digest(const std::vector<Reading>& rs) {
  uint64_t h = 0;
  for (const auto& r : rs) {
    h = mix64(h ^ static_cast<uint64_t>(r.timestamp));
    h = mix64(h ^ static_cast<uint64_t>(r.user_id) ^ (static_cast<uint64_t>(r.heart_rate) << 32));
    h = mix64(h ^ static_cast<uint64_t>(r.activity_id) ^ (static_cast<uint64_t>(static_cast<uint32_t>(r.latitude_e6)) << 20) ^
              static_cast<uint64_t>(static_cast<uint32_t>(r.longitude_e6)));
  }
  return h;
}

TEST(Simulator, SameSeedSameReadingsAndASubPeriodIsTheLongerRunRestricted) {
  Fleet fleet = sample_fleet(60, 2);
  auto a = run(fleet, at(2025, 6, 1), at(2025, 6, 5), 11);
  auto b = run(fleet, at(2025, 6, 1), at(2025, 6, 5), 11);
  EXPECT_EQ(digest(a), digest(b));
  auto c = run(fleet, at(2025, 6, 1), at(2025, 6, 5), 12);
  EXPECT_NE(digest(a), digest(c)) << "another seed must give other readings";
  // Starting later (mid-day) yields exactly the later part of the longer run.
  const int64_t mid = at(2025, 6, 2) + 13 * 3600 + 17;
  auto later = run(fleet, mid, at(2025, 6, 5), 11);
  std::vector<Reading> tail;
  for (const auto& r : a) {
    if (r.timestamp >= mid) tail.push_back(r);
  }
  EXPECT_EQ(later.size(), tail.size());
  EXPECT_EQ(digest(later), digest(tail));
  // A user's readings do not depend on the other users of the fleet.
  Fleet one = fleet;
  one.users.erase(one.users.begin() + 1, one.users.end());
  auto alone = run(one, at(2025, 6, 1), at(2025, 6, 5), 11);
  std::vector<Reading> first_user;
  for (const auto& r : a) {
    if (r.user_id == fleet.users[0].user_id) first_user.push_back(r);
  }
  EXPECT_EQ(digest(alone), digest(first_user));
}

TEST(Simulator, ReadingsFollowAccountSpansAndMoves) {
  Fleet fleet = sample_fleet(3, 3, {"DE"});
  auto& u = fleet.users[0];
  const int64_t signup = at(2025, 5, 2) + 9 * 3600, deleted = at(2025, 5, 4) + 15 * 3600;
  const int64_t again = at(2025, 5, 6) + 3600;
  u.accounts = {{signup, deleted}, {again, std::nullopt}};
  const int64_t moved = at(2025, 5, 7) + 12 * 3600;
  Residence madrid{moved, "ES", "Madrid", 40.4168, -3.7038};
  u.residences.push_back(madrid);
  fleet.users[1].accounts.clear();  // never had an account: no readings
  auto names = activity_names(fleet);
  auto rs = run(fleet, at(2025, 5, 1), at(2025, 5, 10));
  size_t mine = 0, after_move = 0;
  for (const auto& r : rs) {
    ASSERT_NE(r.user_id, fleet.users[1].user_id);
    if (r.user_id != u.user_id) continue;
    ++mine;
    bool inside = (r.timestamp >= signup && r.timestamp < deleted) || r.timestamp >= again;
    ASSERT_TRUE(inside) << "reading at " << r.timestamp << " outside the account spans";
    const auto& home = r.timestamp >= moved ? u.residences[1] : u.residences[0];
    double dlat = r.latitude_e6 / 1e6 - home.latitude, dlon = r.longitude_e6 / 1e6 - home.longitude;
    double km = std::sqrt(dlat * dlat + dlon * dlon * 0.5) * 111.0;
    ASSERT_LT(km, 35.0) << names[r.activity_id] << " reading " << km << " km from the home of the time";
    if (r.timestamp >= moved) {
      ++after_move;
      if (names[r.activity_id] == "Sleep") {
        EXPECT_EQ(r.latitude_e6, 40416800);
        EXPECT_EQ(r.longitude_e6, -3703800);
      }
    }
  }
  EXPECT_GT(mine, 500u);
  EXPECT_GT(after_move, 200u);
}

TEST(Simulator, OutdoorWorkoutsMoveAlongARouteAndComeHome) {
  Fleet fleet = sample_fleet(300, 4);
  auto names = activity_names(fleet);
  auto users = by_id(fleet);
  auto rs = run(fleet, at(2025, 4, 5), at(2025, 4, 7));  // a weekend
  size_t outdoor = 0, away = 0;
  for (const auto& r : rs) {
    const auto& n = names[r.activity_id];
    const auto& home = users[r.user_id]->residences[0];
    bool at_home = r.latitude_e6 == static_cast<int32_t>(std::lround(home.latitude * 1e6)) &&
                   r.longitude_e6 == static_cast<int32_t>(std::lround(home.longitude * 1e6));
    if (n == "Run" || n == "Cycling" || n == "Hiking") {
      ++outdoor;
      away += at_home ? 0 : 1;
    } else if (n == "Sleep" || n == "Sit" || n == "Yoga" || n == "Swimming") {
      ASSERT_TRUE(at_home) << n << " away from home";
    }
  }
  ASSERT_GT(outdoor, 1000u);
  EXPECT_GT(static_cast<double>(away) / static_cast<double>(outdoor), 0.95);
}

// --- physiology ----------------------------------------------------------------------------------

TEST(Simulator, RestingHeartRateAcrossUsersHasThePublishedMeanAndSpread) {
  Fleet fleet = sample_fleet(4000, 5);
  std::unique_ptr<FleetSimulator> sim;
  auto created = FleetSimulator::create(fleet, {9, at(2025, 1, 1), at(2025, 1, 1) + 60});
  ASSERT_TRUE(created.ok());
  auto truth = nlohmann::json::parse(created->ground_truth().to_json());
  double mean = truth["resting_heart_rate"]["users_mean_bpm"], sd = truth["resting_heart_rate"]["users_sd_bpm"];
  EXPECT_NEAR(mean, kRestingMeanBpm, 1.0);
  EXPECT_NEAR(sd, kRestingSdBpm, 0.8);
  // And in the readings: daytime sitting readings of each user, averaged, spread as planted.
  Fleet small = sample_fleet(400, 5, {"DE", "FR", "NL", "PL", "GB", "IT", "ES"});
  auto names = activity_names(small);
  auto users = by_id(small);
  auto rs = run(small, at(2025, 4, 14), at(2025, 4, 19));  // Mon-Fri in April: small seasonal effect
  std::map<int64_t, std::pair<double, int>> per_user;
  for (const auto& r : rs) {
    int h = local_hour(r, *users[r.user_id]);
    if (names[r.activity_id] == "Sit" && h >= 12 && h < 20) {
      per_user[r.user_id].first += r.heart_rate;
      per_user[r.user_id].second += 1;
    }
  }
  std::vector<double> means;
  for (auto& [id, p] : per_user) {
    if (p.second >= 10) means.push_back(p.first / p.second);
  }
  ASSERT_GT(means.size(), 350u);
  double m = std::accumulate(means.begin(), means.end(), 0.0) / static_cast<double>(means.size());
  double ss = 0;
  for (double x : means) ss += (x - m) * (x - m);
  double s = std::sqrt(ss / static_cast<double>(means.size() - 1));
  // Sitting is resting + 6 bpm/MET * 0.3 = +1.8 bpm.
  EXPECT_NEAR(m, kRestingMeanBpm + 1.8, 1.5);
  EXPECT_NEAR(s, kRestingSdBpm, 1.2);
}

TEST(Simulator, SettledWorkoutHeartRatesLieInsideTheActivitysIntensityZone) {
  Fleet fleet = sample_fleet(500, 6);
  auto users = by_id(fleet);
  auto catalog = ActivityCatalog::create(fleet.activities);
  ASSERT_TRUE(catalog.ok());
  auto rs = run(fleet, at(2025, 9, 1), at(2025, 9, 8));
  // Group each user's workout readings into sessions of one activity; skip the first 4 minutes (onset).
  std::map<int64_t, std::vector<const Reading*>> per_user;
  for (const auto& r : rs) per_user[r.user_id].push_back(&r);
  std::map<int64_t, std::vector<double>> pct;  // activity -> HR / expected max HR
  std::map<int64_t, std::set<int64_t>> doers;   // activity -> users
  for (auto& [id, list] : per_user) {
    const double hrmax = 208 - 0.7 * age_of(*users[id], 2025);
    int64_t session_start = -1, prev_ts = -1, prev_act = -1;
    for (const auto* r : list) {
      if (r->activity_id != prev_act || r->timestamp - prev_ts > 6) session_start = r->timestamp;
      prev_ts = r->timestamp, prev_act = r->activity_id;
      int i = catalog->find(fleet.activities[static_cast<size_t>(r->activity_id - 20001)].name);
      const auto& in = catalog->at(i).intensity;
      // CDC zones are defined for moderate and vigorous exercise (light ones such as Cooldown are recoveries).
      if (in.zone == HrZone::kRest || in.zone == HrZone::kLight || r->timestamp - session_start < 240) continue;
      pct[r->activity_id].push_back(r->heart_rate / hrmax);
      doers[r->activity_id].insert(id);
    }
  }
  int checked = 0;
  for (auto& [act, v] : pct) {
    if (v.size() < 300 || doers[act].size() < 25) continue;  // per-person offsets need many people
    const auto& e = catalog->at(catalog->find(fleet.activities[static_cast<size_t>(act - 20001)].name));
    std::sort(v.begin(), v.end());
    double median = v[v.size() / 2];
    EXPECT_GE(median, e.intensity.lo) << e.name;
    EXPECT_LE(median, e.intensity.hi) << e.name;
    EXPECT_NEAR(median, e.intensity.pct_max, 0.03) << e.name;
    // Individual max HR varies (sd 6 bpm) and sensors are noisy: most readings, not all, in the zone.
    auto inside = std::count_if(v.begin(), v.end(), [&](double p) { return p >= e.intensity.lo - 0.05 && p <= e.intensity.hi + 0.05; });
    EXPECT_GT(static_cast<double>(inside) / static_cast<double>(v.size()), 0.85) << e.name;
    ++checked;
  }
  EXPECT_GE(checked, 6) << "too few activities with enough workout readings";
}

TEST(Simulator, NightDipIsAboutFourBpmWithItsMinimumBetweenThreeAndSeven) {
  Fleet fleet = sample_fleet(400, 8, {"DE", "FR", "NL", "PL", "SE", "DK"});
  auto names = activity_names(fleet);
  auto users = by_id(fleet);
  auto rs = run(fleet, at(2025, 10, 6), at(2025, 10, 11));
  // Per user: sleeping readings by local hour, and daytime sitting readings.
  std::array<double, 24> sum{};
  std::array<int, 24> n{};
  double sit = 0, sleep_night = 0;
  int n_sit = 0, n_night = 0;
  for (const auto& r : rs) {
    int h = local_hour(r, *users[r.user_id]);
    const auto& a = names[r.activity_id];
    if (a == "Sleep") {
      sum[static_cast<size_t>(h)] += r.heart_rate;
      n[static_cast<size_t>(h)] += 1;
      if (h >= 3 && h < 7) sleep_night += r.heart_rate, ++n_night;
    } else if (a == "Sit" && h >= 14 && h < 20) {
      sit += r.heart_rate, ++n_sit;
    }
  }
  int min_hour = -1;
  double min_mean = 1e9;
  for (int h = 0; h < 24; ++h) {
    if (n[static_cast<size_t>(h)] < 500) continue;
    double m = sum[static_cast<size_t>(h)] / n[static_cast<size_t>(h)];
    if (m < min_mean) min_mean = m, min_hour = h;
  }
  EXPECT_GE(min_hour, 3);
  EXPECT_LE(min_hour, 6);
  // Sit (+1.8) by day vs Sleep (-0.3) at 03-07 with the dip (~-3.7 averaged over those hours).
  double diff = sit / n_sit - sleep_night / n_night;
  EXPECT_NEAR(diff, 1.8 + 0.3 + 0.93 * kCircadianDipBpm, 1.0);
}

TEST(Simulator, SeasonsHaveOppositeSignsInTheTwoHemispheres) {
  Fleet fleet = sample_fleet(300, 9, {"DE", "AU", "GB", "BR", "PL"});
  auto names = activity_names(fleet);
  auto users = by_id(fleet);
  auto mean_sleep = [&](int64_t from, bool south) {
    auto rs = run(fleet, from, from + 7 * kDay);
    double s = 0;
    int k = 0;
    for (const auto& r : rs) {
      if (names[r.activity_id] != "Sleep" || (users[r.user_id]->residences[0].latitude < 0) != south) continue;
      s += r.heart_rate, ++k;
    }
    return s / k;
  };
  double north_jan = mean_sleep(at(2025, 1, 13), false), north_jul = mean_sleep(at(2025, 7, 14), false);
  double south_jan = mean_sleep(at(2025, 1, 13), true), south_jul = mean_sleep(at(2025, 7, 14), true);
  // Planted: +-1.05 bpm around the mean, peak mid-January in the north and mid-July in the south.
  EXPECT_NEAR(north_jan - north_jul, 2 * kSeasonalAmplitudeBpm, 0.6);
  EXPECT_NEAR(south_jul - south_jan, 2 * kSeasonalAmplitudeBpm, 0.6);
}

TEST(Simulator, SamplingCadenceIsLikeAnAppleWatch) {
  Fleet fleet = sample_fleet(200, 10);
  auto rs = run(fleet, at(2025, 2, 3), at(2025, 2, 10));
  auto catalog = ActivityCatalog::create(fleet.activities);
  ASSERT_TRUE(catalog.ok());
  std::map<int64_t, std::vector<const Reading*>> per_user;
  for (const auto& r : rs) per_user[r.user_id].push_back(&r);
  size_t workout_gaps = 0, workout_ok = 0, still_gaps = 0, still_ok = 0;
  for (auto& [id, list] : per_user) {
    for (size_t i = 1; i < list.size(); ++i) {
      int64_t gap = list[i]->timestamp - list[i - 1]->timestamp;
      const auto& prev = catalog->at(catalog->find(fleet.activities[static_cast<size_t>(list[i - 1]->activity_id - 20001)].name));
      const auto& cur = catalog->at(catalog->find(fleet.activities[static_cast<size_t>(list[i]->activity_id - 20001)].name));
      bool active = prev.intensity.zone == HrZone::kModerate || prev.intensity.zone == HrZone::kVigorous;
      bool both_rest = prev.intensity.zone == HrZone::kRest && cur.intensity.zone == HrZone::kRest;
      // Walk and Cycling also happen outside workouts (breaks, commutes), sampled in the background.
      bool background_too = prev.name == "Walk" || prev.name == "Cycling" || prev.name == "Wheelchair";
      if (active && !background_too && &prev == &cur) {
        ++workout_gaps;
        workout_ok += (gap >= kWorkoutIntervalMinS && gap <= kWorkoutIntervalMaxS) ? 1 : 0;
      } else if (both_rest && gap > kWorkoutIntervalMaxS) {
        ++still_gaps;
        still_ok += (gap >= kBackgroundMinS && gap <= kBackgroundMaxS) ? 1 : 0;
      }
    }
  }
  ASSERT_GT(workout_gaps, 5000u);
  ASSERT_GT(still_gaps, 5000u);
  EXPECT_EQ(workout_ok, workout_gaps) << "in a workout the watch samples every 4-6 s";
  EXPECT_GT(static_cast<double>(still_ok) / static_cast<double>(still_gaps), 0.97) << "still: every 3-10 min";
  // Per user-day: a few hundred background readings plus workouts.
  double per_day = static_cast<double>(rs.size()) / 200.0 / 7.0;
  EXPECT_GT(per_day, 200);
  EXPECT_LT(per_day, 1500);
}

// --- schedules by region -------------------------------------------------------------------------

TEST(Simulator, SchedulesDifferByRegionAndTheGroundTruthRecordsThem) {
  Fleet fleet = sample_fleet(700, 11, {"ES", "IT", "US", "AU", "SE"});
  std::unique_ptr<FleetSimulator> sim;
  auto rs = run(fleet, at(2025, 3, 3), at(2025, 3, 17), 7, &sim);
  const auto& truth = sim->ground_truth();
  EXPECT_EQ(truth.readings(), rs.size());
  auto j = nlohmann::json::parse(truth.to_json());
  auto share = [&](const char* region, const char* day, const char* hour, const char* act) {
    const auto& h = j["schedule_share_of_time"][region][day][hour];
    return h.contains(act) ? h[act].get<double>() : 0.0;
  };
  // Later evenings in southern Europe: far fewer asleep at 23:00 on a Tuesday than in North America.
  EXPECT_LT(share("southern_europe", "Tue", "23", "Sleep") + 0.25, share("north_america", "Tue", "23", "Sleep"));
  // Shares of an hour sum to 1.
  double total = 0;
  for (auto& [k, v] : j["schedule_share_of_time"]["nordic"]["Wed"]["10"].items()) total += v.get<double>();
  EXPECT_NEAR(total, 1.0, 0.002);
  // Morning workouts are more common in Oceania than in southern Europe (planted morning share).
  auto workout_share = [&](const char* region, int from_h, int to_h) {
    double s = 0;
    for (const char* d : {"Mon", "Tue", "Wed", "Thu", "Fri"}) {
      for (int h = from_h; h < to_h; ++h) {
        for (auto& [name, v] : j["schedule_share_of_time"][region][d][fmt::format("{:02}", h)].items()) {
          if (name != "Sleep" && name != "Sit" && name != "Stand" && name != "Walk") s += v.get<double>();
        }
      }
    }
    return s;
  };
  EXPECT_GT(workout_share("oceania", 5, 9), 1.5 * workout_share("southern_europe", 5, 9));
  EXPECT_GT(workout_share("southern_europe", 19, 23), workout_share("southern_europe", 5, 9));
  // Planted parameters are recorded.
  EXPECT_EQ(j["seasonal"]["amplitude_bpm"].get<double>(), kSeasonalAmplitudeBpm);
  EXPECT_EQ(j["circadian"]["dip_bpm"].get<double>(), kCircadianDipBpm);
  EXPECT_EQ(j["weekend"]["delta_bpm"].get<double>(), kWeekendDeltaBpm);
  bool run_found = false;
  for (auto& a : j["activities"]) {
    if (a["name"] == "Run") {
      run_found = true;
      EXPECT_EQ(a["zone"], "vigorous");
      EXPECT_GT(a["readings"].get<uint64_t>(), 1000u);
    }
  }
  EXPECT_TRUE(run_found);
}

// --- the record format ---------------------------------------------------------------------------

TEST(Format, ContractJsonParsesWithEveryField) {
  Reading r{1711943972, 10001, 20890, 128, 37416834, -121975002};
  char buf[kMaxJsonBytes];
  char* end = format_json(r, buf);
  EXPECT_EQ(std::string(buf, end),
            R"({"user_id":10001,"heart_rate":128,"timestamp":1711943972,"meta":{"activity_id":20890,"location":{"latitude":37.416834,"longitude":-121.975002}}})");
  end = format_json_strings(r, buf);
  EXPECT_EQ(std::string(buf, end),
            R"({"user_id":"10001","heart_rate":"128","timestamp":"1711943972","meta":{"activity_id":"20890","location":{"latitude":"37.416834","longitude":"-121.975002"}}})");
  Reading small{5, 7, 9, 30, -5, 1};
  end = format_json(small, buf);
  EXPECT_EQ(std::string(buf, end),
            R"({"user_id":7,"heart_rate":30,"timestamp":5,"meta":{"activity_id":9,"location":{"latitude":-0.000005,"longitude":0.000001}}})");
  EXPECT_EQ(std::string(buf, format_key(10001, buf)), "10001");
}

TEST(Format, EverySimulatedReadingRoundTripsThroughAJsonParser) {
  Fleet fleet = sample_fleet(50, 12);
  auto rs = run(fleet, at(2025, 8, 1), at(2025, 8, 3));
  simdjson::ondemand::parser parser;
  std::string line;
  for (const auto& r : rs) {
    char buf[kMaxJsonBytes];
    char* end = format_json(r, buf);
    ASSERT_LE(static_cast<size_t>(end - buf), kMaxJsonBytes);
    simdjson::padded_string json(buf, static_cast<size_t>(end - buf));
    auto doc = parser.iterate(json);
    ASSERT_EQ(int64_t(doc["user_id"]), r.user_id);
    ASSERT_EQ(int64_t(doc["heart_rate"]), r.heart_rate);
    ASSERT_EQ(int64_t(doc["timestamp"]), r.timestamp);
    auto meta = doc["meta"];
    ASSERT_EQ(int64_t(meta["activity_id"]), r.activity_id);
    auto loc = meta["location"];
    ASSERT_NEAR(double(loc["latitude"]), r.latitude_e6 / 1e6, 1e-9);
    ASSERT_NEAR(double(loc["longitude"]), r.longitude_e6 / 1e6, 1e-9);
  }
}

// --- errors --------------------------------------------------------------------------------------

TEST(Simulator, RejectsAnEmptyPeriodAndAFleetWithoutTheBasicActivities) {
  Fleet fleet = sample_fleet(2, 13);
  auto empty = FleetSimulator::create(fleet, {1, at(2025, 2, 1), at(2025, 1, 1)});
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.error().message.find("from"), std::string::npos);
  fleet.activities.erase(std::remove_if(fleet.activities.begin(), fleet.activities.end(),
                                        [](const ActivityInfo& a) { return a.name == "Sleep"; }),
                         fleet.activities.end());
  auto no_sleep = FleetSimulator::create(fleet, {1, at(2025, 1, 1), at(2025, 1, 2)});
  ASSERT_FALSE(no_sleep.ok());
  EXPECT_NE(no_sleep.error().message.find("Sleep"), std::string::npos);
}

TEST(Simulator, RenamedActivitiesAreRecognised) {
  Fleet fleet = sample_fleet(150, 14, {"NL", "DK"});
  for (auto& a : fleet.activities) {
    if (a.name == "Cycling") a.name = "Outdoor Cycling";
  }
  auto rs = run(fleet, at(2025, 5, 5), at(2025, 5, 10));
  auto names = activity_names(fleet);
  size_t cycling = 0;
  for (const auto& r : rs) cycling += names[r.activity_id] == "Outdoor Cycling" ? 1 : 0;
  EXPECT_GT(cycling, 100u) << "commuters in NL/DK cycle";
}

}  // namespace
}  // namespace hrflow::sim
