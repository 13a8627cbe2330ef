#include <gtest/gtest.h>

#include <fstream>

#include "serve/history.h"
#include "support/fixtures.h"

namespace hrflow::serve {
namespace {

constexpr int64_t kDay = 86'400'000;
constexpr int64_t kT0 = 1704067200000;

Decision launch_of(const std::string& asset, int64_t at) { return Decision{at, asset, true, "eager", "upstream lake has new data", 1}; }

TEST(RunHistoryTest, RunsAndDecisionsSurviveAReopen) {
  testing::TempDir dir;
  {
    auto h = RunHistory::open(dir.path(), kT0, 30 * kDay);
    ASSERT_TRUE(h.ok()) << h.error().message;
    auto id = (*h)->start_run(launch_of("raw.heart_rate_stream", kT0));
    ASSERT_TRUE(id.ok());
    (*h)->append_log(*id, "loaded 3 files");
    ASSERT_TRUE((*h)->end_run(*id, RunOutcome::kSucceeded, kT0 + 1500, 1234, "", "").ok());
    ASSERT_TRUE((*h)->record_decisions({launch_of("raw.heart_rate_stream", kT0),
                                        Decision{kT0, "staging.stg_heart_rates", false, "eager", "upstream raw is running", 0}})
                    .ok());
    ASSERT_TRUE((*h)->save_automation({{"raw.heart_rate_stream", {{"version", 3}}}}).ok());
  }
  auto h = RunHistory::open(dir.path(), kT0 + 1000, 30 * kDay);
  ASSERT_TRUE(h.ok());
  EXPECT_TRUE((*h)->interrupted().empty());
  auto runs = (*h)->runs(10);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].asset, "raw.heart_rate_stream");
  EXPECT_EQ(runs[0].outcome, "succeeded");
  EXPECT_EQ(runs[0].rows, 1234);
  EXPECT_EQ(*runs[0].ended_ms - runs[0].started_ms, 1500);
  EXPECT_EQ(runs[0].log, "loaded 3 files\n");
  auto ds = (*h)->decisions(10);
  ASSERT_EQ(ds.size(), 2u);
  EXPECT_EQ(ds[0].reason, "upstream raw is running");  // newest first
  EXPECT_EQ((*(*h)->load_automation())["raw.heart_rate_stream"]["version"], 3);
  // New runs continue the numbering.
  auto id = (*h)->start_run(launch_of("raw.users", kT0 + 2000));
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(*id, 2);
}

TEST(RunHistoryTest, ARunWithoutAnEndWasInterruptedAndATornLineIsIgnored) {
  testing::TempDir dir;
  {
    auto h = RunHistory::open(dir.path(), kT0, 30 * kDay);
    ASSERT_TRUE(h.ok());
    ASSERT_TRUE((*h)->start_run(launch_of("serving.fct_heart_rates", kT0)).ok());
  }
  // The process died in the middle of writing the next line.
  std::ofstream(dir.path() / "runs.jsonl", std::ios::app) << R"({"type":"end","id":1,"outc)";
  auto h = RunHistory::open(dir.path(), kT0 + 5000, 30 * kDay);
  ASSERT_TRUE(h.ok()) << h.error().message;
  ASSERT_EQ((*h)->interrupted().size(), 1u);
  EXPECT_EQ((*h)->interrupted()[0].asset, "serving.fct_heart_rates");
  auto runs = (*h)->runs(10);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0].outcome, "interrupted");
  // Recorded for good: a second reopen does not report it again.
  auto again = RunHistory::open(dir.path(), kT0 + 6000, 30 * kDay);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE((*again)->interrupted().empty());
  EXPECT_EQ((*again)->runs(10)[0].outcome, "interrupted");
}

TEST(RunHistoryTest, RetentionDropsOldEntries) {
  testing::TempDir dir;
  {
    auto h = RunHistory::open(dir.path(), kT0, 7 * kDay);
    ASSERT_TRUE(h.ok());
    for (int64_t day : {0, 5, 9}) {
      auto id = (*h)->start_run(launch_of("raw.users", kT0 + day * kDay));
      ASSERT_TRUE(id.ok());
      ASSERT_TRUE((*h)->end_run(*id, RunOutcome::kSucceeded, kT0 + day * kDay + 10, 1, "", "").ok());
      ASSERT_TRUE((*h)->record_decisions({launch_of("raw.users", kT0 + day * kDay)}).ok());
    }
  }
  auto h = RunHistory::open(dir.path(), kT0 + 10 * kDay, 7 * kDay);
  ASSERT_TRUE(h.ok());
  auto runs = (*h)->runs(10);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[1].started_ms, kT0 + 5 * kDay);
  EXPECT_EQ((*h)->decisions(10).size(), 2u);
}

}  // namespace
}  // namespace hrflow::serve
