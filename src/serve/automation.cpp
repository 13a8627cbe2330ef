#include "serve/automation.h"

#include <algorithm>
#include <functional>

#include "common/civil_time.h"
#include "common/config.h"

namespace hrflow::serve {

namespace {

constexpr size_t kHistoryLimit = 256;

std::string clock_time(int64_t ms) { return format_utc(ms / 1000) + " UTC"; }

Result<CronSchedule> cron_in_zone(const std::string& expr, const std::string& zone) {
  HRFLOW_ASSIGN_OR_RETURN(auto tz, TimeZone::load(zone.empty() ? "UTC" : zone));
  return CronSchedule::parse(expr, std::move(tz));
}

std::string json_string(const nlohmann::json& j, const char* key) {
  if (!j.contains(key)) return "";
  if (j[key].is_string()) return j[key].get<std::string>();
  return j[key].dump();
}

}  // namespace

const char* group_name(AssetGroup group) {
  switch (group) {
    case AssetGroup::kLake: return "lake";
    case AssetGroup::kRaw: return "raw";
    case AssetGroup::kSeeds: return "seeds";
    case AssetGroup::kStaging: return "staging";
    case AssetGroup::kServing: return "serving";
  }
  return "?";
}

const char* outcome_name(RunOutcome outcome) {
  switch (outcome) {
    case RunOutcome::kSucceeded: return "succeeded";
    case RunOutcome::kFailed: return "failed";
    case RunOutcome::kTestsFailed: return "tests failed";
    case RunOutcome::kInterrupted: return "interrupted";
    case RunOutcome::kSkipped: return "skipped";
  }
  return "?";
}

const char* state_name(AssetState state) {
  switch (state) {
    case AssetState::kNeverBuilt: return "never built";
    case AssetState::kFresh: return "fresh";
    case AssetState::kStale: return "stale";
    case AssetState::kRunning: return "running";
    case AssetState::kFailed: return "failed";
    case AssetState::kTestsFailed: return "test failures";
  }
  return "?";
}

std::string format_duration_ms(int64_t ms) {
  if (ms < 1000) return fmt::format("{}ms", ms);
  int64_t s = ms / 1000;
  if (s < 60) return ms % 1000 && s < 10 ? fmt::format("{:.1f}s", ms / 1000.0) : fmt::format("{}s", s);
  if (s < 3600) return s % 60 ? fmt::format("{}m {}s", s / 60, s % 60) : fmt::format("{}m", s / 60);
  if (s < 86400) return (s % 3600) / 60 ? fmt::format("{}h {}m", s / 3600, (s % 3600) / 60) : fmt::format("{}h", s / 3600);
  return fmt::format("{}d {}h", s / 86400, (s % 86400) / 3600);
}

Result<AutomationPolicy> AutomationPolicy::from_meta(const nlohmann::json& a) {
  AutomationPolicy p;
  if (a.is_null()) return p;
  if (!a.is_object()) return invalid_argument("meta.automation must be a map, found {}", a.dump());
  std::string condition = json_string(a, "condition");
  if (condition == "eager") {
    p.eager = true;
  } else if (condition == "cron") {
    std::string expr = json_string(a, "cron");
    if (expr.empty()) return invalid_argument("meta.automation: condition cron needs `cron: \"<5 fields>\"`");
    HRFLOW_ASSIGN_OR_RETURN(auto cron, cron_in_zone(expr, json_string(a, "timezone")));
    p.cron = std::move(cron);
  } else if (!condition.empty() && condition != "manual") {
    return invalid_argument("meta.automation.condition '{}' is not one of eager, cron, manual", condition);
  }
  if (a.contains("freshness")) {
    const auto& f = a["freshness"];
    if (!f.is_object()) return invalid_argument("meta.automation.freshness must be a map");
    FreshnessPolicy fp;
    std::string lag = json_string(f, "maximum_lag");
    if (lag.empty()) return invalid_argument("meta.automation.freshness needs maximum_lag (e.g. 1m)");
    HRFLOW_ASSIGN_OR_RETURN(fp.maximum_lag_ms, parse_duration_ms(lag));
    if (auto deadline = json_string(f, "cron_deadline"); !deadline.empty()) {
      HRFLOW_ASSIGN_OR_RETURN(auto cron, cron_in_zone(deadline, json_string(f, "timezone")));
      fp.deadline = std::move(cron);
    }
    p.freshness = std::move(fp);
  }
  return p;
}

std::string AutomationPolicy::describe() const {
  std::vector<std::string> parts;
  if (eager) parts.push_back("eager");
  if (cron) parts.push_back(fmt::format("cron '{}' {}", cron->expression(), cron->zone().name()));
  if (freshness) {
    std::string f = fmt::format("freshness: at most {} behind", format_duration_ms(freshness->maximum_lag_ms));
    if (freshness->deadline) {
      f += fmt::format(" by '{}' {}", freshness->deadline->expression(), freshness->deadline->zone().name());
    }
    parts.push_back(f);
  }
  if (parts.empty()) return "manual";
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "; ") + p;
  return out;
}

AutomationEngine::AutomationEngine(std::vector<AssetSpec> specs, const Clock& clock, RetryPolicy retry)
    : specs_(std::move(specs)), clock_(clock), retry_(retry) {}

Result<AutomationEngine> AutomationEngine::create(std::vector<AssetSpec> assets, const Clock& clock,
                                                  RetryPolicy retry) {
  std::map<std::string, const AssetSpec*> by_key;
  for (const auto& a : assets) {
    if (!by_key.emplace(a.key, &a).second) return invalid_argument("asset '{}' is declared twice", a.key);
  }
  for (const auto& a : assets) {
    for (const auto& d : a.deps) {
      if (!by_key.count(d)) return invalid_argument("asset '{}' depends on unknown asset '{}'", a.key, d);
    }
  }
  // Topological order (stable: groups left to right, then the given order).
  std::vector<AssetSpec> ordered;
  std::map<std::string, int> mark;  // 1 visiting, 2 done
  std::function<Status(const AssetSpec&)> visit = [&](const AssetSpec& a) -> Status {
    if (mark[a.key] == 2) return {};
    if (mark[a.key] == 1) return invalid_argument("the asset graph has a cycle through '{}'", a.key);
    mark[a.key] = 1;
    for (const auto& d : a.deps) HRFLOW_TRY(visit(*by_key[d]));
    mark[a.key] = 2;
    ordered.push_back(a);
    return {};
  };
  std::vector<const AssetSpec*> roots;
  for (const auto& a : assets) roots.push_back(&a);
  std::stable_sort(roots.begin(), roots.end(), [](auto* x, auto* y) { return x->group < y->group; });
  for (auto* a : roots) HRFLOW_TRY(visit(*a));
  AutomationEngine engine(std::move(ordered), clock, retry);
  for (size_t i = 0; i < engine.specs_.size(); ++i) {
    engine.index_[engine.specs_[i].key] = i;
    engine.state_[engine.specs_[i].key];
  }
  int64_t now = clock.now_ms();
  for (const auto& a : engine.specs_) engine.schedule_timers(a.key, now);
  return engine;
}

void AutomationEngine::schedule_timers(const std::string& key, int64_t now) {
  const auto& spec = *find(key);
  auto& st = state_[key];
  if (spec.policy.cron) st.next_cron_ms = spec.policy.cron->next_after(now);
  if (spec.policy.freshness && spec.policy.freshness->deadline) {
    st.next_deadline_ms = spec.policy.freshness->deadline->next_after(now);
  }
}

const AssetSpec* AutomationEngine::find(const std::string& key) const {
  auto it = index_.find(key);
  return it == index_.end() ? nullptr : &specs_[it->second];
}

bool AutomationEngine::running(const std::string& key) const {
  auto it = state_.find(key);
  return it != state_.end() && it->second.running;
}

void AutomationEngine::observe_source(const std::string& key, int64_t data_time_ms) {
  auto& st = state_[key];
  st.version++;
  st.history.push_back({st.version, data_time_ms});
  if (st.history.size() > kHistoryLimit) st.history.pop_front();
  st.last_success_ms = clock_.now_ms();
  st.last_outcome = RunOutcome::kSucceeded;
  st.last_error.clear();
}

std::optional<int64_t> AutomationEngine::newest_data_time(const std::string& key) const {
  auto it = state_.find(key);
  if (it == state_.end() || it->second.history.empty()) return std::nullopt;
  return it->second.history.back().data_time_ms;
}

void AutomationEngine::materialized_outside(const std::string& key, RunOutcome outcome, bool changed) {
  auto& st = state_[key];
  st.running = true;
  st.run_started_ms = clock_.now_ms();
  st.launched_with.clear();
  for (const auto& dep : find(key)->deps) st.launched_with[dep] = state_[dep].version;
  st.launched_data_time = pending_since(key).value_or(st.run_started_ms);
  st.requested = false;
  st.retry_at_ms.reset();
  st.attempt = 0;
  finished(key, outcome, std::nullopt, changed);
}

std::optional<int64_t> AutomationEngine::pending_since(const std::string& key) const {
  std::optional<int64_t> since;
  const auto& st = state_.at(key);
  for (const auto& dep : find(key)->deps) {
    const auto& up = state_.at(dep);
    auto c = st.consumed.find(dep);
    int64_t consumed = c == st.consumed.end() ? 0 : c->second;
    if (up.version <= consumed || up.history.empty()) continue;
    int64_t oldest = up.history.front().data_time_ms;  // when history was trimmed past `consumed`
    bool found = false;
    for (const auto& v : up.history) {
      if (v.version > consumed) {
        oldest = found ? std::min(oldest, v.data_time_ms) : v.data_time_ms;
        found = true;
      }
    }
    since = since ? std::min(*since, oldest) : oldest;
  }
  return since;
}

std::string AutomationEngine::upstream_blocker(const std::string& key, bool need_present, bool automatic) const {
  for (const auto& dep : find(key)->deps) {
    const auto& up = state_.at(dep);
    const auto& spec = *find(dep);
    if (up.running && !(automatic && launched_now_.count(dep))) return fmt::format("upstream {} is running", dep);
    if (skipped_now_.count(dep)) return fmt::format("upstream {} was skipped: it failed or its upstream did", dep);
    if (up.requested || up.retry_at_ms) return fmt::format("upstream {} is queued to run", dep);
    if (up.last_outcome == RunOutcome::kFailed) return fmt::format("upstream {} failed: {}", dep, up.last_error);
    if (up.last_outcome == RunOutcome::kTestsFailed) {
      return fmt::format("upstream {} failed its tests: {}", dep, up.last_error);
    }
    if (need_present && up.version == 0) {
      return spec.source ? fmt::format("upstream {} has no data yet", dep)
                         : fmt::format("upstream {} was never materialized", dep);
    }
  }
  return "";
}

Decision AutomationEngine::launch(const std::string& key, const std::string& trigger, const std::string& reason) {
  auto& st = state_[key];
  int64_t now = clock_.now_ms();
  st.attempt = trigger == "retry" ? st.attempt + 1 : 1;
  st.running = true;
  st.requested = false;
  st.retry_at_ms.reset();
  st.run_started_ms = now;
  st.launched_with.clear();
  for (const auto& dep : find(key)->deps) st.launched_with[dep] = state_[dep].version;
  st.launched_data_time = pending_since(key).value_or(now);
  st.last_skip.clear();
  launched_now_.insert(key);
  return Decision{now, key, true, trigger, reason, st.attempt};
}

void AutomationEngine::note_skip(std::vector<Decision>& out, const std::string& key, const std::string& trigger,
                                 const std::string& reason) {
  auto& st = state_[key];
  if (st.last_skip == reason) return;  // record changes only, not every tick
  st.last_skip = reason;
  out.push_back(Decision{clock_.now_ms(), key, false, trigger, reason, 0});
}

std::vector<Decision> AutomationEngine::tick() {
  std::vector<Decision> out;
  int64_t now = clock_.now_ms();
  launched_now_.clear();
  skipped_now_.clear();
  for (const auto& spec : specs_) {
    if (spec.source) continue;
    auto& st = state_[spec.key];
    const auto& policy = spec.policy;
    auto pending = pending_since(spec.key);
    const FreshnessPolicy* fp = policy.freshness ? &*policy.freshness : nullptr;
    // A freshness deadline is met once the asset holds all data that arrived before deadline - lag.
    auto deadline_met = [&](int64_t deadline) {
      return st.version > 0 && (!pending || *pending > deadline - fp->maximum_lag_ms);
    };
    if (fp && fp->deadline) {
      while (st.next_deadline_ms && now >= *st.next_deadline_ms && deadline_met(*st.next_deadline_ms)) {
        st.next_deadline_ms = fp->deadline->next_after(*st.next_deadline_ms);
      }
    }
    if (st.running) continue;

    if (st.retry_at_ms) {
      if (now < *st.retry_at_ms) continue;
      if (auto b = upstream_blocker(spec.key, false); !b.empty()) {
        note_skip(out, spec.key, "retry", "retry waits: " + b);
        continue;
      }
      out.push_back(launch(spec.key, "retry", st.retry_reason));
      continue;
    }
    if (st.requested) {
      auto b = upstream_blocker(spec.key, false);
      if (b.find("failed") != std::string::npos || b.find("skipped") != std::string::npos) {
        st.requested = false;
        skipped_now_.insert(spec.key);
        note_skip(out, spec.key, "manual", "requested run skipped: " + b);
      } else if (!b.empty()) {
        note_skip(out, spec.key, "manual", "requested run waits: " + b);
      } else {
        out.push_back(launch(spec.key, "manual", "materialization requested"));
      }
      continue;
    }
    if (policy.cron && st.next_cron_ms && now >= *st.next_cron_ms) {
      int64_t tick_ms = *st.next_cron_ms;
      st.next_cron_ms = policy.cron->next_after(now);
      std::string what = fmt::format("cron '{}' ({}) tick at {}", policy.cron->expression(),
                                     policy.cron->zone().name(), clock_time(tick_ms));
      if (auto b = upstream_blocker(spec.key, true, true); !b.empty()) {
        note_skip(out, spec.key, "cron", what + " skipped: " + b);
      } else {
        out.push_back(launch(spec.key, "cron", what));
      }
      continue;
    }

    std::string trigger, reason;
    bool retried_these = false;  // the last failure already read these upstream versions
    if (st.last_outcome == RunOutcome::kFailed) {
      retried_these = true;
      for (const auto& dep : spec.deps) {
        auto a = st.attempted.find(dep);
        if (state_[dep].version > (a == st.attempted.end() ? 0 : a->second)) retried_these = false;
      }
    }
    if (policy.eager && !retried_these) {
      if (pending) {
        for (const auto& dep : spec.deps) {
          if (state_[dep].version > st.consumed[dep]) {
            trigger = "eager";
            reason = fmt::format("upstream {} has new data (version {})", dep, state_[dep].version);
            break;
          }
        }
      } else if (st.version == 0) {  // with no upstream (a seed): load it once
        trigger = "eager";
        reason = "never materialized";
      } else {
        for (const auto& dep : spec.deps) {  // say why a run upstream did not start this one
          const int64_t runs = state_[dep].unchanged_runs;
          if (runs > st.unchanged_seen[dep]) {
            st.unchanged_seen[dep] = runs;
            note_skip(out, spec.key, "eager", fmt::format("upstream {} ran, no new data (still version {})", dep,
                                                          state_[dep].version));
          }
        }
      }
    }
    if (trigger.empty() && fp && !retried_these) {
      if (fp->deadline) {
        if (st.next_deadline_ms && now >= *st.next_deadline_ms - fp->maximum_lag_ms &&
            !deadline_met(*st.next_deadline_ms)) {
          trigger = "freshness";
          reason = fmt::format("freshness deadline {}: must hold the data up to {} before it",
                               clock_time(*st.next_deadline_ms), format_duration_ms(fp->maximum_lag_ms));
        }
      } else if (pending && now - *pending + st.last_duration_ms >= fp->maximum_lag_ms) {
        trigger = "freshness";
        reason = fmt::format("lag {} (+ {} to build) reaches the maximum of {}", format_duration_ms(now - *pending),
                             format_duration_ms(st.last_duration_ms), format_duration_ms(fp->maximum_lag_ms));
      }
    }
    if (trigger.empty()) continue;
    if (auto b = upstream_blocker(spec.key, true, true); !b.empty()) {
      note_skip(out, spec.key, trigger, fmt::format("{}, but {}", reason, b));
      continue;
    }
    out.push_back(launch(spec.key, trigger, reason));
  }
  return out;
}

Result<std::vector<std::string>> AutomationEngine::request(const std::string& key, bool with_upstream) {
  const AssetSpec* spec = find(key);
  if (!spec) return make_error(ErrorKind::kNotFound, "no asset named '{}'", key);
  if (spec->source) {
    return invalid_argument("'{}' is fed continuously by the sink service; materialize its downstream instead", key);
  }
  std::set<std::string> wanted{key};
  if (with_upstream) {
    std::vector<std::string> todo{key};
    while (!todo.empty()) {
      std::string k = todo.back();
      todo.pop_back();
      for (const auto& d : find(k)->deps) {
        if (!find(d)->source && wanted.insert(d).second) todo.push_back(d);
      }
    }
  }
  std::vector<std::string> ordered;
  for (const auto& s : specs_) {
    if (wanted.count(s.key)) {
      state_[s.key].requested = true;
      state_[s.key].last_skip.clear();
      ordered.push_back(s.key);
    }
  }
  return ordered;
}

void AutomationEngine::finished(const std::string& key, RunOutcome outcome, const std::optional<Error>& error,
                                bool changed) {
  auto& st = state_[key];
  int64_t now = clock_.now_ms();
  st.running = false;
  st.last_outcome = outcome;
  st.last_error = error ? error->message : "";
  st.retry_at_ms.reset();
  if (outcome == RunOutcome::kSucceeded || outcome == RunOutcome::kTestsFailed) {
    // Tests run after the model was written: the new data exists, but downstream waits (blocker).
    // A first materialization is a version even when empty: downstream may build on it.
    st.last_unchanged = !changed && st.version > 0;
    if (st.last_unchanged) {
      st.unchanged_runs++;
    } else {
      st.version++;
      st.history.push_back({st.version, st.launched_data_time.value_or(st.run_started_ms)});
      if (st.history.size() > kHistoryLimit) st.history.pop_front();
    }
    for (const auto& [dep, v] : st.launched_with) st.consumed[dep] = v;
    st.last_success_ms = now;
    st.last_duration_ms = now - st.run_started_ms;
    st.attempt = 0;
    return;
  }
  bool retriable = outcome == RunOutcome::kInterrupted || (error && error->retriable);
  if (retriable && st.attempt < retry_.max_attempts) {
    const int64_t ceiling = Backoff::ceiling_ms({retry_.initial_backoff_ms, retry_.max_backoff_ms}, st.attempt);
    int64_t backoff = std::clamp<int64_t>((retry_.jitter ? retry_.jitter : Backoff::uniform_jitter)(ceiling), 0, ceiling);
    if (outcome == RunOutcome::kInterrupted) backoff = 0;
    st.retry_at_ms = now + backoff;
    st.retry_reason = fmt::format("attempt {} of {} after {}: {}", st.attempt + 1, retry_.max_attempts,
                                  outcome_name(outcome), st.last_error);
    return;
  }
  st.attempted = st.launched_with;
  st.attempt = 0;
}

void AutomationEngine::interrupted(const std::string& key) {
  auto& st = state_[key];
  st.running = false;
  st.last_outcome = RunOutcome::kInterrupted;
  st.last_error = "the run was interrupted when hrflow serve stopped abruptly";
  st.attempt = 1;
  st.retry_at_ms = clock_.now_ms();
  st.retry_reason = "retrying the run interrupted by a restart of hrflow serve";
}

AssetStatus AutomationEngine::status(const std::string& key) const {
  AssetStatus s;
  const auto& st = state_.at(key);
  const auto& spec = *find(key);
  int64_t now = clock_.now_ms();
  s.last_success_ms = st.last_success_ms;
  s.next_cron_ms = st.next_cron_ms;
  s.next_deadline_ms = st.next_deadline_ms;
  auto pending = pending_since(key);
  if (pending) s.lag_ms = std::max<int64_t>(0, now - *pending);
  if (spec.source) {
    if (st.version == 0) {
      s.state = AssetState::kNeverBuilt;
      s.why = "no data has arrived yet";
    } else {
      s.state = AssetState::kFresh;
      s.why = fmt::format("newest data arrived {}", clock_time(st.history.back().data_time_ms));
    }
    return s;
  }
  if (st.running) {
    s.state = AssetState::kRunning;
    s.why = fmt::format("running for {}", format_duration_ms(now - st.run_started_ms));
    return s;
  }
  if (st.retry_at_ms) {
    s.state = AssetState::kFailed;
    s.why = fmt::format("{}; retry {} at {}", st.last_error, st.attempt + 1, clock_time(*st.retry_at_ms));
    return s;
  }
  if (st.last_outcome == RunOutcome::kFailed) {
    s.state = AssetState::kFailed;
    s.why = st.last_error;
    return s;
  }
  if (st.last_outcome == RunOutcome::kTestsFailed) {
    s.state = AssetState::kTestsFailed;
    s.why = st.last_error;
    return s;
  }
  if (st.version == 0) {
    s.state = AssetState::kNeverBuilt;
    auto b = upstream_blocker(key, true);
    s.why = st.requested ? "queued to run" : b.empty() ? "never materialized" : "waiting: " + b;
    return s;
  }
  const FreshnessPolicy* fp = spec.policy.freshness ? &*spec.policy.freshness : nullptr;
  if (!pending) {
    s.state = AssetState::kFresh;
    s.why = spec.deps.empty() ? "materialized" : "holds all upstream data";
    if (st.last_unchanged) s.why += "; its last run found no new data (version kept)";
    return s;
  }
  std::string lag = format_duration_ms(s.lag_ms);
  if (fp && fp->deadline) {
    // Overdue when the last deadline passed without the data it required.
    auto last = fp->deadline->last_at_or_before(now, 8 * 86'400'000LL);
    bool overdue = last && *pending <= *last - fp->maximum_lag_ms && st.last_success_ms < *last;
    s.state = overdue ? AssetState::kStale : AssetState::kFresh;
    s.why = overdue ? fmt::format("missed the freshness deadline {} (lag {})", clock_time(*last), lag)
                    : fmt::format("lag {}; next deadline {}", lag,
                                  st.next_deadline_ms ? clock_time(*st.next_deadline_ms) : "none");
  } else if (fp) {
    bool late = s.lag_ms > fp->maximum_lag_ms;
    s.state = late ? AssetState::kStale : AssetState::kFresh;
    s.why = fmt::format("lag {} {} the maximum of {}", lag, late ? "exceeds" : "within",
                        format_duration_ms(fp->maximum_lag_ms));
  } else {
    s.state = AssetState::kStale;
    s.why = fmt::format("upstream has newer data (lag {})", lag);
  }
  return s;
}

nlohmann::json AutomationEngine::snapshot() const {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [key, st] : state_) {
    nlohmann::json a;
    a["version"] = st.version;
    a["history"] = nlohmann::json::array();
    for (const auto& v : st.history) a["history"].push_back({v.version, v.data_time_ms});
    a["consumed"] = st.consumed;
    a["attempted"] = st.attempted;
    a["last_success_ms"] = st.last_success_ms;
    a["last_duration_ms"] = st.last_duration_ms;
    a["last_outcome"] = st.last_outcome ? static_cast<int>(*st.last_outcome) : -1;
    a["last_error"] = st.last_error;
    if (st.next_cron_ms) a["next_cron_ms"] = *st.next_cron_ms;
    if (st.next_deadline_ms) a["next_deadline_ms"] = *st.next_deadline_ms;
    if (st.retry_at_ms) {
      a["retry_at_ms"] = *st.retry_at_ms;
      a["retry_reason"] = st.retry_reason;
      a["attempt"] = st.attempt;
    }
    j[key] = a;
  }
  return j;
}

void AutomationEngine::restore(const nlohmann::json& j) {
  for (auto& [key, st] : state_) {
    if (!j.contains(key)) continue;
    const auto& a = j[key];
    st.version = a.value("version", int64_t{0});
    st.history.clear();
    for (const auto& v : a.value("history", nlohmann::json::array())) st.history.push_back({v[0], v[1]});
    st.consumed = a.value("consumed", std::map<std::string, int64_t>{});
    st.attempted = a.value("attempted", std::map<std::string, int64_t>{});
    st.last_success_ms = a.value("last_success_ms", int64_t{0});
    st.last_duration_ms = a.value("last_duration_ms", int64_t{0});
    int outcome = a.value("last_outcome", -1);
    if (outcome >= 0) st.last_outcome = static_cast<RunOutcome>(outcome);
    st.last_error = a.value("last_error", std::string{});
    // Keep a missed tick or deadline (it fires once now) but never one from a changed schedule.
    if (a.contains("next_cron_ms") && st.next_cron_ms) st.next_cron_ms = std::min<int64_t>(*st.next_cron_ms, a["next_cron_ms"]);
    if (a.contains("next_deadline_ms") && st.next_deadline_ms) {
      st.next_deadline_ms = std::min<int64_t>(*st.next_deadline_ms, a["next_deadline_ms"]);
    }
    if (a.contains("retry_at_ms")) {
      st.retry_at_ms = a["retry_at_ms"].get<int64_t>();
      st.retry_reason = a.value("retry_reason", std::string{});
      st.attempt = a.value("attempt", 1);
    }
  }
}

}  // namespace hrflow::serve
