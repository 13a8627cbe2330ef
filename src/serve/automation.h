// The automation engine of `hrflow serve`: decides, from the asset graph, each asset's automation
// policy and what has happened so far, which assets to materialize now — and records why, and why not.
// It runs nothing itself: the caller launches the runs tick() asks for and reports their ends with
// finished(). Time comes from an injected Clock, so every rule is tested on a ManualClock.
//
// Rules (Dagster's auto-materialize semantics, adapted):
//   eager      materialize when an upstream has new data (or the asset was never built and every
//              upstream exists); not while an upstream is running, missing, failed or failing tests.
//   cron       materialize at each tick of a 5-field cron schedule in a time zone.
//   freshness  keep the asset at most `maximum_lag` behind the newest upstream data: continuously, or,
//              with a cron deadline, so that at each deadline it holds everything up to deadline - lag.
//   manual     request(): the asset, optionally with its upstream first (in graph order).
// At most one run per asset. Retriable failures are retried with exponential backoff; a failed or
// test-failing asset blocks its downstream until it succeeds again (like `hrflow build`).
//
// Data versions (Dagster's): every successful run that changed the asset makes a new version of it,
// stamped with the arrival time of the oldest source data it newly includes; a run that changed
// nothing (a sync that loaded 0 rows, a table rebuilt identical) keeps the version, so downstream does
// not run ("upstream ran, no new data"). Source assets (the lake) get versions from observe_source().
// An asset's lag is now - the arrival time of the oldest upstream data it lacks.
//
// Thread-safety: not thread-safe; the owner (serve::Scheduler) serialises calls under one mutex.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/backoff.h"
#include "common/clock.h"
#include "common/status.h"
#include "serve/cron.h"

namespace hrflow::serve {

// Groups of the asset graph, left to right in the UI.
enum class AssetGroup { kLake, kRaw, kSeeds, kStaging, kServing };
const char* group_name(AssetGroup group);

struct FreshnessPolicy {
  int64_t maximum_lag_ms = 0;
  std::optional<CronSchedule> deadline;  // "30 2 * * *" in its time zone
};

struct AutomationPolicy {
  bool eager = false;
  std::optional<CronSchedule> cron;
  std::optional<FreshnessPolicy> freshness;
  // Read `meta.automation` of a model: {condition: eager|cron|manual, cron: "...", timezone: ..,
  // freshness: {maximum_lag: 1m, cron_deadline: "30 2 * * *", timezone: UTC}}.
  static Result<AutomationPolicy> from_meta(const nlohmann::json& automation);
  std::string describe() const;  // "eager; freshness ≤ 1m by 30 2 * * * UTC"
};

struct AssetSpec {
  std::string key;  // "lake", "raw.heart_rate_stream", "serving.fct_heart_rates"
  AssetGroup group = AssetGroup::kServing;
  std::vector<std::string> deps;
  AutomationPolicy policy;
  bool source = false;  // observed (fed by a service), never launched
  std::string description;
};

// Retries wait Backoff's full-jitter schedule (common/backoff.h): attempt n+1 after a random time up
// to initial * 2^(n-1), capped.
struct RetryPolicy {
  int max_attempts = 4;  // first try included
  int64_t initial_backoff_ms = 2'000;
  int64_t max_backoff_ms = 60'000;
  Backoff::Jitter jitter;  // empty: uniform (tests pin it)
};

enum class RunOutcome { kSucceeded, kFailed, kTestsFailed, kInterrupted, kSkipped };
const char* outcome_name(RunOutcome outcome);

// What tick()/request() decided for one asset.
struct Decision {
  int64_t at_ms = 0;
  std::string asset;
  bool launch = false;  // false: skipped (reason says why)
  std::string trigger;  // eager, cron, freshness, retry, manual
  std::string reason;
  int attempt = 1;
};

enum class AssetState { kNeverBuilt, kFresh, kStale, kRunning, kFailed, kTestsFailed };
const char* state_name(AssetState state);

struct AssetStatus {
  AssetState state = AssetState::kNeverBuilt;
  std::string why;
  int64_t last_success_ms = 0;   // end of the last successful run (0 = never)
  int64_t lag_ms = 0;            // 0 when nothing upstream is missing
  std::optional<int64_t> next_cron_ms, next_deadline_ms;
};

class AutomationEngine {
 public:
  // Fails when a dependency names an unknown asset or the graph has a cycle.
  static Result<AutomationEngine> create(std::vector<AssetSpec> assets, const Clock& clock,
                                         RetryPolicy retry = {});

  // A source asset (the lake) has new data that arrived at `data_time_ms`.
  void observe_source(const std::string& key, int64_t data_time_ms);
  // Arrival time of the newest data of `key`'s current version (nullopt: never materialized).
  std::optional<int64_t> newest_data_time(const std::string& key) const;
  // `key` was materialized by a command outside the automation (`hrflow build` while serve was not
  // running): as a run launched now that read the current upstream versions and just ended.
  void materialized_outside(const std::string& key, RunOutcome outcome, bool changed);
  // Evaluate every rule at clock.now(); returns the decisions made (launches and newly seen skips).
  // Every launched asset is marked running until finished() is called for it.
  std::vector<Decision> tick();
  // Ask for `key` (and, with `with_upstream`, its non-source ancestors first). Runs start on tick().
  Result<std::vector<std::string>> request(const std::string& key, bool with_upstream);
  // A launched run ended. `error` says whether a failure is worth retrying. A successful run that
  // changed nothing (`changed` false) keeps the asset's data version, so its downstream does not run.
  void finished(const std::string& key, RunOutcome outcome, const std::optional<Error>& error = std::nullopt,
                bool changed = true);
  // After a restart: the run of `key` that was going when the process died; it is retried.
  void interrupted(const std::string& key);

  AssetStatus status(const std::string& key) const;
  const std::vector<AssetSpec>& assets() const { return specs_; }  // in dependency order
  const AssetSpec* find(const std::string& key) const;
  bool running(const std::string& key) const;

  // The durable part of the state (versions, consumption, failures, schedules) as JSON, and back.
  nlohmann::json snapshot() const;
  void restore(const nlohmann::json& snapshot);

 private:
  struct Version {
    int64_t version;
    int64_t data_time_ms;  // arrival time of the oldest source data this version newly includes
  };
  struct State {
    int64_t version = 0;
    std::deque<Version> history;                 // recent versions, oldest first
    std::map<std::string, int64_t> consumed;     // upstream -> version read by the last successful run
    std::map<std::string, int64_t> attempted;    // upstream -> version read by the last failed run
    std::map<std::string, int64_t> launched_with;  // upstream versions at the start of the current run
    std::optional<int64_t> launched_data_time;
    bool running = false;
    int64_t run_started_ms = 0;
    int64_t last_success_ms = 0, last_duration_ms = 0;
    std::optional<RunOutcome> last_outcome;
    bool last_unchanged = false;                  // the last successful run kept the version
    int64_t unchanged_runs = 0;                   // successful runs that changed nothing
    std::map<std::string, int64_t> unchanged_seen;  // upstream -> its unchanged_runs already noted
    std::string last_error;
    int attempt = 0;                              // attempts of the current retry sequence
    std::optional<int64_t> retry_at_ms;
    std::string retry_reason;
    bool requested = false;
    std::optional<int64_t> next_cron_ms, next_deadline_ms;
    std::string last_skip;                        // last recorded skip reason (to record changes only)
  };

  AutomationEngine(std::vector<AssetSpec> specs, const Clock& clock, RetryPolicy retry);
  // Arrival time of the oldest upstream data `key` has not read; nullopt when up to date.
  std::optional<int64_t> pending_since(const std::string& key) const;
  // Why `key` cannot run now because of an upstream (empty = it can). `need_present`: every upstream
  // must have been materialized; `automatic`: an upstream launched by this same tick does not block.
  std::string upstream_blocker(const std::string& key, bool need_present, bool automatic = false) const;
  Decision launch(const std::string& key, const std::string& trigger, const std::string& reason);
  void note_skip(std::vector<Decision>& out, const std::string& key, const std::string& trigger,
                 const std::string& reason);
  void schedule_timers(const std::string& key, int64_t now);

  std::vector<AssetSpec> specs_;
  std::map<std::string, size_t> index_;
  std::map<std::string, State> state_;
  // Within one tick: runs launched by it don't block their downstream (they queue in graph order, so
  // a continuously changing source cannot starve the rest of the chain), and a manual request skipped
  // because of a failure skips the rest of that request.
  std::set<std::string> launched_now_, skipped_now_;
  const Clock& clock_;
  RetryPolicy retry_;
};

// "1m 30s", "250ms", "2h"
std::string format_duration_ms(int64_t ms);

}  // namespace hrflow::serve
