// The dashboard in a real browser (Debian's Chromium, headless, driven by playwright-core from npm):
// every chart renders with data, a filter changes the numbers, export downloads a CSV, and a cell of
// three people is shown as suppressed; screenshots are saved under <build>/test-artifacts/dashboard/
// for review. The page is served by the same routes `hrflow serve` mounts (Dashboard::mount) over a
// synthetic star schema, with small-cell suppression at its default (11 people).
#include <httplib.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <thread>

#include "common/subprocess.h"
#include "query/dashboard.h"
#include "query/test_warehouse.h"
#include "support/fixtures.h"

namespace hrflow::query {
namespace {

TEST(DashboardBrowser, EveryChartRendersFiltersApplyAndExportDownloadsCsv) {
  if (!std::filesystem::exists("/usr/bin/chromium")) GTEST_SKIP() << "Chromium is not installed (/usr/bin/chromium)";
  const std::filesystem::path npm = HRFLOW_DASHBOARD_NPM;
  if (!std::filesystem::exists(npm / "node_modules" / "playwright-core")) GTEST_SKIP() << "playwright-core not installed in " << npm;

  auto db = db::Database::open(":memory:");
  ASSERT_TRUE(db.ok());
  {
    auto conn = db::Connection::connect(*db);
    // Enough people that the charts' cells hold 11 or more, but for one: blood type AB- and race O,
    // three people.
    auto st = testing::create_synthetic_star_schema(*conn, {.users = 1400, .days = 60, .readings_per_day = 8, .first_day = 19600});
    ASSERT_TRUE(st.ok()) << st.error().message;
    st = conn->execute(
        "UPDATE serving.dim_users SET race = 'W' WHERE blood_type = 'AB-' AND race = 'O' AND user_id NOT IN "
        "(SELECT user_id FROM serving.dim_users WHERE blood_type = 'AB-' AND race = 'O' ORDER BY user_id LIMIT 3)");
    ASSERT_TRUE(st.ok()) << st.error().message;
  }
  auto layer = SemanticLayer::builtin();
  ASSERT_TRUE(layer.ok());
  auto dashboard = Dashboard::create(*db, std::move(layer).value(), kDefaultMinCellUsers);
  ASSERT_TRUE(dashboard.ok());

  httplib::Server server;
  dashboard->mount(server);
  const int port = hrflow::testing::free_port();
  std::thread serving([&] { server.listen("127.0.0.1", port); });
  ASSERT_TRUE(hrflow::testing::wait_until([&] { return server.is_running(); }, std::chrono::seconds(10)));

  const auto shots = std::filesystem::path(HRFLOW_ARTIFACTS_DIR) / "dashboard";
  std::filesystem::create_directories(shots);
  hrflow::testing::TempDir profile;
  auto run = run_command({"node", (hrflow::testing::source_dir() / "web/dashboard/tests/browser_check.mjs").string(),
                          (npm / "node_modules").string(), "http://127.0.0.1:" + std::to_string(port) + "/dashboard/",
                          shots.string(), (profile.path() / "chromium").string()});
  server.stop();
  serving.join();
  ASSERT_TRUE(run.ok()) << run.error().message;
  ASSERT_EQ(run->exit_code, 0) << run->output;
  auto start = run->output.rfind("\n{");
  auto j = nlohmann::json::parse(run->output.substr(start == std::string::npos ? 0 : start + 1), nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << run->output;

  EXPECT_TRUE(j["errors"].empty()) << j["errors"].dump(2);
  ASSERT_GE(j["charts"].size(), 12u) << j.dump(2);
  for (const auto& [name, c] : j["charts"].items()) {
    EXPECT_EQ(c["state"], "ready") << name << ": " << c.dump();
    EXPECT_GT(c["rows"].get<int>(), 0) << name;
    if (name != "tiles" && name != "predictor") {
      EXPECT_GT(c["marks"].get<int>(), 0) << name << " drew nothing";
    }
  }
  // The three people's cell is hidden and says why; its complements too (2 x 2 cells, drawn grey).
  const auto& blood_race = j["charts"]["blood_race"];
  ASSERT_TRUE(blood_race["suppressed"].is_array()) << blood_race.dump();
  EXPECT_EQ(blood_race["suppressed"].size(), 4u) << blood_race.dump();
  bool three = false;
  for (const auto& note : blood_race["suppressed"]) three = three || note == "AB- · O: suppressed: fewer than 11 people";
  EXPECT_TRUE(three) << blood_race.dump();
  EXPECT_EQ(blood_race["grey"].get<int>(), 4) << blood_race.dump();
  // The filter changed the numbers: fewer readings and users for one sex.
  const double before = std::stod(j["tiles_before"]["readings"].get<std::string>());
  const double after = std::stod(j["tiles_after"]["readings"].get<std::string>());
  EXPECT_GT(after, 0);
  EXPECT_LT(after, before);
  EXPECT_NE(j["tiles_before"]["avg_heart_rate"], j["tiles_after"]["avg_heart_rate"]);
  for (const auto& [name, c] : j["charts_after"].items()) EXPECT_EQ(c["state"], "ready") << name;
  // The predictor shows its held-out accuracy next to the baseline, and beats it on this data.
  EXPECT_GT(j["accuracy"].get<double>(), j["baseline"].get<double>()) << j["evaluation"];
  EXPECT_FALSE(j["prediction"].empty());
  // The export is the chart's data as CSV.
  EXPECT_EQ(j["download"]["name"], "hrflow-exercise_sex.csv");
  EXPECT_EQ(j["download"]["text"].get<std::string>().rfind("activity,sex,avg_heart_rate,suppressed\n", 0), 0u) << j["download"].dump();
  EXPECT_TRUE(std::filesystem::exists(shots / "dashboard.png"));
}

}  // namespace
}  // namespace hrflow::query
