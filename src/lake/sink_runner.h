// The lake sink as a library call: consume the configured stream into the configured lake until
// `stop` asks (or, with `once`, until caught up), then close and commit every open file.
// `hrflow sink` (src/cli/sink_command.cpp) and `hrflow serve` (a supervised service) both call it.
//
// Temporary failures of the stream or the lake are retried with backoff inside the call (reported
// once in the log); the call returns an error only when it is not retriable or, with `once`, at the
// first failure. Nothing uncommitted is lost either way: the next call resumes from the committed
// positions. Safe to run on any one thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>

#include "common/config.h"
#include "common/status.h"
#include "common/stop.h"
#include "lake/sink.h"

namespace hrflow::lake {

struct SinkRunOptions {
  bool once = false;      // stop when caught up and every file is closed
  bool progress = false;  // records/s and per-partition lag on stderr
  std::atomic<uint64_t>* records = nullptr;  // if set: records accepted so far (for /metrics)
  std::atomic<uint64_t>* files = nullptr;    // if set: files stored so far (they can be synced now)
  std::optional<int64_t> max_file_age_ms;    // if set: instead of sink.max_file_age
};

struct SinkRunResult {
  SinkStats stats;
  bool stopped = false;  // ended because `stop` asked (not caught up with `once`)
};

Result<SinkRunResult> run_sink(const Config& config, const SinkRunOptions& options, const StopToken& stop);

}  // namespace hrflow::lake
