// `hrflow produce` as a library call: the fleet's readings into the configured stream, as a backfill
// over a period or live at wall-clock pace (optionally accelerated), until done or `stop` asks.
// A restarted call continues after what the stream already holds (see produce.cpp), so nothing is
// duplicated or missing. Progress lines go to stderr unless `quiet`.
// Lifecycle: one call per run; not thread-safe with another producer of the same period.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "common/config.h"
#include "common/fleet.h"
#include "common/status.h"
#include "common/stop.h"

namespace hrflow::sim {

struct ProduceOptions {
  std::string from, to;  // UTC, as parse_utc_time() reads them
  bool live = false;
  double speed = 1.0;
  std::string users = "oltp";
  std::string users_csv;
  std::string ground_truth;
  bool quiet = false;
  bool no_resume = false;
};

struct ProduceResult {
  uint64_t sent = 0, acknowledged = 0;
  uint64_t skipped = 0;      // readings already in the stream (resume)
  bool interrupted = false;  // a backfill stopped before the end of its period
  std::string stream_name;
  std::filesystem::path ground_truth;
  // Why no event was sent, when none was (a sentence for the user; empty when some were): the stream
  // already held every reading of the period, no reading fell in it, or the run was stopped first.
  // A period in which no user has an account at all is an error instead (produce() fails, naming the fix).
  std::string nothing_sent;
};

Result<ProduceResult> produce(const Config& config, const ProduceOptions& options, const StopToken& stop);

// The fleet from a user source: "oltp" (the operational database), "csv:DIR" (an `hrflow oltp
// export` directory) or "sample:N" (sample_fleet.h). Anything else is a clear error.
Result<Fleet> load_users(const Config& config, const std::string& source);

// "2025-01-01", "2025-01-01T06:30", "2025-01-01T06:30:15Z" (UTC) -> epoch seconds.
Result<int64_t> parse_utc_time(std::string_view text);

}  // namespace hrflow::sim
