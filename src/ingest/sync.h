// `hrflow sync` as a library call: load what is new from the lake and/or PostgreSQL (CDC) into the
// warehouse's raw schema. The CLI (`hrflow sync`) and `hrflow serve` (materializing raw.* assets) share
// this one code path.
//
// Lifecycle: one call per sync; it returns when the selected sources are caught up (or, with `follow`,
// when request.stop asks). Not thread-safe with respect to the warehouse: one writer at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "common/config.h"
#include "common/duckdb.h"
#include "common/status.h"
#include "common/stop.h"

namespace hrflow::ingest {

enum class SyncSource { kBoth, kLake, kOltp };

struct SyncRequest {
  SyncSource source = SyncSource::kBoth;
  bool follow = false;      // oltp: keep streaming changes until stopped
  bool resnapshot = false;  // oltp: drop the slot and copy the tables again
  bool progress = true;     // progress lines on stderr
  StopToken stop;           // ends the sync early (what was committed stays; the next sync resumes)
};

struct SyncResult {
  uint64_t lake_rows = 0;           // rows loaded from lake files
  uint64_t lake_rows_replaced = 0;  // rows of rewritten lake files' previous versions, deleted
  uint64_t oltp_rows = 0;           // snapshot rows + changes
  std::map<std::string, uint64_t> oltp_rows_by_table;  // "users" -> its snapshot rows + changes
  uint64_t rows() const { return lake_rows + oltp_rows; }
  // Whether raw changed at all: a sync that changed nothing leaves every downstream as it was.
  bool changed() const { return rows() > 0 || lake_rows_replaced > 0; }
};

// `log` receives the summary lines (what was loaded, what was skipped), one call per line.
Result<SyncResult> sync(const Config& config, db::Database& warehouse, const SyncRequest& request,
                        const std::function<void(const std::string&)>& log);

}  // namespace hrflow::ingest
