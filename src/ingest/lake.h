// The lake source of `hrflow sync lake`: lake files (JSON lines, optionally .gz/.zst) ->
// raw.heart_rate_stream, each new or changed file exactly once.
//
// Files are loaded in batches, each batch in one warehouse transaction together with the history
// entries of its files (raw._hrflow_lake_files: URL, last-modified, size, etag), so a crash can neither
// load a file twice nor skip it. A batch is one INSERT ... SELECT from the table function
// hrflow_lake_files, which DuckDB runs on all its threads, each parsing whole files taken in cursor
// order, so rows of one file stay together and in order. A file is loaded when
// its URL is not in the history or its fingerprint (last-modified, size, etag) changed; a changed file
// (the sink rewrites a file under the same name after a crash, possibly with fewer records) replaces the
// rows of its previous version in the same transaction, so raw holds each file's current content
// exactly once. The cursor is
// `_ab_source_file_last_modified` as in Airbyte; when the history exceeds sync.history_max_files, entries
// older than (cursor - sync.days_to_sync_if_history_full days) are compacted to a URL hash, which still
// proves a file was loaded. Unlike Airbyte, a file that appears late with an older modification time is
// never skipped: only its URL decides.
//
// Records: simdjson parses each line; numbers given as strings are coerced and noted in
// `_airbyte_meta.changes`; lines that cannot be read are loaded with NULL fields and the error (file:line
// and the original text) in `_airbyte_meta.errors`. Files under errors/ (records the sink could not
// place by time) are loaded the same way, one row per record with the sink's error, so nothing is lost.
// Objects that are not lake files are skipped and reported; the sink's own `_hrflow/` markers are
// skipped silently.
//
// Lifecycle: LakeSource::run() once per command; it registers hrflow_lake_files with the database (kept
// for the database's life; it only reads batches of a run in progress). Not thread-safe; one owner of
// the warehouse.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/duckdb.h"
#include "common/status.h"
#include "common/stop.h"
#include "lake/layout.h"
#include "ingest/lake_merge.h"
#include "lake/storage.h"

namespace hrflow::ingest {

struct LakeOptions {
  int64_t days_to_sync_if_history_full = 3;
  int64_t history_max_files = 10000;
  // Files per transaction: about this much stored data (or 1000 files; see plan_batches). Large,
  // because each commit leaves partly filled row groups that DuckDB's checkpoints rewrite.
  uint64_t batch_bytes = 256ull << 20;
  bool progress = true;
  StopToken stop;  // asked between batches and files; a stopped batch rolls back
  int64_t merge_after_ms = 0;    // merge a closed hour's small files this long after it ended (0: never)
  size_t max_merge_buckets = 64;  // (topic, hour, partition) merges per sync at most: bounded work per run
};

struct LakeStats {
  uint64_t files_listed = 0, files_loaded = 0, files_reloaded = 0, files_unchanged = 0, files_empty = 0;
  uint64_t files_damaged = 0;  // compressed files that were truncated or damaged (what could be read is loaded)
  uint64_t rows = 0, rows_with_errors = 0, rows_coerced = 0, rows_replaced = 0, bytes = 0;
  std::vector<std::string> skipped;  // "key: reason" of objects that are not lake files
  MergeStats merge;                  // small files merged after loading (lake_merge.h)
  double seconds = 0;
};

// Create raw.heart_rate_stream and the load history if missing.
Status ensure_lake_tables(db::Connection& conn);
// Parse one lake file (`content`, compressed as the key says; used as scratch space) and append its
// records to raw.heart_rate_stream through `conn`, inside the caller's transaction if one is open.
// `error_file`: the lines are the sink's {"partition","offset","error","value"} records of errors/.
Status load_lake_content(db::Connection& conn, std::string& content, lake::Compression compression,
                         const std::string& url, int64_t modified_us, int64_t extracted_us, LakeStats& stats,
                         bool error_file = false);

// How files of these stored sizes (in cursor order) split into batches: the end index of each batch.
// A batch takes files until it holds `batch_bytes` (at least one file, at most `max_files`); what
// would be left after it joins it when that rest is under half a batch, so a load never ends with a
// small transaction that costs a commit and partly filled row groups for little crash safety.
std::vector<size_t> plan_batches(const std::vector<uint64_t>& sizes, uint64_t batch_bytes, size_t max_files);

class LakeSource {
 public:
  static Result<LakeStats> run(lake::ObjectStore& store, db::Database& warehouse, const LakeOptions& options,
                               const Clock& clock = SystemClock::instance());
};

inline constexpr const char* kLakeHistoryTable = "_hrflow_lake_files";
inline constexpr const char* kLakeCompactedTable = "_hrflow_lake_files_compacted";

}  // namespace hrflow::ingest
