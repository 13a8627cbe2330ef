// What `hrflow serve` orchestrates: the asset graph of the pipeline and how to materialize each asset.
//
// The warehouse pipeline (make_warehouse_pipeline) has the lake as a source asset (fed by the sink),
// the raw tables landed by the ingest stage (ingest::sync, as `hrflow sync`), and the seeds and models
// of the transform project (as `hrflow build`), with each model's `meta.automation`. Materializing an
// asset calls the stage that owns it, in this process, on the warehouse this process owns: a model or
// seed is built with its data tests, and a failing error-severity test ends the run as kTestsFailed
// (which blocks its downstream); a raw table is synced and then its source tests run.
//
// Lifecycle: made once by the Service; materialize() is called from one worker thread at a time,
// observe() from the automation loop. Implementations must be safe for that use.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/duckdb.h"
#include "common/status.h"
#include "common/stop.h"
#include "lake/storage.h"
#include "serve/automation.h"

namespace hrflow::serve {

struct RunContext {
  int64_t run_id = 0;
  std::function<void(const std::string&)> log;  // one line of the run's log
  StopToken stop;                                 // asks the run to end early (serve is stopping)
};

struct RunReport {
  RunOutcome outcome = RunOutcome::kSucceeded;
  std::optional<Error> error;
  int64_t rows = 0;  // rows written (or records loaded)
  // False when the run left the asset exactly as it was (a sync that loaded nothing, an incremental
  // model with no new rows, a table rebuilt identical): its data version stays, downstream does not run.
  bool changed = true;
};

class Pipeline {
 public:
  virtual ~Pipeline() = default;
  virtual Result<std::vector<AssetSpec>> assets() = 0;
  virtual RunReport materialize(const std::string& asset, RunContext& ctx) = 0;
  // Arrival time of the newest data of source asset `key` (nullopt: none yet).
  virtual std::optional<int64_t> observe(const std::string& key) = 0;
  // Prometheus lines of the pipeline's services (stream lag, records/s), may be empty.
  virtual std::string metrics() { return ""; }
  // Directories whose files the pipeline's own SQL reads (the seeds' CSV files): the only ones DuckDB
  // may still open once serve closes its external access for the SQL endpoint.
  virtual std::vector<std::filesystem::path> directories_read() const { return {}; }
};

// When the lake last received files, at a cost that does not grow with its history: the sink writes a
// small flush marker per partition (`_hrflow/sink/...`) with every round of files, so the newest
// marker tells. Markers are stored just before their round's files, so a sync listing the lake at that
// moment could miss files still being stored: a marker time T is reported as T at first and, from
// T + settle_ms() on, as T + settle_ms() (one more version, so one more sync, which sees them all).
// settle_ms() is short on a file system (renames) and longer on S3 (uploads). A lake without markers
// (written by another tool) is listed in full, at most every kLakeWalkEveryMs.
class LakeObserver {
 public:
  static constexpr int64_t kLakeWalkEveryMs = 10'000;
  explicit LakeObserver(const Config& config);
  // nullopt: no data yet (or the lake cannot be read right now).
  std::optional<int64_t> newest_ms(int64_t now_ms);
  // For a sync about to list the lake: wait until no round of files can still be in flight, so that
  // the newest_ms() taken after it counts as fully loaded.
  void wait_until_settled(const StopToken& stop);
  int64_t settle_ms() const { return settle_ms_; }

 private:
  std::optional<int64_t> newest_marker_ms();
  const Config& config_;
  int64_t settle_ms_;
  std::unique_ptr<lake::ObjectStore> store_;
  int64_t last_walk_ms_ = -kLakeWalkEveryMs;
  std::optional<int64_t> walked_;
};

// The heart-rate pipeline over the warehouse `db` (owned by the caller, outliving the pipeline).
Result<std::unique_ptr<Pipeline>> make_warehouse_pipeline(const Config& config, db::Database& db);

// The asset graph of a transform project folder (transform::Project: models, seeds, sources, each
// model's meta.automation), plus the lake and the raw tables. Asset keys are the relations written.
Result<std::vector<AssetSpec>> read_project_graph(const std::filesystem::path& project_dir);

}  // namespace hrflow::serve
