#include "import/import.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/civil_time.h"
#include "common/clock.h"
#include "common/progress.h"
#include "import/journal.h"
#include "import/participants.h"
#include "oltp/oltp.h"
#include "stream/stream.h"

namespace hrflow::import {

const char* format_name(Format f) {
  switch (f) {
    case Format::kAppleHealth: return "apple-health";
    case Format::kFhir: return "fhir";
    case Format::kFitbit: return "fitbit";
    case Format::kOmh: return "omh";
  }
  return "?";
}

namespace {

// stg_heart_rates drops readings before this (the original system's test records; dbt var
// test_records_before): an import says how many of its readings that affects.
constexpr int64_t kWarehouseFirstReading = 1712343600;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// The activity of each reading: the workout covering it, else by motion context.
class ActivityResolver {
 public:
  ActivityResolver(std::vector<Workout>& workouts, size_t subjects, std::vector<int64_t> ids)
      : by_subject_(subjects), ids_(std::move(ids)) {
    for (auto& w : workouts) {
      if (w.subject < subjects) by_subject_[w.subject].push_back(&w);
    }
    for (auto& ws : by_subject_) {
      std::sort(ws.begin(), ws.end(), [](const Workout* a, const Workout* b) { return a->start < b->start; });
    }
  }
  int64_t activity_of(const SpilledReading& r) const {
    if (r.activity) return ids_[r.activity - 1];
    const auto& ws = by_subject_[r.subject];
    // the last workout starting at or before the reading; overlapping workouts: the latest start wins
    auto it = std::upper_bound(ws.begin(), ws.end(), r.timestamp, [](int64_t t, const Workout* w) { return t < w->start; });
    for (int back = 0; it != ws.begin() && back < 4; ++back) {
      --it;
      if ((*it)->end >= r.timestamp) {
        if (auto a = activity_index((*it)->activity)) return ids_[*a];
      }
    }
    static const uint8_t sit = *activity_index("Sit"), other = *activity_index("Other");
    return ids_[r.context == static_cast<uint8_t>(Context::kSedentary) ? sit : other];
  }

 private:
  std::vector<std::vector<const Workout*>> by_subject_;
  std::vector<int64_t> ids_;
};

char* format_event(char* p, int64_t user, int hr, int64_t ts, int64_t activity) {
  return fmt::format_to(p, R"({{"user_id":{},"heart_rate":{},"timestamp":{},"meta":{{"activity_id":{}}}}})", user, hr,
                        ts, activity);
}

// One import at a time per import.dir, for its whole run (the journal is locked too, but only from
// the deliver phase on): a stale spill file of a killed run can then be removed safely.
class ImportLock {
 public:
  static Result<ImportLock> take(const std::filesystem::path& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    const auto path = dir / "lock";
    ImportLock l;
    l.fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (l.fd_ < 0) return io_error("cannot open {}: {}", path.string(), std::strerror(errno));
    if (::flock(l.fd_, LOCK_EX | LOCK_NB) != 0) {
      return Error{ErrorKind::kUnavailable,
                   fmt::format("another `hrflow import` is running with {}; wait for it to finish", dir.string()), true};
    }
    return l;
  }
  ImportLock(ImportLock&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  ImportLock& operator=(ImportLock&&) = delete;
  ImportLock(const ImportLock&) = delete;
  ~ImportLock() {
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  ImportLock() = default;
  int fd_ = -1;
};

Status read_input(const ImportOptions& o, ReadContext& ctx) {
  switch (o.format) {
    case Format::kAppleHealth: return read_apple_health(o.input, ctx);
    case Format::kFhir: return read_fhir(o.input, ctx);
    case Format::kFitbit: return read_fitbit(o.input, ctx);
    case Format::kOmh: return read_omh(o.input, ctx);
  }
  return invalid_argument("unknown format");
}

}  // namespace

// A killed run's pending batch: per partition the stream holds a prefix of what was sent to it, ending
// at its newest record (records of one partition are acknowledged in order); everything after it was
// not delivered. Assumes no other producer wrote to those partitions since (then nothing is found
// and the batch is sent again: README, "limits").
Result<std::vector<JournalEntry>> delivered_part(const std::vector<JournalEntry>& pending, const stream::StreamEnd& end) {
  std::map<int32_t, std::vector<size_t>> by_partition;
  for (size_t i = 0; i < pending.size(); ++i) {
    const std::string key = std::to_string(pending[i].user_id);
    by_partition[stream::partition_for_key(key, end.partitions)].push_back(i);
  }
  std::vector<JournalEntry> delivered;
  for (const auto& [p, idxs] : by_partition) {
    auto it = end.last.find(p);
    if (it == end.last.end()) continue;
    auto v = nlohmann::json::parse(it->second.value, nullptr, false);
    if (!v.is_object() || !v.contains("timestamp") || !v["timestamp"].is_number_integer()) continue;
    const int64_t ts = v["timestamp"].get<int64_t>();
    for (size_t k = idxs.size(); k-- > 0;) {
      const JournalEntry& e = pending[idxs[k]];
      if (std::to_string(e.user_id) == it->second.key && e.timestamp == ts) {
        for (size_t m = 0; m <= k; ++m) delivered.push_back(pending[idxs[m]]);
        break;
      }
    }
  }
  return delivered;
}

Result<ImportReport> run_import(const Config& config, const ImportOptions& o) {
  ImportReport report;
  std::error_code ec;
  if (!std::filesystem::exists(o.input, ec)) {
    return Error{ErrorKind::kNotFound, fmt::format("{}: no such file or directory", o.input.string()), false};
  }
  const bool one_person = o.format != Format::kFhir;
  if (one_person && o.participant.empty()) {
    return invalid_argument("{} import needs --participant LABEL (the study's id of the person, e.g. P017)",
                            format_name(o.format));
  }
  if (o.format == Format::kFitbit && o.timezone.empty()) {
    return invalid_argument(
        "fitbit import needs --timezone ZONE (e.g. Europe/Oslo): Fitbit writes local times without a zone");
  }
  const std::filesystem::path dir = config.get_string("import.dir");
  const std::string key = config.get_string("privacy.pseudonym_key");
  const std::string input_name = std::filesystem::absolute(o.input).lexically_normal().filename().string();
  report.errors_path = !o.errors_path.empty() ? o.errors_path
                                              : dir / "errors" / fmt::format("{}.{}.errors.jsonl", input_name, format_name(o.format));
  std::filesystem::create_directories(report.errors_path.parent_path(), ec);
  HRFLOW_ASSIGN_OR_RETURN(auto lock, ImportLock::take(dir));
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {  // left by a killed run
    if (e.path().filename().string().rfind("spill-", 0) == 0) std::filesystem::remove(e.path(), ec);
  }
  const auto spill_path = dir / fmt::format("spill-{}.bin", ::getpid());

  // --- 1. read ---------------------------------------------------------------------------------------
  HRFLOW_ASSIGN_OR_RETURN(auto collector, Collector::create(spill_path, report.errors_path));
  struct SpillRemover {
    std::filesystem::path p;
    ~SpillRemover() {
      std::error_code e;
      std::filesystem::remove(p, e);
    }
  } remover{spill_path};
  report.input_bytes = input_size(o.format, o.input);
  const auto t0 = std::chrono::steady_clock::now();
  {
    Progress progress(fmt::format("import {}", format_name(o.format)), "bytes", report.input_bytes, o.show_progress);
    ReadContext ctx{collector, &progress, &o.stop};
    ctx.participant.label = pseudonym(key, o.participant);
    ctx.timezone = o.timezone;
    ctx.with_names = o.with_names;
    ctx.with_addresses = o.with_addresses;
    ctx.buffer_bytes = static_cast<size_t>(config.get_bytes("import.buffer"));
    if (one_person) collector.subject(ctx.participant);
    HRFLOW_TRY(read_input(o, ctx));
    progress.finish();
  }
  HRFLOW_TRY(collector.finish());
  report.read_seconds = seconds_since(t0);
  report.readings_read = collector.readings();
  report.records_in = collector.records_in();
  report.skipped = collector.skipped();
  report.errors = collector.errors();
  report.workouts = collector.workouts().size();
  if (o.stop.stop_requested()) {
    report.interrupted = true;
    return report;
  }

  // Pseudonymize FHIR Patient ids (the one-person formats did it above).
  std::vector<SubjectInfo> subjects = collector.subjects();
  if (!one_person) {
    for (auto& s : subjects) s.label = pseudonym(key, s.label);
  }

  // --- 2. deliver ------------------------------------------------------------------------------------
  const auto t1 = std::chrono::steady_clock::now();
  HRFLOW_ASSIGN_OR_RETURN(auto url, oltp::database_url(config, /*start_managed=*/true));
  HRFLOW_ASSIGN_OR_RETURN(auto conn, PgConnection::connect(url));
  HRFLOW_ASSIGN_OR_RETURN(auto users, resolve_users(conn, subjects, collector.earliest(), format_name(o.format)));
  report.commit_time_simulated = users.commit_time_simulated;
  HRFLOW_ASSIGN_OR_RETURN(auto activity_id, activity_ids(conn));
  for (size_t i = 0; i < subjects.size(); ++i) {
    report.participants.push_back({subjects[i].label, users.user_ids[i], users.created[i], 0});
  }

  // Readings the warehouse could not place are skipped here, with their reason, rather than sent.
  HRFLOW_ASSIGN_OR_RETURN(const int64_t activities_from, activities_first_version(conn));
  HRFLOW_ASSIGN_OR_RETURN(auto users_from, users_first_version(conn, users.user_ids));
  std::vector<int64_t> placeable_from(subjects.size());
  for (size_t i = 0; i < subjects.size(); ++i) {
    auto it = users_from.find(users.user_ids[i]);
    placeable_from[i] = it == users_from.end() ? std::numeric_limits<int64_t>::max() : it->second;
  }
  const std::string too_early = fmt::format(
      "before {} UTC (the warehouse keeps no readings before it: dbt var test_records_before)", format_utc(kWarehouseFirstReading));
  const std::string before_activities = fmt::format(
      "before {} UTC, when the operational activities begin (oltp generate --as-of): the warehouse cannot place them",
      format_utc(activities_from));
  const std::string before_user =
      "before the participant's user began in the operational database (a server without a settable clock, or "
      "readings older than an earlier import): the warehouse cannot place them";
  uint64_t skipped_early = 0, skipped_activities = 0, skipped_user = 0;

  std::set<int64_t> user_set(users.user_ids.begin(), users.user_ids.end());
  HRFLOW_ASSIGN_OR_RETURN(auto journal, Journal::open(dir / "readings.journal", user_set));
  HRFLOW_ASSIGN_OR_RETURN(auto producer, stream::open_producer(config));
  if (!journal.pending().empty()) {
    HRFLOW_ASSIGN_OR_RETURN(auto end, producer->last_records());
    HRFLOW_ASSIGN_OR_RETURN(auto delivered, delivered_part(journal.pending(), end));
    spdlog::info("an earlier import stopped while sending {} readings; the stream holds {} of them, the rest is sent now",
                 journal.pending().size(), delivered.size());
    report.recovered = delivered.size();
    HRFLOW_TRY(journal.resolve(delivered));
  }

  ActivityResolver activities(collector.workouts(), subjects.size(), activity_id);
  HRFLOW_ASSIGN_OR_RETURN(auto spill, SpillReader::open(spill_path));
  const size_t batch_size = static_cast<size_t>(config.get_int("import.batch"));
  std::vector<SpilledReading> chunk;
  std::vector<JournalEntry> batch;
  std::vector<char> bytes;
  std::vector<uint32_t> ends;
  batch.reserve(batch_size);
  Progress progress("import send", "readings", report.readings_read, o.show_progress);
  auto send_batch = [&]() -> Status {
    if (batch.empty()) return {};
    HRFLOW_TRY(journal.begin(batch));
    bytes.resize(batch.size() * 128);
    ends.clear();
    char* p = bytes.data();
    for (const auto& e : batch) {
      p = format_event(p, e.user_id, e.heart_rate, e.timestamp, int64_t{e.activity} + 20000);
      ends.push_back(static_cast<uint32_t>(p - bytes.data()));
    }
    const int64_t now_ms = SystemClock::instance().now_ms();
    uint32_t start = 0;
    for (size_t i = 0; i < batch.size(); ++i) {
      const std::string key_text = std::to_string(batch[i].user_id);
      HRFLOW_TRY(producer->send(key_text, std::string_view(bytes.data() + start, ends[i] - start), now_ms));
      start = ends[i];
    }
    HRFLOW_TRY(producer->flush());
    HRFLOW_TRY(journal.commit());
    report.imported += batch.size();
    progress.add(batch.size());
    batch.clear();
    return {};
  };
  std::vector<uint64_t> per_subject(subjects.size(), 0);
  for (;;) {
    HRFLOW_TRY(spill.next(chunk, batch_size));
    if (chunk.empty()) break;
    for (const auto& r : chunk) {
      const auto user = static_cast<uint32_t>(users.user_ids[r.subject]);
      const auto ts = static_cast<uint32_t>(r.timestamp);
      if (r.timestamp < kWarehouseFirstReading || r.timestamp < activities_from || r.timestamp < placeable_from[r.subject]) {
        ++(r.timestamp < kWarehouseFirstReading ? skipped_early : r.timestamp < activities_from ? skipped_activities : skipped_user);
        progress.add(1);
        continue;
      }
      if (journal.holds(user, ts)) {
        ++report.duplicates;
        progress.add(1);
        continue;
      }
      journal.hold(user, ts);
      batch.push_back({user, ts, r.heart_rate, static_cast<uint16_t>(activities.activity_of(r) - 20000)});
      ++per_subject[r.subject];
      if (batch.size() >= batch_size) {
        HRFLOW_TRY(send_batch());
        if (o.stop.stop_requested()) {
          report.interrupted = true;
          break;
        }
      }
    }
    if (report.interrupted) break;
  }
  if (!report.interrupted) HRFLOW_TRY(send_batch());
  progress.finish();
  for (auto [reason, n] : {std::pair{&too_early, skipped_early}, std::pair{&before_activities, skipped_activities},
                           std::pair{&before_user, skipped_user}}) {
    if (n) report.skipped[*reason] += n;
  }
  for (size_t i = 0; i < subjects.size(); ++i) report.participants[i].readings = per_subject[i];
  report.deliver_seconds = seconds_since(t1);
  if (report.errors.empty()) std::filesystem::remove(report.errors_path, ec);
  return report;
}

std::vector<std::string> summary_lines(const ImportReport& r) {
  std::vector<std::string> lines;
  lines.push_back(fmt::format("records read       {:>12}  ({} in {:.1f} s)", with_thousands(r.records_in),
                              r.input_bytes >= (1 << 20) ? fmt::format("{:.1f} MB", r.input_bytes / 1e6)
                                                         : fmt::format("{} bytes", r.input_bytes),
                              r.read_seconds));
  lines.push_back(fmt::format("readings imported  {:>12}", with_thousands(r.imported)));
  lines.push_back(fmt::format("duplicates         {:>12}  (already imported, or the same second twice)",
                              with_thousands(r.duplicates)));
  for (const auto& [reason, n] : r.skipped) lines.push_back(fmt::format("skipped            {:>12}  {}", with_thousands(n), reason));
  for (const auto& [reason, n] : r.errors) lines.push_back(fmt::format("errors             {:>12}  {}", with_thousands(n), reason));
  if (!r.errors.empty()) lines.push_back(fmt::format("errors file        {}", r.errors_path.string()));
  if (r.workouts) lines.push_back(fmt::format("workouts           {:>12}  (readings during them carry their activity)", with_thousands(r.workouts)));
  if (r.recovered) lines.push_back(fmt::format("recovered          {:>12}  readings of an interrupted import found in the stream", with_thousands(r.recovered)));
  for (const auto& p : r.participants) {
    lines.push_back(fmt::format("participant        {} = user {}{}", p.label, p.user_id, p.created ? " (new user)" : ""));
  }
  if (r.interrupted) lines.push_back("interrupted: run the same command again to finish (nothing is sent twice)");
  return lines;
}

}  // namespace hrflow::import
