// End to end, as a user runs it: the managed PostgreSQL, `hrflow import` into the embedded stream,
// then sink -> sync -> build into serving.fct_heart_rates; re-imports add nothing; a kill -9 in the
// middle of an import is finished by running it again, with every reading in the stream exactly once;
// and warehouse -> `hrflow export fhir` -> `hrflow import fhir` gives the same readings.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <regex>
#include <set>

#include "common/civil_time.h"
#include "common/config.h"
#include "common/duckdb.h"
#include "common/subprocess.h"
#include "import/import_test_files.h"
#include "oltp/fleet_source.h"
#include "stream/stream.h"
#include "support/fixtures.h"

namespace hrflow::import {
namespace {

using namespace testfiles;
using hrflow::testing::TempDir;

const int64_t kT0 = days_from_civil(2025, 3, 10) * 86400 + 7 * 3600;  // 2025-03-10 07:00:00 UTC

// The number on a summary line "<label>   1,234  ..." (0 when the line is missing).
uint64_t summary_count(const std::string& output, const std::string& label) {
  std::smatch m;
  std::regex re(label + R"(\s+([0-9,]+))");
  if (!std::regex_search(output, m, re)) return 0;
  std::string digits;
  for (char ch : m[1].str()) {
    if (ch != ',') digits += ch;
  }
  return std::stoull(digits);
}

class ImportEndToEnd : public ::testing::Test {
 protected:
  void SetUp() override { write_config(""); }
  // `stream_extra`: more settings under stream: (e.g. a Kafka cluster).
  void write_config(const std::string& stream_extra) {
    config_path_ = dir_.path() / "hrflow.yml";
    if (!port_) port_ = hrflow::testing::free_port();
    std::ofstream(config_path_) << "state_dir: " << (dir_.path() / ".hrflow").string() << "\noltp:\n  port: " << port_
                                << "\nstream:\n  partitions: 2\n" << stream_extra << "import:\n  batch: 500\n";
  }
  void TearDown() override { run({"oltp", "down"}); }

  CommandOutput run(std::vector<std::string> args) {
    args.insert(args.begin(), {"--config", config_path_.string()});
    return hrflow::testing::run_hrflow(args, dir_.path());
  }
  void step(const std::vector<std::string>& args) {
    auto out = run(args);
    std::string shown;
    for (const auto& a : args) shown += a + " ";
    ASSERT_EQ(out.exit_code, 0) << "hrflow " << shown << "\n" << out.output;
  }

  // Every record in the stream, read with a fresh consumer group: user -> (timestamp -> heart rate),
  // failing on a (user, timestamp) seen twice.
  std::map<int64_t, std::map<int64_t, int64_t>> stream_readings(const std::string& group, uint64_t* duplicates) {
    auto config = Config::load(config_path_, true);
    EXPECT_TRUE(config.ok());
    auto consumer = stream::open_consumer(*config, group);
    EXPECT_TRUE(consumer.ok()) << consumer.error().message;
    std::map<int64_t, std::map<int64_t, int64_t>> out;
    *duplicates = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      auto batch = (*consumer)->poll(10000, 200);
      EXPECT_TRUE(batch.ok());
      if (batch->empty()) {
        auto lag = (*consumer)->lag();
        int64_t total = 0;
        for (auto [p, l] : *lag) total += l;
        if (total == 0) break;
        continue;
      }
      for (const auto& r : *batch) {
        auto v = nlohmann::json::parse(r.value);
        const int64_t user = v["user_id"].get<int64_t>();
        EXPECT_EQ(std::to_string(user), r.key);
        if (!out[user].emplace(v["timestamp"].get<int64_t>(), v["heart_rate"].get<int64_t>()).second) ++*duplicates;
      }
    }
    return out;
  }

  // Import a 200,000-reading export.xml, kill -9 the import while it sends, run it again: every
  // reading must then be in the stream exactly once.
  void kill_while_sending_then_rerun() {
    constexpr int kReadings = 200000;
    {
      std::ofstream f(dir_.path() / "export.xml", std::ios::binary);
      f << apple_head();
      for (int i = 0; i < kReadings; ++i) {
        f << R"( <Record type="HKQuantityTypeIdentifierHeartRate" sourceName="Watch" unit="count/min" startDate=")"
          << apple_time(kT0 + 5 * i, 60) << R"(" endDate=")" << apple_time(kT0 + 5 * i, 60) << R"(" value=")" << 60 + i % 90
          << "\"/>\n";
      }
      f << apple_tail();
    }
    const auto journal = dir_.path() / ".hrflow" / "import" / "readings.journal";
    auto proc = Subprocess::start({hrflow::testing::hrflow_bin(), "--config", config_path_.string(), "import", "apple-health",
                                   (dir_.path() / "export.xml").string(), "--participant", "P020", "-q"},
                                  (dir_.path() / "killed.log").string());
    ASSERT_TRUE(proc.ok()) << proc.error().message;
    // Kill it once a few batches (500 readings, 6 kB of journal each) are in.
    ASSERT_TRUE(hrflow::testing::wait_until(
        [&] {
          std::error_code ec;
          return std::filesystem::file_size(journal, ec) > 30000 && !ec;
        },
        std::chrono::seconds(120)))
        << "the import never got to sending";
    proc->stop(9, 1000);
    uint64_t duplicates = 0;
    const size_t before = stream_readings("after-kill", &duplicates)[90001].size();
    EXPECT_EQ(duplicates, 0u);
    ASSERT_GT(before, 0u);
    ASSERT_LT(before, static_cast<size_t>(kReadings)) << "the import finished before it was killed: nothing tested";

    auto rerun = run({"import", "apple-health", (dir_.path() / "export.xml").string(), "--participant", "P020", "-q"});
    ASSERT_EQ(rerun.exit_code, 0) << rerun.output;
    std::cout << "after kill -9: " << before << " readings in the stream; the re-run said:\n" << rerun.output;
    EXPECT_EQ(summary_count(rerun.output, "readings imported") + summary_count(rerun.output, "duplicates"),
              static_cast<uint64_t>(kReadings))
        << rerun.output;
    auto all = stream_readings("after-rerun", &duplicates);
    EXPECT_EQ(duplicates, 0u);
    EXPECT_EQ(all[90001].size(), static_cast<size_t>(kReadings));
  }

  TempDir dir_;
  std::filesystem::path config_path_;
  int port_ = 0;
};

TEST_F(ImportEndToEnd, AppleHealthReachesTheWarehouseOnceAndRoundTripsThroughFhir) {
  for (const auto& s : std::vector<std::vector<std::string>>{
           {"oltp", "up"}, {"oltp", "generate", "--users", "5", "--as-of", "2025-01-01 00:00:00"}, {"sync", "oltp"}}) {
    step(s);
    if (HasFatalFailure()) return;
  }
  // 300 readings every 10 s from 07:00 UTC (written at +0100), a 20-minute run in the middle, plus
  // a step count and a damaged record.
  std::string xml = apple_head();
  for (int i = 0; i < 300; ++i) xml += apple_hr(kT0 + 10 * i, 60, std::to_string(60 + i % 50), "Anna’s Apple Watch", i < 100 ? 1 : 2);
  xml += apple_other("HKQuantityTypeIdentifierStepCount", kT0, "42", "count");
  xml += apple_hr(kT0 + 5000, 60, "900");
  // Older than the warehouse keeps, and older than the operational activities (generated as of 2025).
  xml += apple_hr(days_from_civil(2023, 6, 1) * 86400, 60, "70");
  xml += apple_hr(days_from_civil(2024, 6, 1) * 86400, 60, "71");
  xml += apple_workout("HKWorkoutActivityTypeRunning", kT0 + 1500, kT0 + 2700, 60);
  xml += apple_tail();
  write_zip(dir_.path() / "export.zip", "apple_health_export/export.xml", xml);

  auto first = run({"import", "apple-health", (dir_.path() / "export.zip").string(), "--participant", "P017", "-q"});
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_EQ(summary_count(first.output, "records read"), 304u) << first.output;
  EXPECT_EQ(summary_count(first.output, "readings imported"), 300u) << first.output;
  EXPECT_EQ(summary_count(first.output, "duplicates"), 0u) << first.output;
  EXPECT_EQ(summary_count(first.output, "skipped"), 1u) << first.output;
  EXPECT_NE(first.output.find("1  before 2024-04-05 19:00:00 UTC (the warehouse keeps no readings before it"), std::string::npos)
      << first.output;
  EXPECT_NE(first.output.find("1  before 2025-01-01 00:00:00 UTC, when the operational activities begin"), std::string::npos)
      << first.output;
  EXPECT_NE(first.output.find("1  not heart rate: StepCount"), std::string::npos) << first.output;
  EXPECT_EQ(summary_count(first.output, "errors"), 1u) << first.output;
  EXPECT_NE(first.output.find("P017 = user 90001 (new user)"), std::string::npos) << first.output;

  // The same file again, and a later export that overlaps it: only the new readings go in.
  auto again = run({"import", "apple-health", (dir_.path() / "export.zip").string(), "--participant", "P017", "-q"});
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_EQ(summary_count(again.output, "readings imported"), 0u) << again.output;
  EXPECT_EQ(summary_count(again.output, "duplicates"), 300u) << again.output;
  EXPECT_NE(again.output.find("P017 = user 90001\n"), std::string::npos) << again.output;
  std::string later = apple_head();
  for (int i = 250; i < 320; ++i) later += apple_hr(kT0 + 10 * i, 60, std::to_string(60 + i % 50), "Anna’s Apple Watch", 2);
  later += apple_tail();
  write_file(dir_.path() / "later" / "export.xml", later);
  auto overlap = run({"import", "apple-health", (dir_.path() / "later" / "export.xml").string(), "--participant", "P017", "-q"});
  ASSERT_EQ(overlap.exit_code, 0) << overlap.output;
  EXPECT_EQ(summary_count(overlap.output, "readings imported"), 20u) << overlap.output;
  EXPECT_EQ(summary_count(overlap.output, "duplicates"), 50u) << overlap.output;

  // Through the normal stages into the warehouse.
  for (const auto& s : std::vector<std::vector<std::string>>{{"sink", "--once"}, {"sync"}, {"build"}}) {
    step(s);
    if (HasFatalFailure()) return;
  }
  std::map<int64_t, int64_t> warehouse;  // timestamp -> heart rate of user 90001
  {
    auto db = db::Database::open((dir_.path() / ".hrflow" / "warehouse.duckdb").string(), {{"access_mode", "READ_ONLY"}});
    ASSERT_TRUE(db.ok()) << db.error().message;
    auto conn = db::Connection::connect(*db);
    ASSERT_TRUE(conn.ok());
    auto rows = conn->query(
        "select epoch(f.event_datetime)::bigint, f.heart_rate, a.activity_name from serving.fct_heart_rates f "
        "join serving.dim_users u on u.user_key = f.user_key join serving.dim_activities a on a.activity_key = "
        "f.activity_key where u.user_id = 90001 order by 1");
    ASSERT_TRUE(rows.ok()) << rows.error().message;
    ASSERT_EQ(rows->row_count(), 320u);
    std::map<std::string, int> by_activity;
    for (uint64_t i = 0; i < rows->row_count(); ++i) {
      const int64_t ts = *rows->get_int64(i, 0);
      warehouse[ts] = *rows->get_int64(i, 1);
      const std::string activity = *rows->get_string(i, 2);
      ++by_activity[activity];
      // the workout covers 07:25..07:45 UTC; before it the watch said sedentary, after it active
      const std::string expected = ts >= kT0 + 1500 && ts <= kT0 + 2700 ? "Run" : ts < kT0 + 1000 ? "Sit" : "Other";
      EXPECT_EQ(activity, expected) << "reading at " << format_utc(ts);
    }
    EXPECT_EQ(by_activity["Run"], 121);
    auto user = conn->query(
        "select first_name, last_name, cast(date_of_birth as varchar), sex, blood_type, height is null from "
        "serving.dim_users where user_id = 90001");
    ASSERT_TRUE(user.ok()) << user.error().message;
    ASSERT_EQ(user->row_count(), 1u);
    EXPECT_EQ(*user->get_string(0, 0), "Participant");
    EXPECT_EQ(*user->get_string(0, 1), "P017");
    EXPECT_EQ(*user->get_string(0, 2), "1984-06-15");
    EXPECT_EQ(*user->get_string(0, 3), "F");
    EXPECT_EQ(*user->get_string(0, 4), "AB-");
    EXPECT_EQ(*user->get_string(0, 5), "true");
  }

  // Warehouse -> FHIR export -> FHIR import: the same readings, now of the Patient the export wrote.
  auto exported = run({"export", "fhir", "--out", (dir_.path() / "fhir").string(), "-q"});
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  EXPECT_NE(exported.output.find("observations  320"), std::string::npos) << exported.output;
  auto reimported = run({"import", "fhir", (dir_.path() / "fhir").string(), "-q"});
  ASSERT_EQ(reimported.exit_code, 0) << reimported.output;
  EXPECT_EQ(summary_count(reimported.output, "readings imported"), 320u) << reimported.output;
  EXPECT_EQ(summary_count(reimported.output, "errors"), 0u) << reimported.output;
  EXPECT_NE(reimported.output.find("user-90001 = user 90002 (new user)"), std::string::npos) << reimported.output;
  uint64_t duplicates = 0;
  auto in_stream = stream_readings("round-trip-check", &duplicates);
  EXPECT_EQ(duplicates, 0u);
  EXPECT_EQ(in_stream[90002], warehouse);
  EXPECT_EQ(in_stream[90001], warehouse);

  // With privacy.pseudonym_key the export carries keyed hashes, never user ids.
  ::setenv("HRFLOW_PSEUDONYM_KEY", "export-key", 1);
  auto hashed = run({"export", "fhir", "--out", (dir_.path() / "fhir-hashed").string(), "--user", "90001", "-q"});
  ::unsetenv("HRFLOW_PSEUDONYM_KEY");
  ASSERT_EQ(hashed.exit_code, 0) << hashed.output;
  std::ifstream patients(dir_.path() / "fhir-hashed" / "Patient.ndjson");
  std::string patient((std::istreambuf_iterator<char>(patients)), std::istreambuf_iterator<char>());
  EXPECT_EQ(patient.find("user-"), std::string::npos) << patient;
  EXPECT_NE(patient.find(R"("id":"px-)"), std::string::npos) << patient;
  EXPECT_NE(patient.find(R"("birthDate":"1984-06-15")"), std::string::npos) << patient;
  EXPECT_NE(hashed.output.find("observations  320"), std::string::npos) << hashed.output;
}

TEST_F(ImportEndToEnd, AnImportKilledWhileSendingFinishesOnTheNextRunWithEveryReadingOnce) {
  for (const auto& s : std::vector<std::vector<std::string>>{{"oltp", "up"},
                                                             {"oltp", "generate", "--users", "5", "--as-of", "2025-01-01 00:00:00"}}) {
    step(s);
    if (HasFatalFailure()) return;
  }
  kill_while_sending_then_rerun();
}

// The same into Kafka (librdkafka's mock cluster): the pending batch is settled against the
// partitions' high watermarks.
TEST_F(ImportEndToEnd, KafkaAnImportKilledWhileSendingFinishesOnTheNextRunWithEveryReadingOnce) {
  HRFLOW_START_OR_SKIP(kafka, hrflow::testing::KafkaInstance::start(2));
  write_config(fmt::format("  kafka:\n    bootstrap_servers: {}\n    assignment: all\n", kafka->bootstrap_servers()));
  for (const auto& s : std::vector<std::vector<std::string>>{{"oltp", "up"},
                                                             {"oltp", "generate", "--users", "5", "--as-of", "2025-01-01 00:00:00"}}) {
    step(s);
    if (HasFatalFailure()) return;
  }
  kill_while_sending_then_rerun();
}

TEST_F(ImportEndToEnd, FitbitAndOpenMHealthWithPseudonymsKeepNoLabelAnywhere) {
  for (const auto& s : std::vector<std::vector<std::string>>{{"oltp", "up"},
                                                             {"oltp", "generate", "--users", "5", "--as-of", "2025-01-01 00:00:00"}}) {
    step(s);
    if (HasFatalFailure()) return;
  }
  write_file(dir_.path() / "fitbit" / "heart_rate-2025-03-30.json",
             R"([{"dateTime":"03/30/25 01:59:00","value":{"bpm":58,"confidence":3}},)"
             R"({"dateTime":"03/30/25 03:01:00","value":{"bpm":59,"confidence":3}},)"
             R"({"dateTime":"03/30/25 03:02:00","value":{"bpm":999,"confidence":3}}])");
  write_file(dir_.path() / "omh.ndjson",
             R"({"header":{"schema_id":{"namespace":"omh","name":"heart-rate","version":"2.0"}},"body":{"heart_rate":{"value":61,"unit":"beats/min"},"effective_time_frame":{"date_time":"2025-03-10T07:00:00Z"}}})"
             "\n");
  ::setenv("HRFLOW_PSEUDONYM_KEY", "study-key-1", 1);
  auto fitbit = run({"import", "fitbit", (dir_.path() / "fitbit").string(), "--participant", "P018", "--timezone", "Europe/Oslo", "-q"});
  auto omh = run({"import", "omh", (dir_.path() / "omh.ndjson").string(), "--participant", "P019", "-q"});
  ::unsetenv("HRFLOW_PSEUDONYM_KEY");
  ASSERT_EQ(fitbit.exit_code, 0) << fitbit.output;
  ASSERT_EQ(omh.exit_code, 0) << omh.output;
  EXPECT_EQ(summary_count(fitbit.output, "readings imported"), 2u) << fitbit.output;
  EXPECT_EQ(summary_count(fitbit.output, "errors"), 1u) << fitbit.output;
  EXPECT_EQ(summary_count(omh.output, "readings imported"), 1u) << omh.output;
  EXPECT_EQ(fitbit.output.find("P018"), std::string::npos) << fitbit.output;
  EXPECT_NE(fitbit.output.find("participant        px-"), std::string::npos) << fitbit.output;
  // Without the key the label is a different participant: the pseudonym is all the database knows.
  auto plain = run({"import", "omh", (dir_.path() / "omh.ndjson").string(), "--participant", "P019", "-q"});
  ASSERT_EQ(plain.exit_code, 0) << plain.output;
  EXPECT_NE(plain.output.find("P019 = user 90003 (new user)"), std::string::npos) << plain.output;
  uint64_t duplicates = 0;
  auto in_stream = stream_readings("pseudonyms", &duplicates);
  // 30 March 2025: Oslo is at +01:00 until 02:00, then +02:00.
  const int64_t day = days_from_civil(2025, 3, 30) * 86400;
  EXPECT_EQ(in_stream[90001], (std::map<int64_t, int64_t>{{day + 59 * 60, 58}, {day + 3600 + 60, 59}}));
  EXPECT_EQ(in_stream[90002], (std::map<int64_t, int64_t>{{kT0, 61}}));
  EXPECT_EQ(in_stream[90003], (std::map<int64_t, int64_t>{{kT0, 61}}));

  // The simulator animates the generated users only, from the database and from an export of it.
  auto config = Config::load(config_path_, true);
  ASSERT_TRUE(config.ok());
  step({"oltp", "export", "--dir", (dir_.path() / "csv").string()});
  for (auto fleet : {oltp::load_fleet(*config), oltp::load_fleet_from_csv(dir_.path() / "csv")}) {
    ASSERT_TRUE(fleet.ok()) << fleet.error().message;
    EXPECT_EQ(fleet->users.size(), 5u);
    for (const auto& u : fleet->users) EXPECT_LT(u.user_id, 90001);
  }
}

}  // namespace
}  // namespace hrflow::import
