// Merging a closed hour's small lake files into one per partition, after sync has loaded them.
//
// A sink that closes files every few seconds (sink.max_file_age, live mode) leaves thousands of small
// files per hour. Once an hour bucket is closed (its end + sync.merge_after has passed, by the wall
// clock or by the newest event-time hour of the partition in the lake) and its files
// are final (first offset below the partition's committed position, which the sink records in its
// flush marker: a replay after a crash starts there, so these names are never rewritten), sync merges
// the files of each (topic, hour, partition) into the file with the smallest first offset: the same
// Confluent name, the inputs' lines concatenated in offset order. Raw rows are not touched: they keep
// the URL of the file they were loaded from, and the inputs' history entries stay, marked
// `merged_into`, so a file can never be loaded twice, whatever is listed later. A fresh warehouse
// loads the merged file once.
//
// Crash safety: an intent row (raw._hrflow_lake_merges: target, its fingerprint before, the inputs)
// commits before the merged file is stored; the history swap and the intent's removal commit together
// after it; only then are the other inputs removed. The next sync finishes or abandons an intent
// before it loads anything (`recover_merges`), and removes inputs left behind.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/duckdb.h"
#include "common/status.h"
#include "common/stop.h"
#include "lake/storage.h"

namespace hrflow::ingest {

// A stored file's bytes as one number: a file the sink stored again byte for byte (its replay after a
// crash) is recognised, and raw and everything built from it stay as they are.
uint64_t content_hash(std::string_view bytes);

// What the history knows of a loaded file.
struct KnownFile {
  int64_t modified_us = 0;
  uint64_t size = 0;
  std::string etag;
  std::string merged_into;  // set: merged into that URL (the object itself is removed from the lake)
  uint64_t content_hash = 0;  // 0: not known (loaded before hashes were kept)
  bool same(const lake::ObjectInfo& o) const {
    return modified_us == o.last_modified_ms * 1000 && size == o.size && etag == o.etag;
  }
};
using FileHistory = std::unordered_map<std::string, KnownFile>;  // URL -> entry

struct MergeStats {
  uint64_t buckets = 0, files_merged = 0, files_removed = 0;
};

inline constexpr const char* kLakeMergesTable = "_hrflow_lake_merges";

Status ensure_merge_tables(db::Connection& conn);

// Before loading: finish the merges a killed sync left (or abandon those whose file was never
// stored), and remove inputs of finished merges that are still listed. `listing` loses what is removed.
Status recover_merges(db::Connection& conn, lake::ObjectStore& store, std::vector<lake::ObjectInfo>& listing,
                      FileHistory& history, MergeStats& stats);

// After loading: merge up to `max_buckets` closed hour buckets whose files are all loaded and final.
Status merge_closed_hours(db::Connection& conn, lake::ObjectStore& store, const std::vector<lake::ObjectInfo>& listing,
                          FileHistory& history, int64_t now_ms, int64_t merge_after_ms, size_t max_buckets,
                          const StopToken& stop, MergeStats& stats);

}  // namespace hrflow::ingest
