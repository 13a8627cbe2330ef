// The end-to-end signal test: the real pipeline (operational PostgreSQL, CDC, simulator, stream, lake,
// warehouse build) on a simulated fleet, then the planted effects asked for THROUGH THE SEMANTIC LAYER,
// as the dashboard asks (Dashboard::handle, /api/dashboard/query and /predictor), and compared with
// the simulator's ground truth: both what it planted (model parameters) and what it produced (tallies).
//
// Design, for a short run: 700 users, one week in mid-January and one in mid-July 2025 (the seasonal
// peak and trough, both Monday to Sunday so the weekend effect weighs the same), produced as two
// backfills (the second resumes after the first). One stream partition, so the lake has one file per
// hour rather than six: sync commits every lake file in its own transaction. Small-cell suppression is
// on at its default, 11 people: the fleet is big enough for what the checks need to be visible, and
// hidden cells (rare activities; the hours of a small region when few are asleep or awake) are skipped.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/duckdb.h"
#include "query/dashboard.h"
#include "query/semantic_layer.h"
#include "support/fixtures.h"

namespace hrflow::testing {
namespace {

using nlohmann::json;
constexpr double kPi = 3.14159265358979323846;

json read_json_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  return json::parse(in, nullptr, /*allow_exceptions=*/false);
}

// One period of the design: UTC days [first_day, first_day + 7) of 2025 (day of year, 0 = 1 January).
struct Period {
  std::string from, to, truth;
  int first_doy;
};
const Period kPeriods[] = {{"2025-01-13", "2025-01-20", "truth-jan.json", 12},
                           {"2025-07-14", "2025-07-21", "truth-jul.json", 194}};

// Rows of a dashboard answer keyed by the first `keys` columns joined with '|'.
struct Answer {
  std::vector<std::string> columns;
  std::map<std::string, std::vector<json>> rows;
  double num(const std::string& key, size_t col) const {
    auto it = rows.find(key);
    return it == rows.end() || it->second[col].is_null() ? NAN : it->second[col].get<double>();
  }
  // Withheld by small-cell suppression (the last column says why).
  bool hidden(const std::string& key) const {
    auto it = rows.find(key);
    return it != rows.end() && !columns.empty() && columns.back() == "suppressed" && !it->second.back().is_null();
  }
};
constexpr int64_t kMinCellUsers = query::kDefaultMinCellUsers;

std::string key_of(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

class SignalTest : public ::testing::Test {
 protected:
  void run_step(std::vector<std::string> args) {
    auto out = run_hrflow(args, dir_.path());
    std::string shown;
    for (const auto& a : args) shown += a + " ";
    ASSERT_EQ(out.exit_code, 0) << "hrflow " << shown << "\n" << out.output;
  }
  void TearDown() override { run_hrflow({"oltp", "down"}, dir_.path()); }

  Answer ask(const query::Dashboard& dash, const json& request, size_t keys) {
    auto reply = dash.handle("POST", "/api/dashboard/query", request.dump());
    EXPECT_EQ(reply.status, 200) << request.dump() << "\n" << reply.body;
    Answer a;
    auto j = json::parse(reply.body, nullptr, false);
    if (!j.is_object()) return a;
    for (const auto& c : j["columns"]) a.columns.push_back(c.get<std::string>());
    for (const auto& r : j["rows"]) {
      std::string k;
      for (size_t i = 0; i < keys; ++i) k += (i ? "|" : "") + key_of(r[i]);
      a.rows[k] = r.get<std::vector<json>>();
    }
    return a;
  }

  TempDir dir_;
};

// Weekday wake-up: the local hour at which the share of time asleep falls through one half, linear
// between hour midpoints. `sleep_share[h]` is the share in hour h (0-11).
double wake_hour(const std::map<int, double>& sleep_share) {
  for (int h = 3; h < 11; ++h) {
    auto a = sleep_share.find(h), b = sleep_share.find(h + 1);
    if (a == sleep_share.end() || b == sleep_share.end()) continue;
    if (a->second >= 0.5 && b->second < 0.5) return h + 0.5 + (a->second - 0.5) / (a->second - b->second);
  }
  return NAN;
}

// The same crossing in a 24-hour series (UTC hours), searching cyclically from hour 0; an hour missing
// (hidden by suppression) is no crossing.
double wake_hour_cyclic(const std::map<int, double>& share) {
  auto at = [&](int h) { return share.count(h) ? share.at(h) : NAN; };
  for (int h = 0; h < 24; ++h) {
    double a = at(h), b = at((h + 1) % 24), prev = at((h + 23) % 24);
    if (a >= 0.5 && b < 0.5 && prev >= 0.5) return h + 0.5 + (a - 0.5) / (a - b);
  }
  return NAN;
}

TEST_F(SignalTest, WarehouseRecoversThePlantedEffectsThroughTheSemanticLayer) {
  std::ofstream(dir_.path() / "hrflow.yml") << "oltp:\n  port: " << free_port() << "\nstream:\n  partitions: 1\n";
  // --- the pipeline, as a user runs it ---------------------------------------------------------------
  std::vector<std::vector<std::string>> steps = {
      {"oltp", "up"}, {"oltp", "generate", "--users", "700", "--as-of", "2025-01-01 00:00:00"}, {"sync", "oltp"}};
  for (const auto& p : kPeriods) {
    steps.push_back({"produce", "--quiet", "--from", p.from, "--to", p.to, "--ground-truth", (dir_.path() / p.truth).string()});
  }
  steps.insert(steps.end(), {{"sink", "--once"}, {"sync"}, {"build"}});
  for (const auto& step : steps) {
    run_step(step);
    if (HasFatalFailure()) return;
  }

  std::vector<json> truth;
  for (const auto& p : kPeriods) {
    truth.push_back(read_json_file(dir_.path() / p.truth));
    ASSERT_TRUE(truth.back().is_object()) << p.truth;
  }
  const json& gt = truth[0];  // planted parameters: the same in both files

  auto db = db::Database::open((dir_.path() / ".hrflow" / "warehouse.duckdb").string(), {{"access_mode", "READ_ONLY"}});
  ASSERT_TRUE(db.ok()) << db.error().message;
  auto layer = query::SemanticLayer::builtin();
  ASSERT_TRUE(layer.ok()) << layer.error().message;
  auto dash = query::Dashboard::create(*db, *layer, kMinCellUsers);
  ASSERT_TRUE(dash.ok()) << dash.error().message;

  // --- 1. nothing lost, and per-activity intensity ---------------------------------------------------
  // Produced readings and their mean per activity (both periods); zone and rest delta as planted.
  struct Planted {
    uint64_t readings = 0;
    double hr_sum = 0;
    std::string zone;
    double rest_delta = 0;
  };
  std::map<std::string, Planted> planted;
  uint64_t produced = 0;
  for (const auto& t : truth) {
    produced += t["readings"].get<uint64_t>();
    for (const auto& a : t["activities"]) {
      auto& p = planted[a["name"].get<std::string>()];
      p.readings += a["readings"].get<uint64_t>();
      p.hr_sum += a["mean_heart_rate"].get<double>() * a["readings"].get<double>();
      p.zone = a["zone"].get<std::string>();
      p.rest_delta = a.value("rest_delta_bpm", 0.0);
    }
  }
  auto by_activity = ask(*dash, {{"metrics", {"readings", "avg_heart_rate"}}, {"by", {"activity"}}}, 1);
  int hidden_activities = 0;
  for (const auto& [name, p] : planted) {
    if (!p.readings) continue;
    if (by_activity.hidden(name)) {  // done by fewer than kMinCellUsers people
      ++hidden_activities;
      continue;
    }
    EXPECT_EQ(by_activity.num(name, 1), static_cast<double>(p.readings)) << name << ": readings produced vs in the warehouse";
    // Both sides are rounded to 0.01 bpm (the measure, and each period's mean in the ground truth).
    EXPECT_NEAR(by_activity.num(name, 2), p.hr_sum / static_cast<double>(p.readings), 0.011) << name;
  }
  // Nothing lost: every reading is in the warehouse (the total holds all 60 people).
  auto total = ask(*dash, {{"metrics", {"readings"}}}, 0);
  EXPECT_EQ(total.num("", 0), static_cast<double>(produced));
  std::printf("suppression: %d of %zu activities hidden (fewer than %lld people)\n", hidden_activities, planted.size(),
              static_cast<long long>(kMinCellUsers));
  for (const auto& a : {"Sleep", "Sit", "Stand", "Walk", "Run"}) EXPECT_FALSE(by_activity.hidden(a)) << a;
  // The activities everyone does, by planted intensity (MET): each step is at least 2 bpm planted
  // (Sit - Sleep: 2.1 bpm rest delta, plus the night dip), with thousands of readings each.
  const std::vector<std::string> chain = {"Sleep", "Sit", "Stand", "Walk", "Run"};
  for (size_t i = 0; i + 1 < chain.size(); ++i) {
    EXPECT_GT(by_activity.num(chain[i + 1], 2), by_activity.num(chain[i], 2) + 2.0) << chain[i] << " < " << chain[i + 1];
  }
  // Zones (CDC, from each activity's MET): the readings-weighted mean rises with the zone.
  std::map<std::string, std::pair<double, double>> zone_sum;  // zone -> (hr sum, readings)
  for (const auto& [name, p] : planted) {
    if (!p.readings || by_activity.hidden(name)) continue;
    zone_sum[p.zone].first += by_activity.num(name, 2) * by_activity.num(name, 1);
    zone_sum[p.zone].second += by_activity.num(name, 1);
  }
  auto zone_mean = [&](const char* z) { return zone_sum[z].first / zone_sum[z].second; };
  EXPECT_LT(zone_mean("rest"), zone_mean("light"));
  EXPECT_LT(zone_mean("light"), zone_mean("moderate"));
  EXPECT_LT(zone_mean("moderate"), zone_mean("vigorous"));
  std::printf("intensity: Sleep %.2f < Sit %.2f < Stand %.2f < Walk %.2f < Run %.2f bpm; zones rest %.1f light %.1f "
              "moderate %.1f vigorous %.1f\n", by_activity.num("Sleep", 2), by_activity.num("Sit", 2),
              by_activity.num("Stand", 2), by_activity.num("Walk", 2), by_activity.num("Run", 2), zone_mean("rest"),
              zone_mean("light"), zone_mean("moderate"), zone_mean("vigorous"));

  // --- 2. seasonal swing and its sign by hemisphere ------------------------------------------------------
  // First exactly what was produced: resting readings (the ground truth's rest zone) per hemisphere and
  // month, count and mean.
  json rest_zone = json::array();
  for (const auto& [name, p] : planted) {
    if (p.zone == "rest") rest_zone.push_back(name);
  }
  auto resting = ask(*dash, {{"metrics", {"readings", "avg_heart_rate"}}, {"by", {"hemisphere", "month"}},
                             {"filters", json::array({{{"dimension", "activity"}, {"op", "="}, {"values", rest_zone}}})}}, 2);
  const char* kMonth[] = {"Jan", "Jul"};
  for (size_t i = 0; i < truth.size(); ++i) {
    for (const auto& [gt_key, hemisphere] : {std::pair{"north", "Northern"}, std::pair{"south", "Southern"}}) {
      for (const auto& m : truth[i]["resting_by_month"][gt_key]) {
        ASSERT_EQ(m["month"], kMonth[i]);
        std::string k = std::string(hemisphere) + "|" + (i == 0 ? "1" : "7");
        EXPECT_EQ(resting.num(k, 2), m["resting_readings"].get<double>()) << k;
        EXPECT_NEAR(resting.num(k, 3), m["mean_heart_rate"].get<double>(), 0.006) << k;  // 0.01 and 0.001 rounding
      }
    }
  }
  // Then the researcher's question 2: the layer's resting heart rate by hemisphere and month.
  auto season = ask(*dash, {{"metrics", {"resting_heart_rate", "users"}}, {"by", {"hemisphere", "month"}}}, 2);
  const double amplitude = gt["seasonal"]["amplitude_bpm"].get<double>();
  for (const auto& [gt_key, hemisphere] : {std::pair{"north", "Northern"}, std::pair{"south", "Southern"}}) {
    const double peak = gt["seasonal"][gt_key]["peak_day_of_year"].get<double>();
    double expected = 0;  // planted January week minus July week
    for (int d = 0; d < 7; ++d) {
      expected += amplitude * (std::cos(2 * kPi * (kPeriods[0].first_doy + d + 0.5 - peak) / 365.25) -
                               std::cos(2 * kPi * (kPeriods[1].first_doy + d + 0.5 - peak) / 365.25)) / 7;
    }
    std::string h(hemisphere);
    const double swing = season.num(h + "|1", 2) - season.num(h + "|7", 2);
    std::printf("seasonal: %s January - July resting %.2f bpm (planted %.2f), %g users\n", hemisphere, swing, expected,
                season.num(h + "|1", 3));
    // Same users in both weeks, so each user's own resting rate cancels; what remains besides the planted
    // swing is the change of each user's mix of sitting and sleeping between the two weeks (Sit is 2.1
    // bpm above Sleep) - a tenth of a bpm or so for the ~115 users of the southern hemisphere. A quarter
    // of the swing keeps the sign and the size honest.
    EXPECT_NEAR(swing, expected, 0.25 * std::fabs(expected)) << hemisphere;
    EXPECT_EQ(swing > 0, std::string(gt_key) == "north") << hemisphere << ": the sign of the swing";
  }

  // --- 3. night dip ---------------------------------------------------------------------------------------
  auto by_hour = ask(*dash, {{"metrics", {"resting_heart_rate", "resting_readings"}}, {"by", {"local_hour"}}}, 1);
  auto mean_over = [&](int from_h, int to_h) {  // readings-weighted, hours [from_h, to_h]
    double s = 0, n = 0;
    for (int h = from_h; h <= to_h; ++h) {
      s += by_hour.num(std::to_string(h), 1) * by_hour.num(std::to_string(h), 2);
      n += by_hour.num(std::to_string(h), 2);
    }
    return s / n;
  };
  const double dip = gt["circadian"]["dip_bpm"].get<double>(), min_h = gt["circadian"]["minimum_local_hour"].get<double>(),
               half_w = gt["circadian"]["half_width_hours"].get<double>();
  auto circadian = [&](double h) {  // the planted shape
    double d = h - min_h;
    if (d > 12) d -= 24;
    if (std::fabs(d) >= half_w) return 0.0;
    double c = std::cos(kPi / 2 * d / half_w);
    return -dip * c * c;
  };
  double night_offset = 0;  // the planted dip averaged over 03:00-06:00
  for (int i = 0; i < 180; ++i) night_offset += circadian(3 + (i + 0.5) / 60) / 180;
  // Night: everyone asleep (03-05); day: 14-19, where the planted dip is zero and resting means sitting.
  const double night = mean_over(3, 5), day = mean_over(14, 19);
  const double expected_dip = night_offset + planted["Sleep"].rest_delta - planted["Sit"].rest_delta;
  int lowest = 0;
  for (int h = 0; h < 24; ++h) {
    if (by_hour.num(std::to_string(h), 1) < by_hour.num(std::to_string(lowest), 1)) lowest = h;
  }
  std::printf("night dip: resting 03-05 minus 14-19 local %.2f bpm (planted %.2f: dip %.2f + Sleep vs Sit %.2f); "
              "lowest at %02d h (planted %.0f)\n", night - day, expected_dip, night_offset,
              planted["Sleep"].rest_delta - planted["Sit"].rest_delta, lowest, min_h);
  // What the planted parameters do not fix: which users read how often at each hour, and the recovery
  // from activity in daytime sitting. A quarter of the planted 4 bpm dip.
  EXPECT_NEAR(night - day, expected_dip, 0.25 * dip);
  EXPECT_LE(std::abs(lowest - static_cast<int>(min_h)), 1) << "the minimum of the dip (hour bins; wake-up after 06)";

  // --- 4. regional activity timing -------------------------------------------------------------------------
  // Weekday wake-up per subregion: where the share of time asleep falls through one half, in the users'
  // local time and in UTC. One region per request: its hours are then one line of the answer, and
  // complementary suppression for another region's night hours does not reach into its morning.
  auto users = ask(*dash, {{"metrics", {"users"}}, {"by", {"subregion"}}}, 1);
  std::map<std::string, double> utc_wake;
  size_t regions_checked = 0;
  for (const auto& [subregion, row] : users.rows) {
    const json in_region = {{"dimension", "subregion"}, {"op", "="}, {"values", json::array({subregion})}};
    json weekday_morning = json::array({{{"dimension", "local_weekday"}, {"op", "<="}, {"values", json::array({"5"})}},
                                        {{"dimension", "local_hour"}, {"op", "<="}, {"values", json::array({"11"})}}, in_region});
    json asleep = weekday_morning;
    asleep.push_back({{"dimension", "activity"}, {"op", "="}, {"values", json::array({"Sleep"})}});
    auto all_local = ask(*dash, {{"metrics", {"activity_minutes"}}, {"by", {"subregion", "local_hour"}}, {"filters", weekday_morning}}, 2);
    auto sleep_local = ask(*dash, {{"metrics", {"activity_minutes"}}, {"by", {"subregion", "local_hour"}}, {"filters", asleep}}, 2);
    json weekday = json::array({{{"dimension", "local_weekday"}, {"op", "<="}, {"values", json::array({"5"})}}, in_region});
    json asleep_utc = weekday;
    asleep_utc.push_back({{"dimension", "activity"}, {"op", "="}, {"values", json::array({"Sleep"})}});
    auto all_utc = ask(*dash, {{"metrics", {"activity_minutes"}}, {"by", {"subregion", "utc_hour"}}, {"filters", weekday}}, 2);
    auto sleep_utc = ask(*dash, {{"metrics", {"activity_minutes"}}, {"by", {"subregion", "utc_hour"}}, {"filters", asleep_utc}}, 2);
    std::string region_key;  // "Central Europe" -> "central_europe", the simulator's region names
    for (char c : subregion) region_key += c == ' ' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    ASSERT_TRUE(gt["regions"].contains(region_key)) << subregion;
    std::map<int, double> share, share_truth, share_utc;
    for (int h = 0; h < 24; ++h) {
      std::string k = subregion + "|" + std::to_string(h);
      if (h < 12) {
        // No row: no one asleep; a hidden cell: unknown (left out).
        if (!sleep_local.hidden(k) && !all_local.hidden(k)) {
          share[h] = (std::isnan(sleep_local.num(k, 2)) ? 0 : sleep_local.num(k, 2)) / all_local.num(k, 2);
        }
        double t = 0;  // the ground truth's share of time asleep, Monday to Friday, both weeks alike
        for (const auto& tr : truth) {
          for (const char* d : {"Mon", "Tue", "Wed", "Thu", "Fri"}) {
            const json* at = &tr["schedule_share_of_time"];
            for (const std::string& k : {region_key, std::string(d), fmt::format("{:02}", h), std::string("Sleep")}) {
              at = at->is_object() && at->contains(k) ? &(*at)[k] : nullptr;
              if (!at) break;
            }
            t += at ? at->get<double>() / 10 : 0.0;
          }
        }
        share_truth[h] = t;
      }
      if (!sleep_utc.hidden(k) && !all_utc.hidden(k)) {
        share_utc[h] = (std::isnan(sleep_utc.num(k, 2)) ? 0 : sleep_utc.num(k, 2)) / all_utc.num(k, 2);
      }
    }
    const double wake = wake_hour(share), wake_truth = wake_hour(share_truth);
    const double planted_wake = gt["regions"][region_key]["weekday_wake_hour"].get<double>();
    const double n = row[1].is_null() ? NAN : row[1].get<double>();
    if (std::isnan(wake) || std::isnan(n)) {
      std::printf("timing: %-16s crossing hidden by suppression (%zu of 12 local hours visible); not checked\n",
                  subregion.c_str(), share.size());
      continue;
    }
    ++regions_checked;
    utc_wake[subregion] = wake_hour_cyclic(share_utc);
    std::printf("timing: %-16s weekday wake-up %.2f h local (produced %.2f, planted %.2f; %g users), %.2f h UTC\n",
                subregion.c_str(), wake, wake_truth, planted_wake, n, utc_wake[subregion]);
    // Against what was produced: the layer counts 10-minute slots with a reading, the ground truth seconds.
    EXPECT_NEAR(wake, wake_truth, 0.15) << subregion;
    // Against what was planted: each person wakes at the region's hour plus their own chronotype (SD 0.5 h
    // in the simulator), so the region's few users are 0.5/sqrt(n) h off on average; three of those.
    EXPECT_NEAR(wake, planted_wake, 0.15 + 3 * 0.5 / std::sqrt(n)) << subregion;
  }
  EXPECT_GE(regions_checked * 2, users.rows.size()) << "most regions must be visible at " << kMinCellUsers << " people";
  // In UTC the regions' mornings lie apart by their time zones: US zones are 5-8 hours behind UTC (4-7 in
  // July), Central Europe 1-2 ahead, so North America wakes 6-9 hours of UTC later, give or take the
  // half hour between the planted local wake-ups and the users' chronotypes.
  ASSERT_TRUE(utc_wake.count("North America") && utc_wake.count("Central Europe")) << "both regions must be visible";
  double apart = std::fmod(utc_wake["North America"] - utc_wake["Central Europe"] + 24, 24);
  EXPECT_GT(apart, 5.0);
  EXPECT_LT(apart, 9.5);
  std::printf("timing: North America wakes %.2f h of UTC after Central Europe\n", apart);

  // --- 5. the activity predictor of question 3 -------------------------------------------------------------
  auto reply = dash->handle("POST", "/api/dashboard/predictor", "{}");
  ASSERT_EQ(reply.status, 200) << reply.body;
  auto eval = json::parse(reply.body)["evaluation"];
  std::printf("predictor: %s\n", eval.dump().c_str());
  // Held-out local days are those with hash(date) % 5 = 0: with 14 days of 700 users, a million minutes.
  EXPECT_GT(eval["held_out_minutes"].get<double>(), 3000);
  // A time-of-day model of a fleet that sleeps at night and sits by day: it should beat always guessing
  // the most common activity by far; 0.15 absolute is well below what any sensible schedule gives.
  EXPECT_GT(eval["accuracy"].get<double>(), eval["baseline_accuracy"].get<double>() + 0.15);
}

}  // namespace
}  // namespace hrflow::testing
