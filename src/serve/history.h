// Run history and automation decisions of `hrflow serve`, kept under {state_dir}/runs so that they
// survive a restart:
//   runs.jsonl        one line when a run starts and one when it ends (outcome, duration, rows, log)
//   decisions.jsonl   every automation decision (what triggered a run, what was skipped and why)
//   automation.json   the automation engine's durable state (replaced atomically)
// Lines are appended and fsynced; a torn last line (the process was killed mid-write) is ignored. A
// run that started but never ended was interrupted: open() records it as such and reports it, so the
// owner can retry it. Entries older than the retention are dropped when the history is opened.
//
// Thread-safety: all methods are safe to call from several threads (one internal mutex).
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <deque>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "serve/automation.h"

namespace hrflow::serve {

struct RunRecord {
  int64_t id = 0;
  std::string asset, trigger, reason;
  int attempt = 1;
  int64_t started_ms = 0;
  std::optional<int64_t> ended_ms;
  std::string outcome = "running";  // running, succeeded, failed, tests failed, interrupted
  int64_t rows = 0;
  std::string error;
  std::string log;
  nlohmann::json to_json(bool with_log) const;
};

class RunHistory {
 public:
  // Open (creating) the history in `dir`; `now_ms` and `retention_ms` decide what is dropped.
  static Result<std::unique_ptr<RunHistory>> open(const std::filesystem::path& dir, int64_t now_ms,
                                                  int64_t retention_ms);

  // Runs found started-but-not-ended at open(), now recorded as interrupted.
  const std::vector<RunRecord>& interrupted() const { return interrupted_; }

  Result<int64_t> start_run(const Decision& decision);
  Status end_run(int64_t id, RunOutcome outcome, int64_t ended_ms, int64_t rows, const std::string& error,
                 const std::string& log);
  // Live log lines of a running run (kept in memory until it ends).
  void append_log(int64_t id, const std::string& line);
  Status record_decisions(const std::vector<Decision>& decisions);
  Status save_automation(const nlohmann::json& snapshot);
  std::optional<nlohmann::json> load_automation() const;

  std::vector<RunRecord> runs(size_t limit, const std::string& asset = "") const;  // newest first
  std::optional<RunRecord> run(int64_t id) const;
  std::vector<Decision> decisions(size_t limit, const std::string& asset = "") const;  // newest first

 private:
  explicit RunHistory(std::filesystem::path dir) : dir_(std::move(dir)) {}
  Status append(const std::string& file, const nlohmann::json& line);
  Status rewrite(const std::string& file, const std::vector<nlohmann::json>& lines);

  std::filesystem::path dir_;
  mutable std::mutex mu_;
  std::deque<RunRecord> runs_;  // oldest first
  std::deque<Decision> decisions_;
  std::vector<RunRecord> interrupted_;
  int64_t next_id_ = 1;
};

nlohmann::json decision_json(const Decision& d);

}  // namespace hrflow::serve
