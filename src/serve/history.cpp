#include "serve/history.h"

#include <fcntl.h>
#include <unistd.h>

#include <fstream>

namespace hrflow::serve {

namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxDecisionsInMemory = 20'000;
constexpr size_t kMaxLogBytes = 256 * 1024;

std::vector<nlohmann::json> read_lines(const fs::path& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded()) out.push_back(std::move(j));  // a torn last line is skipped
  }
  return out;
}

Status write_all(int fd, const std::string& data, const fs::path& path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0) return io_error("writing {}: {}", path.string(), std::strerror(errno));
    done += static_cast<size_t>(n);
  }
  if (::fdatasync(fd) != 0) return io_error("syncing {}: {}", path.string(), std::strerror(errno));
  return {};
}

Decision decision_from(const nlohmann::json& j) {
  return Decision{j.value("at_ms", int64_t{0}), j.value("asset", ""), j.value("launch", false),
                  j.value("trigger", ""), j.value("reason", ""), j.value("attempt", 0)};
}

}  // namespace

nlohmann::json decision_json(const Decision& d) {
  return {{"at_ms", d.at_ms}, {"asset", d.asset}, {"launch", d.launch}, {"trigger", d.trigger},
          {"reason", d.reason}, {"attempt", d.attempt}};
}

nlohmann::json RunRecord::to_json(bool with_log) const {
  nlohmann::json j = {{"id", id}, {"asset", asset}, {"trigger", trigger}, {"reason", reason},
                      {"attempt", attempt}, {"started_ms", started_ms}, {"outcome", outcome},
                      {"rows", rows}, {"error", error}};
  j["ended_ms"] = ended_ms ? nlohmann::json(*ended_ms) : nlohmann::json(nullptr);
  j["duration_ms"] = ended_ms ? nlohmann::json(*ended_ms - started_ms) : nlohmann::json(nullptr);
  if (with_log) j["log"] = log;
  return j;
}

Result<std::unique_ptr<RunHistory>> RunHistory::open(const fs::path& dir, int64_t now_ms, int64_t retention_ms) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return io_error("cannot create the run history directory {}: {}", dir.string(), ec.message());
  std::unique_ptr<RunHistory> h(new RunHistory(dir));
  int64_t cutoff = now_ms - retention_ms;
  std::map<int64_t, RunRecord> by_id;
  for (const auto& j : read_lines(dir / "runs.jsonl")) {
    int64_t id = j.value("id", int64_t{0});
    h->next_id_ = std::max(h->next_id_, id + 1);
    if (j.value("type", "") == "start") {
      RunRecord r;
      r.id = id;
      r.asset = j.value("asset", "");
      r.trigger = j.value("trigger", "");
      r.reason = j.value("reason", "");
      r.attempt = j.value("attempt", 1);
      r.started_ms = j.value("started_ms", int64_t{0});
      by_id[id] = r;
    } else if (auto it = by_id.find(id); it != by_id.end()) {
      it->second.ended_ms = j.value("ended_ms", int64_t{0});
      it->second.outcome = j.value("outcome", "");
      it->second.rows = j.value("rows", int64_t{0});
      it->second.error = j.value("error", "");
      it->second.log = j.value("log", "");
    }
  }
  std::vector<nlohmann::json> kept_runs;
  for (auto& [id, r] : by_id) {
    if (!r.ended_ms) {
      r.ended_ms = now_ms;
      r.outcome = outcome_name(RunOutcome::kInterrupted);
      r.error = "interrupted: hrflow serve stopped while this run was going";
      h->interrupted_.push_back(r);
    }
    if (*r.ended_ms < cutoff) continue;
    kept_runs.push_back({{"type", "start"}, {"id", r.id}, {"asset", r.asset}, {"trigger", r.trigger},
                         {"reason", r.reason}, {"attempt", r.attempt}, {"started_ms", r.started_ms}});
    kept_runs.push_back({{"type", "end"}, {"id", r.id}, {"ended_ms", *r.ended_ms}, {"outcome", r.outcome},
                         {"rows", r.rows}, {"error", r.error}, {"log", r.log}});
    h->runs_.push_back(r);
  }
  HRFLOW_TRY(h->rewrite("runs.jsonl", kept_runs));
  std::vector<nlohmann::json> kept_decisions;
  for (auto& j : read_lines(dir / "decisions.jsonl")) {
    if (j.value("at_ms", int64_t{0}) < cutoff) continue;
    h->decisions_.push_back(decision_from(j));
    kept_decisions.push_back(std::move(j));
  }
  while (h->decisions_.size() > kMaxDecisionsInMemory) h->decisions_.pop_front();
  HRFLOW_TRY(h->rewrite("decisions.jsonl", kept_decisions));
  return h;
}

Status RunHistory::rewrite(const std::string& file, const std::vector<nlohmann::json>& lines) {
  fs::path tmp = dir_ / (file + ".tmp"), path = dir_ / file;
  std::string data;
  for (const auto& l : lines) data += l.dump() + "\n";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("cannot write {}: {}", tmp.string(), std::strerror(errno));
  Status st = write_all(fd, data, tmp);
  ::close(fd);
  HRFLOW_TRY(st);
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return io_error("cannot replace {}: {}", path.string(), ec.message());
  return {};
}

Status RunHistory::append(const std::string& file, const nlohmann::json& line) {
  fs::path path = dir_ / file;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("cannot append to {}: {}", path.string(), std::strerror(errno));
  Status st = write_all(fd, line.dump() + "\n", path);
  ::close(fd);
  return st;
}

Result<int64_t> RunHistory::start_run(const Decision& d) {
  std::lock_guard lock(mu_);
  RunRecord r;
  r.id = next_id_++;
  r.asset = d.asset;
  r.trigger = d.trigger;
  r.reason = d.reason;
  r.attempt = d.attempt;
  r.started_ms = d.at_ms;
  HRFLOW_TRY(append("runs.jsonl", {{"type", "start"}, {"id", r.id}, {"asset", r.asset}, {"trigger", r.trigger},
                                   {"reason", r.reason}, {"attempt", r.attempt}, {"started_ms", r.started_ms}}));
  runs_.push_back(r);
  return r.id;
}

Status RunHistory::end_run(int64_t id, RunOutcome outcome, int64_t ended_ms, int64_t rows, const std::string& error,
                           const std::string& log) {
  std::lock_guard lock(mu_);
  for (auto it = runs_.rbegin(); it != runs_.rend(); ++it) {
    if (it->id != id) continue;
    it->ended_ms = ended_ms;
    it->outcome = outcome_name(outcome);
    it->rows = rows;
    it->error = error;
    if (!log.empty()) it->log = log;
    if (it->log.size() > kMaxLogBytes) it->log = "…" + it->log.substr(it->log.size() - kMaxLogBytes);
    return append("runs.jsonl", {{"type", "end"}, {"id", id}, {"ended_ms", ended_ms}, {"outcome", it->outcome},
                                 {"rows", rows}, {"error", error}, {"log", it->log}});
  }
  return make_error(ErrorKind::kInternal, "run {} is not in the history", id);
}

void RunHistory::append_log(int64_t id, const std::string& line) {
  std::lock_guard lock(mu_);
  for (auto it = runs_.rbegin(); it != runs_.rend(); ++it) {
    if (it->id == id) {
      if (it->log.size() < kMaxLogBytes) it->log += line + "\n";
      return;
    }
  }
}

Status RunHistory::record_decisions(const std::vector<Decision>& ds) {
  if (ds.empty()) return {};
  std::lock_guard lock(mu_);
  std::string data;
  for (const auto& d : ds) {
    decisions_.push_back(d);
    data += decision_json(d).dump() + "\n";
  }
  while (decisions_.size() > kMaxDecisionsInMemory) decisions_.pop_front();
  fs::path path = dir_ / "decisions.jsonl";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("cannot append to {}: {}", path.string(), std::strerror(errno));
  Status st = write_all(fd, data, path);
  ::close(fd);
  return st;
}

Status RunHistory::save_automation(const nlohmann::json& snapshot) {
  std::lock_guard lock(mu_);
  return rewrite("automation.json", {snapshot});
}

std::optional<nlohmann::json> RunHistory::load_automation() const {
  auto lines = read_lines(dir_ / "automation.json");
  if (lines.empty()) return std::nullopt;
  return lines.front();
}

std::vector<RunRecord> RunHistory::runs(size_t limit, const std::string& asset) const {
  std::lock_guard lock(mu_);
  std::vector<RunRecord> out;
  for (auto it = runs_.rbegin(); it != runs_.rend() && out.size() < limit; ++it) {
    if (asset.empty() || it->asset == asset) out.push_back(*it);
  }
  return out;
}

std::optional<RunRecord> RunHistory::run(int64_t id) const {
  std::lock_guard lock(mu_);
  for (const auto& r : runs_) {
    if (r.id == id) return r;
  }
  return std::nullopt;
}

std::vector<Decision> RunHistory::decisions(size_t limit, const std::string& asset) const {
  std::lock_guard lock(mu_);
  std::vector<Decision> out;
  for (auto it = decisions_.rbegin(); it != decisions_.rend() && out.size() < limit; ++it) {
    if (asset.empty() || it->asset == asset) out.push_back(*it);
  }
  return out;
}

}  // namespace hrflow::serve
