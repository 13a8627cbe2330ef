// `hrflow produce` as a user runs it: a backfill lands every reading in the local log, keyed and
// placed by user id, with the ground truth next to it; a backfill killed with kill -9 and run again
// ends with exactly the readings of an uninterrupted run; live mode stops cleanly on Ctrl-C; bad
// arguments fail with a clear message.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <fstream>
#include <functional>
#include <set>
#include <tuple>

#include "common/civil_time.h"
#include "common/clock.h"
#include "common/config.h"
#include "stream/log.h"
#include "stream/stream.h"
#include "support/fixtures.h"

namespace hrflow {
namespace {

using testing::TempDir;

Config config_in(const TempDir& dir) {
  auto c = Config::parse(fmt::format("state_dir: {}/.hrflow\n", dir.path().string()), "test");
  EXPECT_TRUE(c.ok());
  return *c;
}

std::vector<stream::Record> read_all(const Config& config) {
  auto consumer = stream::open_consumer(config, "produce-test");
  EXPECT_TRUE(consumer.ok()) << (consumer.ok() ? "" : consumer.error().message);
  std::vector<stream::Record> all;
  if (!consumer.ok()) return all;
  for (;;) {
    auto batch = (*consumer)->poll(100000, 200);
    EXPECT_TRUE(batch.ok());
    if (!batch.ok() || batch->empty()) break;
    all.insert(all.end(), batch->begin(), batch->end());
  }
  return all;
}

TEST(Produce, BackfillPutsEveryReadingInTheLocalLogWithTheGroundTruthNextToIt) {
  TempDir dir;
  auto out = testing::run_hrflow({"produce", "--users", "sample:25", "--from", "2025-03-03", "--to", "2025-03-05", "--quiet"},
                                 dir.path());
  ASSERT_EQ(out.exit_code, 0) << out.output;
  uint64_t reported = 0;
  ASSERT_EQ(std::sscanf(out.output.c_str(), "produced %lu events", &reported), 1) << out.output;
  auto config = config_in(dir);
  auto records = read_all(config);
  const int64_t finished_ms = SystemClock::instance().now_ms();
  ASSERT_EQ(records.size(), reported);
  ASSERT_GT(reported, 25u * 2 * 200);
  std::set<std::string> users;
  std::map<int32_t, int64_t> last_ts;
  for (const auto& r : records) {
    auto j = nlohmann::json::parse(r.value);
    ASSERT_EQ(std::to_string(j["user_id"].get<int64_t>()), r.key);
    ASSERT_EQ(r.partition, stream::partition_for_key(r.key, 6));
    // A backfill stamps records with the time they were produced (retention must not delete them at once).
    ASSERT_LE(r.timestamp_ms, finished_ms);
    ASSERT_GT(r.timestamp_ms, finished_ms - 600000);
    const int64_t event_ts = j["timestamp"].get<int64_t>();
    ASSERT_GE(event_ts, last_ts[r.partition]) << "each partition is in event-time order";
    last_ts[r.partition] = event_ts;
    users.insert(r.key);
  }
  EXPECT_EQ(users.size(), 25u);
  std::ifstream in(dir.path() / ".hrflow" / "ground-truth.json");
  ASSERT_TRUE(in.good());
  auto truth = nlohmann::json::parse(in);
  EXPECT_EQ(truth["readings"].get<uint64_t>(), reported);
  EXPECT_EQ(truth["users"].get<int>(), 25);
}

// Every reading in the log as (user, timestamp, hash of the record), sorted: compact enough for a
// few million records, and equal only when the same readings with the same content are there.
using Reading = std::tuple<std::string, int64_t, size_t>;
std::vector<Reading> readings_in_log(const Config& config) {
  std::vector<Reading> out;
  auto consumer = stream::open_consumer(config, "produce-test");
  EXPECT_TRUE(consumer.ok()) << (consumer.ok() ? "" : consumer.error().message);
  if (!consumer.ok()) return out;
  for (;;) {
    auto batch = (*consumer)->poll(100000, 200);
    EXPECT_TRUE(batch.ok());
    if (!batch.ok() || batch->empty()) break;
    for (const auto& r : *batch) {
      out.emplace_back(r.key, nlohmann::json::parse(r.value)["timestamp"].get<int64_t>(),
                       std::hash<std::string>{}(r.value));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Records acknowledged into the local log so far (every partition's end offset).
int64_t records_in_log(const Config& config) {
  auto options = stream::LogOptions::from_config(config);
  int64_t total = 0;
  for (int32_t p = 0; p < options.partitions; ++p) {
    stream::PartitionReader reader(options.dir, p);
    auto end = reader.end_offset();
    if (end.ok()) total += *end;
  }
  return total;
}

uint64_t truth_readings(const TempDir& dir) {
  std::ifstream in(dir.path() / ".hrflow" / "ground-truth.json");
  EXPECT_TRUE(in.good());
  if (!in.good()) return 0;
  return nlohmann::json::parse(in)["readings"].get<uint64_t>();
}

TEST(Produce, BackfillKilledMidRunAndRestartedEndsWithExactlyTheReadingsOfOneRun) {
  const std::vector<std::string> args = {"produce", "--users", "sample:100", "--from", "2025-03-01", "--to",
                                         "2025-03-21", "--quiet"};
  TempDir crashed;
  auto crashed_config = config_in(crashed);
  {
    std::string command = fmt::format("cd '{}' && exec '{}'", crashed.path().string(), testing::hrflow_bin());
    for (const auto& a : args) command += " " + a;
    auto p = Subprocess::start({"/bin/sh", "-c", command}, (crashed.path() / "first.log").string());
    ASSERT_TRUE(p.ok());
    ASSERT_TRUE(testing::wait_until([&] { return records_in_log(crashed_config) >= 100000; }, std::chrono::seconds(60)));
    ASSERT_EQ(p->stop(SIGKILL), 128 + SIGKILL) << "the backfill finished before it could be killed: make it longer";
  }
  const int64_t before_restart = records_in_log(crashed_config);
  auto resumed = testing::run_hrflow(args, crashed.path());
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  EXPECT_NE(resumed.output.find("resuming after the newest reading already in the stream: 6 partitions"),
            std::string::npos) << resumed.output;

  TempDir fresh;
  auto once = testing::run_hrflow(args, fresh.path());
  ASSERT_EQ(once.exit_code, 0) << once.output;
  auto expected = readings_in_log(config_in(fresh));
  auto got = readings_in_log(crashed_config);
  ASSERT_LT(before_restart, static_cast<int64_t>(expected.size())) << "killed mid-run";

  std::set<std::pair<std::string, int64_t>> seen;
  size_t duplicates = 0;
  for (const auto& [user, ts, hash] : got) duplicates += seen.emplace(user, ts).second ? 0 : 1;
  EXPECT_EQ(duplicates, 0u) << "no (user, timestamp) reading twice";
  EXPECT_EQ(got.size(), expected.size());
  EXPECT_TRUE(got == expected) << "the same readings, with the same content, as one uninterrupted run";
  EXPECT_EQ(truth_readings(crashed), expected.size()) << "the ground truth covers the whole period";
  EXPECT_EQ(truth_readings(fresh), expected.size());
}

TEST(Produce, RunningACompletedBackfillAgainAddsNothingUnlessAskedTo) {
  TempDir dir;
  const std::vector<std::string> args = {"produce", "--users", "sample:20", "--from", "2025-03-03", "--to",
                                         "2025-03-05", "--quiet"};
  auto first = testing::run_hrflow(args, dir.path());
  ASSERT_EQ(first.exit_code, 0) << first.output;
  auto config = config_in(dir);
  auto all = readings_in_log(config);
  ASSERT_GT(all.size(), 1000u);

  auto again = testing::run_hrflow(args, dir.path());
  ASSERT_EQ(again.exit_code, 0) << again.output;
  EXPECT_NE(again.output.find("produced 0 events"), std::string::npos) << again.output;
  EXPECT_NE(again.output.find("already held every reading of this period"), std::string::npos) << again.output;
  EXPECT_TRUE(readings_in_log(config) == all);
  EXPECT_EQ(truth_readings(dir), all.size());

  auto with_flag = args;
  with_flag.push_back("--no-resume");
  auto forced = testing::run_hrflow(with_flag, dir.path());
  ASSERT_EQ(forced.exit_code, 0) << forced.output;
  EXPECT_EQ(forced.output.find("resuming"), std::string::npos) << forced.output;
  EXPECT_EQ(readings_in_log(config).size(), 2 * all.size()) << "--no-resume writes every reading again";
}

TEST(Produce, LiveStopsCleanlyOnCtrlCWithEverythingSentReadable) {
  TempDir dir;
  auto p = Subprocess::start({"/bin/sh", "-c",
                              fmt::format("cd '{}' && exec '{}' produce --live --speed 7200 --users sample:30 --quiet",
                                          dir.path().string(), testing::hrflow_bin())},
                             (dir.path() / "produce.log").string());
  ASSERT_TRUE(p.ok());
  auto config = config_in(dir);
  // Wait until live readings were flushed into the log (the producer flushes about once a second).
  ASSERT_TRUE(testing::wait_until(
      [&] {
        std::error_code ec;
        for (auto& f : std::filesystem::recursive_directory_iterator(dir.path() / ".hrflow" / "stream", ec)) {
          if (f.is_regular_file() && f.path().extension() == ".log" && f.file_size() > 4096) return true;
        }
        return false;
      },
      std::chrono::seconds(20)));
  int status = p->stop(SIGINT, 10000);
  std::ifstream log(dir.path() / "produce.log");
  std::string text((std::istreambuf_iterator<char>(log)), {});
  EXPECT_EQ(status, 0) << text;
  uint64_t reported = 0;
  auto pos = text.find("produced ");
  ASSERT_NE(pos, std::string::npos) << text;
  ASSERT_EQ(std::sscanf(text.c_str() + pos, "produced %lu events", &reported), 1);
  EXPECT_GT(reported, 0u);
  EXPECT_EQ(read_all(config).size(), reported);
}

TEST(Produce, BadArgumentsFailWithAClearMessage) {
  TempDir dir;
  auto reversed = testing::run_hrflow({"produce", "--users", "sample:5", "--from", "2026-01-01", "--to", "2025-01-01"}, dir.path());
  EXPECT_NE(reversed.exit_code, 0);
  EXPECT_NE(reversed.output.find("is not before --to"), std::string::npos) << reversed.output;
  auto unknown = testing::run_hrflow({"produce", "--users", "mysql:x", "--from", "2025-01-01", "--to", "2025-01-02"}, dir.path());
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.output.find("unknown user source 'mysql:x'"), std::string::npos) << unknown.output;
  auto bad_date = testing::run_hrflow({"produce", "--users", "sample:5", "--from", "2025-13-01", "--to", "2026-01-01"}, dir.path());
  EXPECT_NE(bad_date.exit_code, 0);
  EXPECT_NE(bad_date.output.find("--from"), std::string::npos) << bad_date.output;
  auto missing_csv = testing::run_hrflow({"produce", "--users-csv", (dir.path() / "nope").string(), "--from", "2025-01-01",
                                          "--to", "2025-01-02"}, dir.path());
  EXPECT_NE(missing_csv.exit_code, 0);
  EXPECT_NE(missing_csv.output.find("nope"), std::string::npos) << missing_csv.output;
  auto no_to = testing::run_hrflow({"produce", "--users", "sample:5", "--from", "2025-01-01"}, dir.path());
  EXPECT_NE(no_to.exit_code, 0);
  EXPECT_NE(no_to.output.find("--to"), std::string::npos) << no_to.output;
}

// `hrflow oltp generate` makes every account start at its --as-of time (default: now). A backfill of
// an earlier period then has nothing to send: it fails, naming the accounts' start and the fix, and
// the fix works.
TEST(Produce, APeriodInWhichNoUserHasAnAccountIsAnErrorThatNamesTheFix) {
  TempDir dir;
  std::ofstream(dir.path() / "hrflow.yml") << "oltp:\n  port: " << testing::free_port() << "\n";
  struct StopOltp {
    const TempDir& dir;
    ~StopOltp() { testing::run_hrflow({"oltp", "down"}, dir.path()); }
  } stop_oltp{dir};
  auto generated = testing::run_hrflow({"oltp", "generate", "--users", "5"}, dir.path());
  ASSERT_EQ(generated.exit_code, 0) << generated.output;
  const int64_t now = SystemClock::instance().now_ms() / 1000;
  const std::string from = format_utc(now - 60 * 86400).substr(0, 10), to = format_utc(now - 59 * 86400).substr(0, 10);
  const std::string day_before = format_utc(now - 61 * 86400).substr(0, 10);
  auto out = testing::run_hrflow({"produce", "--from", from, "--to", to}, dir.path());
  EXPECT_NE(out.exit_code, 0) << out.output;
  EXPECT_NE(out.output.find("none of the 5 users of 'oltp' has an account in the period " + from), std::string::npos)
      << out.output;
  EXPECT_NE(out.output.find("the first account starts at " + format_utc(now).substr(0, 10)), std::string::npos) << out.output;
  EXPECT_NE(out.output.find("`hrflow oltp generate --as-of " + day_before + "`"), std::string::npos) << out.output;
  EXPECT_EQ(out.output.find("produced 0 events"), std::string::npos) << out.output;

  auto again = testing::run_hrflow({"oltp", "generate", "--users", "5", "--replace", "--as-of", day_before}, dir.path());
  ASSERT_EQ(again.exit_code, 0) << again.output;
  auto fixed = testing::run_hrflow({"produce", "--from", from, "--to", to, "--quiet"}, dir.path());
  ASSERT_EQ(fixed.exit_code, 0) << fixed.output;
  unsigned long long n = 0;
  auto at = fixed.output.find("produced ");
  ASSERT_NE(at, std::string::npos) << fixed.output;
  ASSERT_EQ(std::sscanf(fixed.output.c_str() + at, "produced %llu events", &n), 1) << fixed.output;
  EXPECT_GT(n, 0u);
}

// Whatever the reason a run sends no event, it says so: no reading in a period of seconds, every
// reading already in the stream; and a user source whose accounts all start later is an error.
TEST(Produce, ARunThatSendsNothingSaysWhy) {
  TempDir dir;
  auto quiet_second = testing::run_hrflow(
      {"produce", "--users", "sample:1", "--from", "2025-03-03T12:00:00", "--to", "2025-03-03T12:00:01", "--quiet"}, dir.path());
  EXPECT_EQ(quiet_second.exit_code, 0) << quiet_second.output;
  EXPECT_NE(quiet_second.output.find("produced 0 events"), std::string::npos) << quiet_second.output;
  EXPECT_NE(quiet_second.output.find("produce: no reading falls in this period: 1 user has an account in it"),
            std::string::npos)
      << quiet_second.output;

  const std::vector<std::string> day = {"produce", "--users", "sample:2", "--from", "2025-03-03", "--to", "2025-03-04", "--quiet"};
  ASSERT_EQ(testing::run_hrflow(day, dir.path()).exit_code, 0);
  auto repeated = testing::run_hrflow(day, dir.path());
  EXPECT_EQ(repeated.exit_code, 0) << repeated.output;
  EXPECT_NE(repeated.output.find("produce: the stream already held every reading of this period"), std::string::npos)
      << repeated.output;

  auto before = testing::run_hrflow({"produce", "--users", "sample:3", "--from", "2014-01-01", "--to", "2014-01-02"}, dir.path());
  EXPECT_NE(before.exit_code, 0) << before.output;
  EXPECT_NE(before.output.find("none of the 3 users of 'sample:3' has an account in the period"), std::string::npos)
      << before.output;
  EXPECT_NE(before.output.find("produce a period from 2015-01-01 on"), std::string::npos) << before.output;
}

}  // namespace
}  // namespace hrflow
