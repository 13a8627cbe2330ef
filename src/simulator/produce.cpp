// `hrflow produce`: the fleet's readings into the configured stream, as a backfill over a period or
// live at wall-clock pace (optionally accelerated).
//
// The simulator (one thread) fills batches of formatted records; the calling thread sends them to
// the stream, whose own I/O thread writes and syncs. A backfill counts as done only after flush()
// acknowledged every record; Ctrl-C stops generating, flushes what was sent and exits cleanly.
//
// Restart after a crash (kill -9, power loss): the stream keeps exactly what was acknowledged, and
// the same command continues after it (ResumePoint below) instead of sending the period again.
#include <fmt/chrono.h>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <ctime>
#include <mutex>
#include <optional>
#include <thread>

#include "common/progress.h"
#include "common/civil_time.h"
#include "common/clock.h"
#include "oltp/fleet_source.h"
#include "simulator/produce.h"
#include "simulator/sample_fleet.h"
#include "simulator/simulator.h"
#include "stream/stream.h"

namespace hrflow::sim {

Result<int64_t> parse_utc_time(std::string_view text) {
  int y = 0;
  unsigned mo = 0, d = 0, h = 0, mi = 0, s = 0;
  std::string t(text);
  if (!t.empty() && (t.back() == 'Z' || t.back() == 'z')) t.pop_back();
  char extra = 0;
  int n = std::sscanf(t.c_str(), "%4d-%2u-%2u%c", &y, &mo, &d, &extra);
  bool ok = n == 3;
  if (n == 4 && (extra == 'T' || extra == ' ')) {
    int m = std::sscanf(t.c_str() + 11, "%2u:%2u:%2u", &h, &mi, &s);
    ok = m >= 2 && (m == 3 ? t.size() == 19 : t.size() == 16);
  } else if (ok) {
    ok = t.size() == 10;
  }
  if (!ok || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) {
    return invalid_argument("'{}' is not a UTC date or time; use YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]", text);
  }
  int64_t days = days_from_civil(y, mo, d);
  int yy;
  unsigned mm, dd;
  civil_from_days(days, yy, mm, dd);
  if (mm != mo || dd != d) return invalid_argument("'{}' is not a calendar date", text);
  return days * 86400 + h * 3600 + mi * 60 + s;
}

Result<Fleet> load_users(const Config& config, const std::string& source) {
  if (source == "oltp") {
    auto f = oltp::load_fleet(config);
    if (!f.ok()) return f.error().with_context("loading users from the operational database (--users oltp)");
    return f;
  }
  if (source.rfind("csv:", 0) == 0) {
    std::filesystem::path dir = source.substr(4);
    auto f = oltp::load_fleet_from_csv(dir);
    if (!f.ok()) return f.error().with_context(fmt::format("loading users from {}", dir.string()));
    return f;
  }
  if (source.rfind("sample:", 0) == 0) {
    int n = 0;
    auto digits = source.substr(7);
    if (digits.empty() || digits.size() > 8 || digits.find_first_not_of("0123456789") != std::string::npos ||
        (n = std::stoi(digits)) <= 0) {
      return invalid_argument("'{}': sample:N needs a user count N between 1 and 99999999", source);
    }
    return sample_fleet(n, static_cast<uint64_t>(config.get_int("seed")));
  }
  return invalid_argument(
      "unknown user source '{}': use oltp (the operational database, default), csv:DIR (an `hrflow oltp "
      "export` directory; same as --users-csv DIR) or sample:N (a synthetic fleet of N users)",
      source);
}

namespace {

std::string utc_text(int64_t epoch_s) {
  return fmt::format("{:%Y-%m-%d %H:%M:%S} UTC", fmt::gmtime(static_cast<std::time_t>(epoch_s)));
}

// Where a restarted producer continues. The simulator re-creates the same readings for the same
// fleet, seed and period, in (timestamp, user id) order, and a user always lands on the same
// partition. So each partition of the stream holds a prefix of its own readings, ending at its newest
// record (the "mark"), and a generated reading is already there iff (timestamp, user id) <= the mark
// of its partition: every earlier second, and at the mark's second the users up to and including the
// mark's. Partitions are judged separately because they are written and acknowledged separately: a
// crash leaves some of them further ahead than others.
class ResumePoint {
 public:
  // From the newest record of each partition. Fails when such a record is not a reading (another
  // producer's data): then there is no safe place to continue and the user decides (--no-resume).
  static Result<ResumePoint> from(const stream::StreamEnd& end) {
    ResumePoint r;
    r.partitions_ = end.partitions;
    r.marks_.resize(static_cast<size_t>(std::max(end.partitions, 0)));
    for (const auto& [p, record] : end.last) {
      int64_t user = 0;
      auto [ptr, ec] = std::from_chars(record.key.data(), record.key.data() + record.key.size(), user);
      auto value = nlohmann::json::parse(record.value, nullptr, false);
      if (ec != std::errc() || ptr != record.key.data() + record.key.size() || !value.is_object() ||
          !value.contains("timestamp") || !value["timestamp"].is_number_integer() || p < 0 || p >= end.partitions) {
        return invalid_argument(
            "cannot tell where to resume: the newest record of partition {} (offset {}) is not a heart-rate reading "
            "keyed by user id (key '{}', value '{}'). Use --no-resume to produce without skipping anything",
            p, record.offset, record.key.substr(0, 40), record.value.substr(0, 120));
      }
      const int64_t ts = value["timestamp"].get<int64_t>();
      r.marks_[static_cast<size_t>(p)] = std::pair{ts, user};
      r.newest_ = std::max(r.newest_, ts);
      ++r.marked_;
    }
    r.active_ = r.marked_ > 0;
    return r;
  }

  // False once no further reading can be in the stream (or nothing was in it): no more checks.
  bool active() const { return active_; }
  int marked_partitions() const { return marked_; }
  int64_t newest() const { return newest_; }  // the newest mark's second

  // Drop the readings of rs[0, n) (in generation order) that the stream already holds; the kept ones
  // move to the front. Returns how many are kept.
  size_t filter(Reading* rs, size_t n) {
    size_t kept = 0;
    for (size_t i = 0; i < n; ++i) {
      const Reading& r = rs[i];
      if (r.timestamp > newest_) {
        active_ = false;  // past every mark: everything from here on is new
        if (kept != i) std::copy(rs + i, rs + n, rs + kept);
        return kept + (n - i);
      }
      char key[24];
      const char* key_end = format_key(r.user_id, key);
      const auto& mark = marks_[static_cast<size_t>(stream::partition_for_key({key, size_t(key_end - key)}, partitions_))];
      if (mark && std::pair{r.timestamp, r.user_id} <= *mark) continue;  // already in the stream
      rs[kept++] = r;
    }
    return kept;
  }

 private:
  int32_t partitions_ = 0;
  std::vector<std::optional<std::pair<int64_t, int64_t>>> marks_;  // per partition: (timestamp, user id)
  int64_t newest_ = std::numeric_limits<int64_t>::min();
  int marked_ = 0;
  bool active_ = false;
};

// Formatted records of consecutive readings: values back to back, with offsets.
struct Batch {
  std::vector<char> bytes;
  std::vector<uint32_t> value_end, key_end;  // cumulative ends: key then value per record
  std::vector<int64_t> timestamps;
  int64_t last_ts = 0;        // the last generated reading's second (sent or skipped)
  uint64_t skipped = 0;       // readings generated for this batch but already in the stream
  bool resume_done = false;   // the first batch after the last reading already in the stream
  void clear() {
    bytes.clear();
    value_end.clear();
    key_end.clear();
    timestamps.clear();
  }
};

// A bounded hand-over of batches from the simulator thread to the sending thread.
class BatchQueue {
 public:
  explicit BatchQueue(size_t capacity) : capacity_(capacity) {}
  bool push(Batch&& b) {  // false when closed
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [&] { return closed_ || q_.size() < capacity_; });
    if (closed_) return false;
    q_.push_back(std::move(b));
    not_empty_.notify_one();
    return true;
  }
  bool pop(Batch& out) {  // false when closed and drained
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return !q_.empty() || closed_; });
    if (q_.empty()) return false;
    out = std::move(q_.front());
    q_.pop_front();
    not_full_.notify_one();
    return true;
  }
  void close() {
    std::lock_guard lock(mu_);
    closed_ = true;
    not_empty_.notify_all();
    not_full_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable not_full_, not_empty_;
  std::deque<Batch> q_;
  size_t capacity_;
  bool closed_ = false;
};

void format_batch(const Reading* rs, size_t n, Batch& b) {
  b.clear();
  b.bytes.resize(n * (kMaxJsonBytes + 24));
  char* base = b.bytes.data();
  char* p = base;
  for (size_t i = 0; i < n; ++i) {
    p = format_key(rs[i].user_id, p);
    b.key_end.push_back(static_cast<uint32_t>(p - base));
    p = format_json(rs[i], p);
    b.value_end.push_back(static_cast<uint32_t>(p - base));
    b.timestamps.push_back(rs[i].timestamp);
  }
  b.bytes.resize(static_cast<size_t>(p - base));
  if (n) b.last_ts = rs[n - 1].timestamp;
}

// The stream record's timestamp: live, the reading's time (it is now); in a backfill, the time it was
// produced, because a topic's time-based retention (Kafka's 7 days) would delete records stamped with
// an older period's times at its next check, before the sink could read them. The reading's own time
// is always the `timestamp` field of the record.
Status send_batch(stream::StreamProducer& producer, const Batch& b, bool live) {
  const char* base = b.bytes.data();
  uint32_t start = 0;
  const int64_t produced_ms = SystemClock::instance().now_ms();
  for (size_t i = 0; i < b.timestamps.size(); ++i) {
    std::string_view key(base + start, b.key_end[i] - start);
    std::string_view value(base + b.key_end[i], b.value_end[i] - b.key_end[i]);
    HRFLOW_TRY(producer.send(key, value, live ? b.timestamps[i] * 1000 : produced_ms));
    start = b.value_end[i];
  }
  return {};
}


// The sentence ProduceResult::nothing_sent holds when no event was sent.
std::string why_nothing_was_sent(uint64_t skipped, const ResumePoint& resume, bool interrupted, bool live,
                                 size_t with_account) {
  if (interrupted) {
    return skipped > 0 ? fmt::format("stopped before the first reading after those already in the stream ({} skipped)",
                                     with_thousands(skipped))
                       : std::string(live ? "stopped before the first reading was due" : "stopped before the first reading was sent");
  }
  if (skipped > 0) {
    return fmt::format(
        "the stream already held every reading of this period (it ends at {}): nothing new to send. To write them "
        "again on purpose, use --no-resume",
        utc_text(resume.newest()));
  }
  return fmt::format(
      "no reading falls in this period: {} {} an account in it, but a watch records only every few seconds to "
      "minutes, and only while its account exists; try a longer period",
      with_account, with_account == 1 ? "user has" : "users have");
}

// Readings fall only inside account spans, so a period that no span overlaps would send nothing. Most
// often the users were generated as of a date after the period (`hrflow oltp generate` defaults to now):
// an error naming the accounts' time and the fix. Returns how many users have an account in it.
Result<size_t> users_with_an_account_in(const Fleet& fleet, const std::string& source, int64_t from, int64_t to,
                                        bool live) {
  constexpr int64_t kOpen = std::numeric_limits<int64_t>::max();
  size_t with_account = 0;
  std::optional<int64_t> next_start, last_end;  // of the accounts after / before the period
  for (const auto& u : fleet.users) {
    bool in_period = false;
    for (const auto& span : u.accounts) {
      const int64_t end = span.to_ts.value_or(kOpen);
      if (span.from_ts < to && end > from) {
        in_period = true;
      } else if (span.from_ts >= to) {
        next_start = std::min(next_start.value_or(kOpen), span.from_ts);
      } else {
        last_end = std::max(last_end.value_or(std::numeric_limits<int64_t>::min()), end);
      }
    }
    with_account += in_period ? 1 : 0;
  }
  if (with_account > 0) return with_account;
  const std::string none = fmt::format(
      "none of the {} users of '{}' has an account in the period {}, so there is nothing to send", fleet.users.size(),
      source, live ? fmt::format("from {} on (live)", utc_text(from)) : fmt::format("{} .. {}", utc_text(from), utc_text(to)));
  if (!last_end) {
    return invalid_argument(
        "{}: the first account starts at {}. {}, or produce a period from {} on", none, utc_text(*next_start),
        source == "oltp" ? fmt::format("Generate the users as of a date before the period (`hrflow oltp generate --as-of {}`; "
                                       "add --replace to drop the current users and their change history first)",
                                       format_utc(from - 86400).substr(0, 10))
                         : std::string("Use a user source whose accounts exist in the period"),
        format_utc(*next_start).substr(0, 10));
  }
  if (!next_start) {
    return invalid_argument("{}: every account ended (was deleted) by {}. Produce a period before that, or sign users "
                            "up in it (`hrflow oltp mutate`)",
                            none, utc_text(*last_end));
  }
  return invalid_argument("{}: the accounts ended by {} or start at {}. Produce a period that overlaps them", none,
                          utc_text(*last_end), utc_text(*next_start));
}

}  // namespace

Result<ProduceResult> produce(const Config& config, const ProduceOptions& o, const StopToken& stop) {
  // --- arguments ---------------------------------------------------------------------------------
  int64_t from = 0, to = std::numeric_limits<int64_t>::max();
  const int64_t now_s = SystemClock::instance().now_ms() / 1000;
  if (!o.from.empty()) {
    auto t = parse_utc_time(o.from);
    if (!t.ok()) return t.error().with_context("--from");
    from = *t;
  } else if (o.live) {
    from = now_s;
  } else {
    return invalid_argument("a backfill needs --from and --to (e.g. --from 2025-01-01 --to 2026-01-01), or use --live");
  }
  if (!o.to.empty()) {
    auto t = parse_utc_time(o.to);
    if (!t.ok()) return t.error().with_context("--to");
    to = *t;
  } else if (!o.live) {
    return invalid_argument("a backfill needs --to (the end of the period, exclusive), or use --live");
  }
  if (from >= to) {
    return invalid_argument("--from {} is not before --to {}; the period would be empty", o.from, o.to);
  }
  if (o.live && !(o.speed > 0)) {
    return invalid_argument("--speed must be positive (1 = real time, 60 = a minute per second)");
  }
  std::string source = o.users_csv.empty() ? o.users : "csv:" + o.users_csv;

  // --- fleet, simulator, stream ------------------------------------------------------------------
  auto fleet = load_users(config, source);
  if (!fleet.ok()) return fleet.error();
  if (fleet->users.empty()) {
    return invalid_argument("the user source '{}' has no users; generate some with `hrflow oltp generate`", source);
  }
  auto with_account = users_with_an_account_in(*fleet, source, from, to, o.live);
  if (!with_account.ok()) return with_account.error();
  const auto seed = static_cast<uint64_t>(config.get_int("seed"));
  auto sim = FleetSimulator::create(*fleet, {seed, from, to});
  if (!sim.ok()) return sim.error();
  auto producer = stream::open_producer(config);
  if (!producer.ok()) return producer.error();
  ResumePoint resume;
  if (!o.no_resume) {
    auto end = (*producer)->last_records();
    if (!end.ok()) return end.error().with_context("reading where the stream ends, to resume after it");
    auto point = ResumePoint::from(*end);
    if (!point.ok()) return point.error();
    resume = std::move(*point);
  }
  std::filesystem::path truth_path =
      o.ground_truth.empty() ? config.get_path("simulator.ground_truth") : std::filesystem::path(o.ground_truth);
  const bool live = o.live;
  std::string stream_name = config.get_string("stream.kafka.bootstrap_servers").empty()
                                ? "the local log " + config.get_path("stream.log.dir").string()
                                : "Kafka topic " + config.get_string("stream.topic");
  if (!o.quiet) {
    const std::string active = *with_account < fleet->users.size()
                                   ? fmt::format(" ({} with an account in the period)", *with_account)
                                   : "";
    std::fprintf(stderr, "produce: %zu users%s, %s into %s%s\n", fleet->users.size(), active.c_str(),
                 live ? fmt::format("live at {}x", o.speed).c_str() : fmt::format("{} .. {}", o.from, o.to).c_str(),
                 stream_name.c_str(), live ? "; Ctrl-C stops" : "");
  }

  // --- the simulator thread ------------------------------------------------------------------------
  BatchQueue queue(8);
  const int64_t wall_start_ms = SystemClock::instance().monotonic_ms();
  std::thread generator([&] {
    std::vector<Reading> rs(8192);
    for (;;) {
      if (stop.stop_requested()) break;
      int64_t before = std::numeric_limits<int64_t>::max();
      if (live) {
        // Simulated "now": the start plus the elapsed wall time times the speed.
        double elapsed = static_cast<double>(SystemClock::instance().monotonic_ms() - wall_start_ms) / 1000.0;
        before = from + static_cast<int64_t>(elapsed * o.speed) + 1;
      }
      size_t n = sim->next_batch(rs.data(), rs.size(), before);
      if (n == 0) {
        if (!live || sim->next_timestamp() == std::numeric_limits<int64_t>::max()) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // live: wait for the next reading's time
        continue;
      }
      const int64_t last_ts = rs[n - 1].timestamp;
      size_t kept = n;
      const bool resuming = resume.active();
      if (resuming) kept = resume.filter(rs.data(), n);
      Batch b;
      format_batch(rs.data(), kept, b);
      b.last_ts = last_ts;
      b.skipped = n - kept;
      b.resume_done = resuming && !resume.active();
      if (!queue.push(std::move(b))) break;
    }
    if (resume.active() && !stop.stop_requested()) {  // the period ended before the stream's end
      Batch b;
      b.resume_done = true;
      queue.push(std::move(b));
    }
    queue.close();
  });

  // --- send (this thread) ----------------------------------------------------------------------------
  Progress progress("produce", "events", 0, !o.quiet);
  uint64_t sent = 0, skipped = 0;
  Status failure;
  Batch b;
  int64_t last_ts = 0;
  int64_t last_flush_ms = SystemClock::instance().monotonic_ms();
  if (resume.active()) progress.set_detail("skipping readings already in the stream");
  while (queue.pop(b)) {
    if (Status st = send_batch(**producer, b, live); !st.ok()) {
      failure = st;
      break;
    }
    sent += b.timestamps.size();
    skipped += b.skipped;
    if (b.last_ts) last_ts = b.last_ts;
    if (b.resume_done) {
      progress.set_detail("");
      progress.note(fmt::format(
          "produce: resuming after the newest reading already in the stream: {} partitions, up to {}; {} readings "
          "skipped",
          resume.marked_partitions(), utc_text(resume.newest()), with_thousands(skipped)));
    }
    // Progress counts skipped readings too: they are part of the period's work.
    if (!live && last_ts > from && to != std::numeric_limits<int64_t>::max()) {
      double frac = static_cast<double>(last_ts - from) / static_cast<double>(to - from);
      if (frac > 0.001) progress.set_total(static_cast<uint64_t>(static_cast<double>(sent + skipped) / frac));
    }
    progress.update(sent + skipped);
    if (live && SystemClock::instance().monotonic_ms() - last_flush_ms >= 1000) {
      // Live: make readings visible to consumers about once a second.
      if (Status st = (*producer)->flush(); !st.ok()) {
        failure = st;
        break;
      }
      last_flush_ms = SystemClock::instance().monotonic_ms();
      if (!resume.active()) progress.set_detail(fmt::format("at {}", utc_text(last_ts)));
    }
  }
  queue.close();
  generator.join();
  progress.set_total(0);
  Status flushed = (*producer)->flush();
  if (failure.ok() && !flushed.ok()) failure = flushed;
  progress.finish();
  const bool interrupted = stop.stop_requested();
  auto& truth = sim->mutable_ground_truth();
  if (interrupted || live) truth.set_period_end(std::min(to, last_ts + 1));
  if (Status st = truth.write_json(truth_path); !st.ok()) {
    spdlog::warn("{}", st.error().message);
  }
  if (!failure.ok()) {
    return failure.error().with_context(fmt::format("{} of {} events acknowledged before the error",
                                                    (*producer)->acknowledged(), sent));
  }
  ProduceResult result;
  result.sent = sent;
  result.acknowledged = (*producer)->acknowledged();
  result.skipped = skipped;
  result.interrupted = interrupted && !live;
  result.stream_name = stream_name;
  result.ground_truth = truth_path;
  if (sent == 0) result.nothing_sent = why_nothing_was_sent(skipped, resume, interrupted, live, *with_account);
  return result;
}

}  // namespace hrflow::sim
