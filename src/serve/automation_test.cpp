#include <gtest/gtest.h>

#include "serve/automation.h"

namespace hrflow::serve {
namespace {

constexpr int64_t kSec = 1000, kMin = 60 * kSec, kHour = 60 * kMin;
constexpr int64_t kJan1 = 1704067200000;  // 2024-01-01 00:00 UTC, a Monday

AutomationPolicy eager() {
  AutomationPolicy p;
  p.eager = true;
  return p;
}

// lake -> raw.heart_rate_stream -> staging.stg_heart_rates -> serving.fct_heart_rates
std::vector<AssetSpec> chain(AutomationPolicy fct_policy = eager()) {
  return {
      {"lake", AssetGroup::kLake, {}, {}, true},
      {"raw.heart_rate_stream", AssetGroup::kRaw, {"lake"}, eager()},
      {"staging.stg_heart_rates", AssetGroup::kStaging, {"raw.heart_rate_stream"}, eager()},
      {"serving.fct_heart_rates", AssetGroup::kServing, {"staging.stg_heart_rates"}, fct_policy},
  };
}

std::vector<std::string> launched(const std::vector<Decision>& ds) {
  std::vector<std::string> out;
  for (const auto& d : ds) {
    if (d.launch) out.push_back(d.asset);
  }
  return out;
}

const Decision* skip_of(const std::vector<Decision>& ds, const std::string& asset) {
  for (const auto& d : ds) {
    if (!d.launch && d.asset == asset) return &d;
  }
  return nullptr;
}

using Names = std::vector<std::string>;

TEST(AutomationTest, EagerAssetWithoutUpstreamLoadsOnceThenWaitsForRequests) {
  ManualClock clock(kJan1);
  auto engine = AutomationEngine::create(
      {{"staging.country_codes", AssetGroup::kSeeds, {}, eager()},
       {"staging.stg_users", AssetGroup::kStaging, {"staging.country_codes"}, eager()}},
      clock);
  ASSERT_TRUE(engine.ok()) << engine.error().message;
  auto ds = engine->tick();
  ASSERT_EQ(launched(ds), Names{"staging.country_codes"});
  EXPECT_EQ(ds[0].reason, "never materialized");
  clock.advance_ms(kSec);
  engine->finished("staging.country_codes", RunOutcome::kSucceeded);
  EXPECT_EQ(launched(engine->tick()), Names{"staging.stg_users"});
  engine->finished("staging.stg_users", RunOutcome::kSucceeded);
  clock.advance_ms(kHour);
  EXPECT_EQ(launched(engine->tick()), Names{});  // loaded once; nothing upstream changes it
}

TEST(AutomationTest, EagerChainMaterializesDownstreamOneStepAtATime) {
  ManualClock clock(kJan1);
  auto engine = AutomationEngine::create(chain(), clock);
  ASSERT_TRUE(engine.ok()) << engine.error().message;
  auto first = engine->tick();  // the lake has no data: nothing to do, and each asset says why
  EXPECT_EQ(launched(first), Names{});
  ASSERT_NE(skip_of(first, "raw.heart_rate_stream"), nullptr);
  EXPECT_EQ(skip_of(first, "raw.heart_rate_stream")->reason, "never materialized, but upstream lake has no data yet");
  ASSERT_NE(skip_of(first, "staging.stg_heart_rates"), nullptr);
  EXPECT_EQ(skip_of(first, "staging.stg_heart_rates")->reason,
            "never materialized, but upstream raw.heart_rate_stream was never materialized");
  EXPECT_EQ(engine->status("raw.heart_rate_stream").state, AssetState::kNeverBuilt);

  clock.advance_ms(kSec);
  engine->observe_source("lake", clock.now_ms());
  auto ds = engine->tick();
  EXPECT_EQ(launched(ds), Names{"raw.heart_rate_stream"});
  EXPECT_EQ(ds[0].trigger, "eager");
  EXPECT_NE(ds[0].reason.find("upstream lake has new data"), std::string::npos) << ds[0].reason;
  EXPECT_EQ(launched(ds), Names{"raw.heart_rate_stream"});  // staging still waits for raw
  EXPECT_EQ(engine->status("raw.heart_rate_stream").state, AssetState::kRunning);
  // At most one run per asset: more data while it runs starts nothing new.
  engine->observe_source("lake", clock.now_ms());
  EXPECT_EQ(launched(engine->tick()), Names{});

  clock.advance_ms(2 * kSec);
  engine->finished("raw.heart_rate_stream", RunOutcome::kSucceeded);
  // The second lake version arrived during the run: raw runs again, and staging runs on the first
  // (queued behind it: a continuously fed lake must not starve the rest of the chain).
  EXPECT_EQ(launched(engine->tick()), (Names{"raw.heart_rate_stream", "staging.stg_heart_rates"}));
  // While they run, the fact table waits for staging and says so.
  EXPECT_EQ(engine->status("serving.fct_heart_rates").why,
            "waiting: upstream staging.stg_heart_rates is running");
  engine->finished("raw.heart_rate_stream", RunOutcome::kSucceeded);
  engine->finished("staging.stg_heart_rates", RunOutcome::kSucceeded);
  EXPECT_EQ(launched(engine->tick()), (Names{"staging.stg_heart_rates", "serving.fct_heart_rates"}));
  engine->finished("staging.stg_heart_rates", RunOutcome::kSucceeded);
  engine->finished("serving.fct_heart_rates", RunOutcome::kSucceeded);
  EXPECT_EQ(launched(engine->tick()), Names{"serving.fct_heart_rates"});
  engine->finished("serving.fct_heart_rates", RunOutcome::kSucceeded);
  EXPECT_EQ(launched(engine->tick()), Names{});
  for (const char* key : {"raw.heart_rate_stream", "staging.stg_heart_rates", "serving.fct_heart_rates"}) {
    EXPECT_EQ(engine->status(key).state, AssetState::kFresh) << key << ": " << engine->status(key).why;
  }
}

TEST(AutomationTest, ARunThatChangedNothingKeepsItsVersionAndDownstreamDoesNotRun) {
  ManualClock clock(kJan1);
  AutomationPolicy cdc = eager();  // as raw.users: polled every minute
  cdc.cron = *CronSchedule::parse("* * * * *");
  auto engine = AutomationEngine::create({{"raw.users", AssetGroup::kRaw, {}, cdc},
                                          {"staging.stg_users", AssetGroup::kStaging, {"raw.users"}, eager()},
                                          {"serving.dim_users", AssetGroup::kServing, {"staging.stg_users"}, eager()}},
                                         clock);
  ASSERT_TRUE(engine.ok()) << engine.error().message;
  // The first sync finds an empty table: still a version, so downstream builds on it.
  ASSERT_EQ(launched(engine->tick()), Names{"raw.users"});
  engine->finished("raw.users", RunOutcome::kSucceeded, std::nullopt, /*changed=*/false);
  ASSERT_EQ(launched(engine->tick()), Names{"staging.stg_users"});
  engine->finished("staging.stg_users", RunOutcome::kSucceeded);
  ASSERT_EQ(launched(engine->tick()), Names{"serving.dim_users"});
  engine->finished("serving.dim_users", RunOutcome::kSucceeded);

  // An hour of cron syncs that load nothing: no downstream run, and the reason is recorded once.
  int skips = 0;
  for (int minute = 0; minute < 60; ++minute) {
    clock.advance_ms(kMin);
    auto ds = engine->tick();
    ASSERT_EQ(launched(ds), Names{"raw.users"});
    EXPECT_EQ(ds[0].trigger, "cron");
    engine->finished("raw.users", RunOutcome::kSucceeded, std::nullopt, false);
    for (const auto& d : engine->tick()) {
      EXPECT_FALSE(d.launch) << d.asset << ": " << d.reason;
      if (d.asset == "staging.stg_users") {
        EXPECT_EQ(d.reason, "upstream raw.users ran, no new data (still version 1)");
        ++skips;
      }
    }
  }
  EXPECT_EQ(skips, 1);
  EXPECT_EQ(engine->status("staging.stg_users").state, AssetState::kFresh);
  EXPECT_NE(engine->status("raw.users").why.find("no new data"), std::string::npos) << engine->status("raw.users").why;

  // A sync that loads changes makes version 2; a model rebuilt identical keeps its version.
  clock.advance_ms(kMin);
  ASSERT_EQ(launched(engine->tick()), Names{"raw.users"});
  engine->finished("raw.users", RunOutcome::kSucceeded);
  ASSERT_EQ(launched(engine->tick()), Names{"staging.stg_users"});
  engine->finished("staging.stg_users", RunOutcome::kSucceeded, std::nullopt, false);
  for (const auto& d : engine->tick()) EXPECT_FALSE(d.launch) << d.asset;
  EXPECT_EQ(engine->status("serving.dim_users").state, AssetState::kFresh);

  // Kept across a restart: the restored engine starts nothing either.
  auto restored = AutomationEngine::create(engine->assets(), clock);
  ASSERT_TRUE(restored.ok());
  restored->restore(engine->snapshot());
  EXPECT_EQ(launched(restored->tick()), Names{});
}

TEST(AutomationTest, FailedTestsBlockDownstreamUntilFixed) {
  ManualClock clock(kJan1);
  auto engine = AutomationEngine::create(chain(), clock);
  ASSERT_TRUE(engine.ok());
  engine->observe_source("lake", clock.now_ms());
  EXPECT_EQ(launched(engine->tick()), Names{"raw.heart_rate_stream"});
  engine->finished("raw.heart_rate_stream", RunOutcome::kSucceeded);
  EXPECT_EQ(launched(engine->tick()), Names{"staging.stg_heart_rates"});
  engine->finished("staging.stg_heart_rates", RunOutcome::kTestsFailed,
                   invalid_argument("not_null_stg_heart_rates_user_id: 3 failing rows"));
  auto ds = engine->tick();
  EXPECT_EQ(launched(ds), Names{});
  auto* skip = skip_of(ds, "serving.fct_heart_rates");
  ASSERT_NE(skip, nullptr);
  EXPECT_NE(skip->reason.find("upstream staging.stg_heart_rates failed its tests: not_null_stg_heart_rates_user_id"),
            std::string::npos)
      << skip->reason;
  EXPECT_EQ(engine->status("staging.stg_heart_rates").state, AssetState::kTestsFailed);
  // The skip is recorded once, not on every tick.
  EXPECT_EQ(engine->tick().size(), 0u);

  // A manual rerun that passes unblocks the downstream.
  ASSERT_TRUE(engine->request("staging.stg_heart_rates", false).ok());
  EXPECT_EQ(launched(engine->tick()), Names{"staging.stg_heart_rates"});
  engine->finished("staging.stg_heart_rates", RunOutcome::kSucceeded);
  EXPECT_EQ(launched(engine->tick()), Names{"serving.fct_heart_rates"});
}

TEST(AutomationTest, RetriableFailuresRetryWithExponentialBackoff) {
  ManualClock clock(kJan1);
  auto engine = AutomationEngine::create(chain(), clock, RetryPolicy{3, 2 * kSec, 60 * kSec, [](int64_t ceiling) { return ceiling; }});
  ASSERT_TRUE(engine.ok());
  engine->observe_source("lake", clock.now_ms());
  EXPECT_EQ(launched(engine->tick()), Names{"raw.heart_rate_stream"});
  engine->finished("raw.heart_rate_stream", RunOutcome::kFailed, io_error("s3 503 Slow Down"));
  auto st = engine->status("raw.heart_rate_stream");
  EXPECT_EQ(st.state, AssetState::kFailed);
  EXPECT_NE(st.why.find("retry 2"), std::string::npos) << st.why;

  clock.advance_ms(2 * kSec - 1);
  EXPECT_EQ(launched(engine->tick()), Names{});  // backing off
  clock.advance_ms(1);
  auto ds = engine->tick();
  ASSERT_EQ(launched(ds), Names{"raw.heart_rate_stream"});
  EXPECT_EQ(ds[0].trigger, "retry");
  EXPECT_EQ(ds[0].attempt, 2);
  engine->finished("raw.heart_rate_stream", RunOutcome::kFailed, io_error("s3 503 Slow Down"));
  clock.advance_ms(4 * kSec - 1);  // the backoff doubled
  EXPECT_EQ(launched(engine->tick()), Names{});
  clock.advance_ms(1);
  ds = engine->tick();
  ASSERT_EQ(launched(ds), Names{"raw.heart_rate_stream"});
  EXPECT_EQ(ds[0].attempt, 3);
  engine->finished("raw.heart_rate_stream", RunOutcome::kFailed, io_error("s3 503 Slow Down"));
  // Attempts exhausted: failed, and not relaunched until the lake has new data.
  clock.advance_ms(kHour);
  EXPECT_EQ(launched(engine->tick()), Names{});
  EXPECT_EQ(engine->status("raw.heart_rate_stream").state, AssetState::kFailed);
  engine->observe_source("lake", clock.now_ms());
  EXPECT_EQ(launched(engine->tick()), Names{"raw.heart_rate_stream"});
}

TEST(AutomationTest, NonRetriableFailureIsNotRetried) {
  ManualClock clock(kJan1);
  auto engine = AutomationEngine::create(chain(), clock);
  ASSERT_TRUE(engine.ok());
  engine->observe_source("lake", clock.now_ms());
  EXPECT_EQ(launched(engine->tick()), Names{"raw.heart_rate_stream"});
  engine->finished("raw.heart_rate_stream", RunOutcome::kFailed, corrupt("lake file x.json:3: not JSON"));
  clock.advance_ms(kHour);
  EXPECT_EQ(launched(engine->tick()), Names{});
  EXPECT_EQ(engine->status("raw.heart_rate_stream").why, "lake file x.json:3: not JSON");
}

TEST(AutomationTest, CronTicksInLocalTimeAcrossDaylightSaving) {
  auto berlin = TimeZone::load("Europe/Berlin");
  ASSERT_TRUE(berlin.ok());
  AutomationPolicy nightly;
  nightly.cron = *CronSchedule::parse("30 2 * * *", *berlin);
  std::vector<AssetSpec> assets = {{"seeds.country_codes", AssetGroup::kSeeds, {}, nightly}};
  ManualClock clock(1711800000000);  // 2024-03-30 12:00 UTC, the day before the spring change
  auto engine = AutomationEngine::create(assets, clock);
  ASSERT_TRUE(engine.ok());
  EXPECT_EQ(launched(engine->tick()), Names{});
  clock.set_ms(1711848600000 - 1);  // 2024-03-31 01:29:59.999 UTC (02:30 CET does not exist)
  EXPECT_EQ(launched(engine->tick()), Names{});
  clock.set_ms(1711848600000);  // 03:30 CEST
  auto ds = engine->tick();
  ASSERT_EQ(launched(ds), Names{"seeds.country_codes"});
  EXPECT_EQ(ds[0].trigger, "cron");
  EXPECT_NE(ds[0].reason.find("cron '30 2 * * *' (Europe/Berlin) tick at 2024-03-31 01:30:00 UTC"), std::string::npos)
      << ds[0].reason;
  engine->finished("seeds.country_codes", RunOutcome::kSucceeded);
  EXPECT_EQ(launched(engine->tick()), Names{});
  // The next tick is 02:30 CEST = 00:30 UTC on April 1st.
  clock.set_ms(1711931400000 - 1);
  EXPECT_EQ(launched(engine->tick()), Names{});
  clock.set_ms(1711931400000);
  EXPECT_EQ(launched(engine->tick()), Names{"seeds.country_codes"});
}

TEST(AutomationTest, FreshnessDeadlineMaterializesJustInTime) {
  AutomationPolicy fresh;  // not eager: only the deadline drives it
  fresh.freshness = FreshnessPolicy{kMin, *CronSchedule::parse("30 2 * * *")};
  auto assets = chain(fresh);
  ManualClock clock(kJan1 + kHour);  // 01:00 UTC
  auto engine = AutomationEngine::create(assets, clock);
  ASSERT_TRUE(engine.ok());
  engine->observe_source("lake", clock.now_ms());
  for (const char* k : {"raw.heart_rate_stream", "staging.stg_heart_rates"}) {
    EXPECT_EQ(launched(engine->tick()), Names{k});
    engine->finished(k, RunOutcome::kSucceeded);
  }
  EXPECT_EQ(launched(engine->tick()), Names{});
  clock.set_ms(kJan1 + 2 * kHour + 29 * kMin - 1);  // before deadline - lag
  EXPECT_EQ(launched(engine->tick()), Names{});
  clock.set_ms(kJan1 + 2 * kHour + 29 * kMin);
  auto ds = engine->tick();
  ASSERT_EQ(launched(ds), Names{"serving.fct_heart_rates"});
  EXPECT_EQ(ds[0].trigger, "freshness");
  EXPECT_NE(ds[0].reason.find("freshness deadline 2024-01-01 02:30:00 UTC"), std::string::npos) << ds[0].reason;
  clock.advance_ms(10 * kSec);
  engine->finished("serving.fct_heart_rates", RunOutcome::kSucceeded);
  clock.set_ms(kJan1 + 2 * kHour + 31 * kMin);
  EXPECT_EQ(launched(engine->tick()), Names{});
  EXPECT_EQ(engine->status("serving.fct_heart_rates").state, AssetState::kFresh);
  // New data after the deadline waits for the next day's window.
  engine->observe_source("lake", clock.now_ms());
  for (const char* k : {"raw.heart_rate_stream", "staging.stg_heart_rates"}) {
    EXPECT_EQ(launched(engine->tick()), Names{k});
    engine->finished(k, RunOutcome::kSucceeded);
  }
  clock.set_ms(kJan1 + 24 * kHour + 2 * kHour);
  EXPECT_EQ(launched(engine->tick()), Names{});
  EXPECT_EQ(engine->status("serving.fct_heart_rates").state, AssetState::kFresh);
  clock.set_ms(kJan1 + 24 * kHour + 2 * kHour + 29 * kMin);
  EXPECT_EQ(launched(engine->tick()), Names{"serving.fct_heart_rates"});
}

TEST(AutomationTest, MissedDeadlineShowsStaleWithTheReason) {
  AutomationPolicy fresh;
  fresh.freshness = FreshnessPolicy{kMin, *CronSchedule::parse("30 2 * * *")};
  ManualClock clock(kJan1 + kHour);
  auto engine = AutomationEngine::create(chain(fresh), clock);
  ASSERT_TRUE(engine.ok());
  engine->observe_source("lake", clock.now_ms());
  for (const char* k : {"raw.heart_rate_stream", "staging.stg_heart_rates"}) {
    ASSERT_EQ(launched(engine->tick()), Names{k});
    engine->finished(k, RunOutcome::kSucceeded);
  }
  ASSERT_TRUE(engine->request("serving.fct_heart_rates", false).ok());
  ASSERT_EQ(launched(engine->tick()), Names{"serving.fct_heart_rates"});
  engine->finished("serving.fct_heart_rates", RunOutcome::kSucceeded);
  // New data at 01:10; staging fails its tests on it, so the fact table cannot catch up by 02:30.
  clock.advance_ms(10 * kMin);
  engine->observe_source("lake", clock.now_ms());
  ASSERT_EQ(launched(engine->tick()), Names{"raw.heart_rate_stream"});
  engine->finished("raw.heart_rate_stream", RunOutcome::kSucceeded);
  ASSERT_EQ(launched(engine->tick()), Names{"staging.stg_heart_rates"});
  engine->finished("staging.stg_heart_rates", RunOutcome::kTestsFailed, invalid_argument("unique: 2 duplicates"));
  clock.set_ms(kJan1 + 2 * kHour + 29 * kMin);
  auto ds = engine->tick();
  EXPECT_EQ(launched(ds), Names{});
  ASSERT_NE(skip_of(ds, "serving.fct_heart_rates"), nullptr);
  EXPECT_EQ(skip_of(ds, "serving.fct_heart_rates")->trigger, "freshness");
  EXPECT_EQ(engine->status("serving.fct_heart_rates").state, AssetState::kFresh);  // not due yet
  clock.set_ms(kJan1 + 2 * kHour + 31 * kMin);
  auto st = engine->status("serving.fct_heart_rates");
  EXPECT_EQ(st.state, AssetState::kStale);
  EXPECT_NE(st.why.find("missed the freshness deadline 2024-01-01 02:30:00 UTC"), std::string::npos) << st.why;
}

TEST(AutomationTest, ContinuousFreshnessRunsWhenLagReachesTheMaximum) {
  AutomationPolicy fresh;
  fresh.freshness = FreshnessPolicy{kMin, std::nullopt};
  ManualClock clock(kJan1);
  auto engine = AutomationEngine::create(chain(fresh), clock);
  ASSERT_TRUE(engine.ok());
  engine->observe_source("lake", clock.now_ms());
  for (const char* k : {"raw.heart_rate_stream", "staging.stg_heart_rates"}) {
    ASSERT_EQ(launched(engine->tick()), Names{k});
    engine->finished(k, RunOutcome::kSucceeded);
  }
  clock.advance_ms(30 * kSec);
  EXPECT_EQ(launched(engine->tick()), Names{});
  EXPECT_EQ(engine->status("serving.fct_heart_rates").state, AssetState::kNeverBuilt);
  clock.advance_ms(30 * kSec);  // the lag is measured from the lake data's arrival, through the chain
  EXPECT_EQ(launched(engine->tick()), Names{"serving.fct_heart_rates"});
  engine->finished("serving.fct_heart_rates", RunOutcome::kSucceeded);
  engine->observe_source("lake", clock.now_ms());
  for (const char* k : {"raw.heart_rate_stream", "staging.stg_heart_rates"}) {
    ASSERT_EQ(launched(engine->tick()), Names{k});
    engine->finished(k, RunOutcome::kSucceeded);
  }
  clock.advance_ms(45 * kSec);
  EXPECT_EQ(engine->status("serving.fct_heart_rates").state, AssetState::kFresh);
  clock.advance_ms(20 * kSec);
  EXPECT_EQ(engine->status("serving.fct_heart_rates").state, AssetState::kStale);
  EXPECT_NE(engine->status("serving.fct_heart_rates").why.find("exceeds the maximum of 1m"), std::string::npos);
}

TEST(AutomationTest, ManualRequestWithUpstreamRunsInGraphOrder) {
  AutomationPolicy manual;
  std::vector<AssetSpec> assets = {
      {"lake", AssetGroup::kLake, {}, {}, true},
      {"raw.heart_rate_stream", AssetGroup::kRaw, {"lake"}, manual},
      {"staging.stg_heart_rates", AssetGroup::kStaging, {"raw.heart_rate_stream"}, manual},
      {"serving.fct_heart_rates", AssetGroup::kServing, {"staging.stg_heart_rates"}, manual},
  };
  ManualClock clock(kJan1);
  auto engine = AutomationEngine::create(assets, clock);
  ASSERT_TRUE(engine.ok());
  auto planned = engine->request("serving.fct_heart_rates", true);
  ASSERT_TRUE(planned.ok());
  EXPECT_EQ(*planned, (Names{"raw.heart_rate_stream", "staging.stg_heart_rates", "serving.fct_heart_rates"}));
  EXPECT_FALSE(engine->request("lake", false).ok());
  EXPECT_FALSE(engine->request("nope", false).ok());
  for (const char* k : {"raw.heart_rate_stream", "staging.stg_heart_rates", "serving.fct_heart_rates"}) {
    auto ds = engine->tick();
    ASSERT_EQ(launched(ds), Names{k});
    EXPECT_EQ(ds[0].trigger, "manual");
    engine->finished(k, RunOutcome::kSucceeded);
  }
  // A failure in the middle skips the rest of the request.
  ASSERT_TRUE(engine->request("serving.fct_heart_rates", true).ok());
  ASSERT_EQ(launched(engine->tick()), Names{"raw.heart_rate_stream"});
  engine->finished("raw.heart_rate_stream", RunOutcome::kFailed, corrupt("bad file"));
  auto ds = engine->tick();
  EXPECT_EQ(launched(ds), Names{});
  ASSERT_NE(skip_of(ds, "staging.stg_heart_rates"), nullptr);
  EXPECT_NE(skip_of(ds, "staging.stg_heart_rates")->reason.find("upstream raw.heart_rate_stream failed: bad file"),
            std::string::npos);
}

TEST(AutomationTest, SnapshotRestoresStateAndInterruptedRunsAreRetried) {
  ManualClock clock(kJan1);
  nlohmann::json saved;
  {
    auto engine = AutomationEngine::create(chain(), clock);
    ASSERT_TRUE(engine.ok());
    engine->observe_source("lake", clock.now_ms());
    ASSERT_EQ(launched(engine->tick()), Names{"raw.heart_rate_stream"});
    engine->finished("raw.heart_rate_stream", RunOutcome::kSucceeded);
    ASSERT_EQ(launched(engine->tick()), Names{"staging.stg_heart_rates"});
    saved = engine->snapshot();  // the process dies while staging runs
  }
  clock.advance_ms(kMin);
  auto engine = AutomationEngine::create(chain(), clock);
  ASSERT_TRUE(engine.ok());
  engine->restore(saved);
  EXPECT_EQ(engine->status("raw.heart_rate_stream").state, AssetState::kFresh);
  engine->interrupted("staging.stg_heart_rates");
  EXPECT_EQ(engine->status("staging.stg_heart_rates").state, AssetState::kFailed);
  auto ds = engine->tick();
  ASSERT_EQ(launched(ds), Names{"staging.stg_heart_rates"});
  EXPECT_EQ(ds[0].trigger, "retry");
  EXPECT_NE(ds[0].reason.find("interrupted"), std::string::npos);
  engine->finished("staging.stg_heart_rates", RunOutcome::kSucceeded);
  EXPECT_EQ(launched(engine->tick()), Names{"serving.fct_heart_rates"});
}

TEST(AutomationTest, PoliciesFromModelMeta) {
  auto p = AutomationPolicy::from_meta(nlohmann::json::parse(
      R"({"condition": "eager", "freshness": {"maximum_lag": "1m", "cron_deadline": "30 2 * * *", "timezone": "UTC"}})"));
  ASSERT_TRUE(p.ok()) << p.error().message;
  EXPECT_TRUE(p->eager);
  ASSERT_TRUE(p->freshness);
  EXPECT_EQ(p->freshness->maximum_lag_ms, kMin);
  EXPECT_EQ(p->describe(), "eager; freshness: at most 1m behind by '30 2 * * *' UTC");
  EXPECT_FALSE(AutomationPolicy::from_meta(nlohmann::json::parse(R"({"condition": "sometimes"})")).ok());
  EXPECT_FALSE(AutomationPolicy::from_meta(nlohmann::json::parse(R"({"condition": "cron", "cron": "* *"})")).ok());
  auto unknown = AutomationEngine::create({{"a", AssetGroup::kRaw, {"b"}, {}}}, SystemClock::instance());
  EXPECT_FALSE(unknown.ok());
  auto cycle = AutomationEngine::create({{"a", AssetGroup::kRaw, {"b"}, {}}, {"b", AssetGroup::kRaw, {"a"}, {}}},
                                        SystemClock::instance());
  ASSERT_FALSE(cycle.ok());
  EXPECT_NE(cycle.error().message.find("cycle"), std::string::npos);
}

}  // namespace
}  // namespace hrflow::serve
