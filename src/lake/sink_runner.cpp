// The sink loop: drive the LakeSink from a StreamConsumer. The loop is poll -> add -> tick -> commit;
// positions are committed only after the files below them are stored (LakeSink::committable()).
#include "lake/sink_runner.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <set>
#include <thread>

#include "common/backoff.h"
#include "common/progress.h"
#include "lake/sink.h"
#include "stream/stream.h"

namespace hrflow::lake {
namespace {

constexpr int64_t kCommitIntervalMs = 1000;

// Waits between attempts after a temporary failure of the stream or the lake.
constexpr BackoffPolicy kRetryPolicy{200, 10'000};

std::string lag_text(const std::map<int32_t, int64_t>& lag) {
  std::string s = "lag";
  for (auto [p, l] : lag) s += fmt::format(" p{}={}", p, with_thousands(static_cast<uint64_t>(std::max<int64_t>(l, 0))));
  return s;
}

}  // namespace

Result<SinkRunResult> run_sink(const Config& config, const SinkRunOptions& run, const StopToken& stop_token) {
  auto store = open_lake(config);
  if (!store.ok()) return store.error().with_context("opening the lake");
  auto options = SinkOptions::from(config);
  if (!options.ok()) return options.error();
  if (run.max_file_age_ms) options->max_file_age_ms = *run.max_file_age_ms;
  std::string group = config.get_string("stream.consumer_group");
  auto consumer_r = stream::open_consumer(config, group);
  if (!consumer_r.ok()) return consumer_r.error().with_context("opening the stream");
  auto consumer = std::move(consumer_r).value();
  LakeSink sink(**store, *options);
  auto stopping = [&stop_token] { return stop_token.stop_requested(); };
  Progress progress("sink", "records", 0, run.progress);
  spdlog::info("sink: {} -> {} (group {})", options->topic, (*store)->url_of(""), group);

  std::set<int32_t> known;  // partitions the sink holds state for
  Backoff retry(kRetryPolicy);
  bool reported_trouble = false;
  auto trouble = [&](const Error& e) -> bool {  // true: retry, false: give up
    // `--once` is a batch job: report and stop (nothing uncommitted is lost; the next run resumes).
    // A continuous sink waits for the stream or the lake to come back.
    if (!e.retriable || run.once) return false;
    if (!reported_trouble) spdlog::warn("sink: {} — retrying until it works (Ctrl-C stops)", e.message);
    reported_trouble = true;
    return retry.wait(stop_token);
  };
  auto commit = [&]() -> Status {
    auto positions = sink.committable();
    if (positions.empty()) return {};
    stream::Positions p(positions.begin(), positions.end());
    HRFLOW_TRY(consumer->commit(p));
    sink.mark_committed(positions);
    return {};
  };
  int64_t last_lag_ms = 0;
  int64_t last_commit_ms = 0;
  bool stopped = false;
  std::vector<stream::Record> pending;  // a polled batch not yet fully added (retried after a failure)
  size_t pending_next = 0;
  for (;;) {
    if (stopping()) {
      stopped = true;
      break;
    }
    if (pending_next >= pending.size()) {
      auto batch = consumer->poll(50000, 100);
      if (!batch.ok()) {
        if (trouble(batch.error())) continue;
        return batch.error().with_context("reading the stream");
      }
      pending = std::move(batch).value();
      pending_next = 0;
      // Rebalance: forget partitions taken away, without writing or committing their open files.
      auto assigned = consumer->assignment();
      std::set<int32_t> now(assigned.begin(), assigned.end());
      for (auto it = known.begin(); it != known.end();) {
        if (!now.count(*it)) {
          sink.drop_partition(*it);
          it = known.erase(it);
        } else {
          ++it;
        }
      }
      std::erase_if(pending, [&](const stream::Record& r) { return !now.count(r.partition); });
    }
    Status st;
    int32_t last_partition = -1;
    for (; pending_next < pending.size(); ++pending_next) {
      const auto& r = pending[pending_next];
      if (r.partition != last_partition) known.insert(last_partition = r.partition);
      st = sink.add(r.partition, r.offset, r.value);
      if (!st.ok()) break;
    }
    if (st.ok()) st = sink.tick();
    // Commit at most once a second: each commit is a round trip to the brokers or a file sync of the
    // group's positions, and committing later only means replaying a little more after a crash.
    const int64_t now_commit_ms = SystemClock::instance().monotonic_ms();
    if (st.ok() && now_commit_ms - last_commit_ms >= kCommitIntervalMs) {
      st = commit();
      if (st.ok()) last_commit_ms = now_commit_ms;
    }
    if (!st.ok()) {
      if (trouble(st.error())) continue;
      return st.error();
    }
    if (reported_trouble) spdlog::info("sink: working again");
    reported_trouble = false;
    retry.reset();
    progress.update(sink.stats().records);
    if (run.records) run.records->store(sink.stats().records, std::memory_order_relaxed);
    if (run.files) run.files->store(sink.stats().files, std::memory_order_release);
    bool caught_up = false;
    int64_t now_ms = SystemClock::instance().monotonic_ms();
    if ((run.once && pending.empty()) || (run.progress && now_ms - last_lag_ms >= 1000)) {
      last_lag_ms = now_ms;
      auto lag = consumer->lag();
      if (lag.ok()) {
        progress.set_detail(lag_text(*lag));
        caught_up = !consumer->assignment().empty();
        for (auto [p, l] : *lag) caught_up = caught_up && l <= 0;
      }
    }
    if (run.once && pending.empty() && caught_up) break;
  }
  // Clean stop: close every open file and commit, so the lake holds everything read so far.
  for (;;) {
    Status st = sink.close_all();
    if (st.ok()) st = commit();
    if (st.ok()) break;
    if (!st.error().retriable || !retry.wait(stop_token)) return st.error();
  }
  progress.finish();
  const auto& s = sink.stats();
  spdlog::info("sink: {} records ({} bad, under errors/), {} files, {} bytes", with_thousands(s.records),
               with_thousands(s.bad_records), with_thousands(s.files), with_thousands(s.bytes));
  return SinkRunResult{s, stopped};
}

}  // namespace hrflow::lake
