#include "ingest/lake.h"

#include <spdlog/spdlog.h>
#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstring>
#include <memory>
#include <mutex>
#include <cmath>
#include <optional>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "ingest/lake_merge.h"
#include "ingest/lake_scan.h"
#include "common/progress.h"
#include "common/stop.h"
#include "ingest/airbyte.h"

namespace hrflow::ingest {
namespace {

namespace od = simdjson::ondemand;

// Stable 64-bit hash of a URL for the compacted history (FNV-1a).
uint64_t url_hash(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

constexpr const char* kStreamDdl =
    "CREATE TABLE IF NOT EXISTS raw.heart_rate_stream (_airbyte_raw_id UUID, _airbyte_extracted_at TIMESTAMPTZ, "
    "_airbyte_meta JSON, _ab_source_file_url VARCHAR, _ab_source_file_last_modified TIMESTAMPTZ, user_id BIGINT, "
    "heart_rate DOUBLE, \"timestamp\" BIGINT, meta JSON)";

using Known = KnownFile;

using namespace detail;

// Files per transaction at most (the other bound is LakeOptions::batch_bytes).
constexpr size_t kBatchFiles = 1000;

// Load todo[begin, end) in one transaction: the old rows of changed files deleted, the rows inserted by
// DuckDB's parallel insert from hrflow_lake_files, the history entries written, then one commit. Returns
// false (nothing committed) when a stop was requested before every file was scanned: a batch is loaded
// whole or not at all.
Result<bool> load_batch(db::Connection& conn, db::ColumnTypes& types, lake::ObjectStore& store,
                        const std::vector<Todo>& todo, size_t begin, size_t end, const Clock& clock,
                        Progress& progress, LakeStats& stats, std::unordered_map<std::string, Known>& history,
                        const StopToken& stop) {
  HRFLOW_ASSIGN_OR_RETURN(auto txn, db::Transaction::begin(conn));
  std::vector<uint64_t> replaced(end - begin, 0);
  for (size_t i = begin; i < end; ++i) {
    if (!todo[i].reload) continue;
    // The file changed under the same name: its new content replaces the rows of the old one.
    const std::string url = db::quote_literal(todo[i].url);
    HRFLOW_ASSIGN_OR_RETURN(auto old, conn.scalar(fmt::format(
                                          "SELECT count(*) FROM raw.heart_rate_stream WHERE _ab_source_file_url = {}", url)));
    replaced[i - begin] = std::stoull(old.value_or("0"));
    HRFLOW_TRY(conn.execute(fmt::format("DELETE FROM raw.heart_rate_stream WHERE _ab_source_file_url = {}", url)));
    HRFLOW_TRY(conn.execute(fmt::format("DELETE FROM raw.{} WHERE url_hash = {}", kLakeCompactedTable, url_hash(todo[i].url))));
  }
  LakeScan scan{store, todo, begin, end, types, clock, progress, stats.rows, stop};
  {
    ScanRegistration reg(scan);
    HRFLOW_TRY(conn.execute(
        fmt::format("INSERT INTO raw.heart_rate_stream SELECT * FROM hrflow_lake_files({}::UBIGINT)", reg.id())));
  }
  for (const auto& f : scan.files) {
    if (!f.done) return false;  // stopped: the transaction rolls back
  }
  std::string values;
  for (size_t i = begin; i < end; ++i) {
    const Todo& t = todo[i];
    const LakeScan::File& f = scan.files[i - begin];
    values += fmt::format("{}({}, make_timestamptz({}::BIGINT), {}, {}, {}, {}, make_timestamptz({}::BIGINT), {}::UBIGINT)",
                          values.empty() ? "" : ", ", db::quote_literal(t.url), t.info.last_modified_ms * 1000,
                          t.info.size, db::quote_literal(t.info.etag), f.stats.rows, f.stats.rows_with_errors,
                          f.extracted_us, f.content_hash);
  }
  HRFLOW_TRY(conn.execute(fmt::format(
      "INSERT OR REPLACE INTO raw.{} (url, last_modified, size, etag, rows, error_rows, loaded_at, content_hash) VALUES {}",
      kLakeHistoryTable, values)));
  HRFLOW_TRY(txn.commit());

  for (size_t i = begin; i < end; ++i) {
    const Todo& t = todo[i];
    const LakeScan::File& f = scan.files[i - begin];
    history[t.url] = Known{t.info.last_modified_ms * 1000, t.info.size, t.info.etag, "", f.content_hash};
    if (!f.damage.empty()) spdlog::warn("sync lake: {}", f.damage);
    if (f.stats.files_empty) spdlog::info("sync lake: {} is empty", t.url);
    if (t.reload) spdlog::warn("sync lake: {} changed since it was loaded; its rows were replaced by the new content", t.url);
    (t.reload ? stats.files_reloaded : stats.files_loaded) += 1;
    stats.bytes += f.stats.bytes;
    stats.rows += f.stats.rows;
    stats.rows_with_errors += f.stats.rows_with_errors;
    stats.rows_coerced += f.stats.rows_coerced;
    stats.rows_replaced += replaced[i - begin];
    stats.files_damaged += f.stats.files_damaged;
    stats.files_empty += f.stats.files_empty;
  }
  return true;
}

}  // namespace

Status ensure_lake_tables(db::Connection& conn) {
  HRFLOW_TRY(conn.execute("SET TimeZone = 'UTC'"));
  HRFLOW_TRY(conn.execute(kStreamDdl));
  HRFLOW_TRY(conn.execute(fmt::format(
      "CREATE TABLE IF NOT EXISTS raw.{} (url VARCHAR PRIMARY KEY, last_modified TIMESTAMPTZ, size BIGINT, "
      "etag VARCHAR, rows BIGINT, error_rows BIGINT, loaded_at TIMESTAMPTZ)",
      kLakeHistoryTable)));
  HRFLOW_TRY(conn.execute(fmt::format(
      "CREATE TABLE IF NOT EXISTS raw.{} (url_hash UBIGINT PRIMARY KEY, last_modified TIMESTAMPTZ, size BIGINT)",
      kLakeCompactedTable)));
  return ensure_merge_tables(conn);
}

Status load_lake_content(db::Connection& conn, std::string& content, lake::Compression compression,
                         const std::string& url, int64_t modified_us, int64_t extracted_us, LakeStats& stats,
                         bool error_file) {
  HRFLOW_ASSIGN_OR_RETURN(auto types, table_types(conn));
  ParsedFile parsed;
  HRFLOW_TRY(parse_file(types, content, compression, url, modified_us, extracted_us, error_file, parsed));
  return append_parsed(conn, parsed, stats);
}

std::vector<size_t> plan_batches(const std::vector<uint64_t>& sizes, uint64_t batch_bytes, size_t max_files) {
  std::vector<size_t> ends;
  uint64_t rest = 0;
  for (uint64_t s : sizes) rest += s;
  for (size_t begin = 0; begin < sizes.size();) {
    size_t end = begin;
    uint64_t bytes = 0;
    while (end < sizes.size() && end - begin < max_files && (end == begin || bytes < batch_bytes)) bytes += sizes[end++];
    rest -= bytes;
    if (rest < batch_bytes / 2 && sizes.size() - begin <= max_files) {
      end = sizes.size();
      rest = 0;
    }
    ends.push_back(end);
    begin = end;
  }
  return ends;
}

Result<LakeStats> LakeSource::run(lake::ObjectStore& store, db::Database& database, const LakeOptions& o,
                                  const Clock& clock) {
  LakeStats stats;
  int64_t t0 = clock.monotonic_ms();
  HRFLOW_ASSIGN_OR_RETURN(auto conn, db::Connection::connect(database));
  HRFLOW_TRY(conn.execute("CREATE SCHEMA IF NOT EXISTS raw"));
  HRFLOW_TRY(ensure_lake_tables(conn));

  FileHistory history;
  {
    HRFLOW_ASSIGN_OR_RETURN(auto r, conn.query(fmt::format(
                                        "SELECT url, epoch_us(last_modified), size, coalesce(etag, ''), coalesce(merged_into, ''), "
                                        "CAST(coalesce(content_hash, 0) AS VARCHAR) FROM raw.{}",
                                        kLakeHistoryTable)));
    for (uint64_t i = 0; i < r.row_count(); ++i) {
      history[*r.get_string(i, 0)] = {r.get_int64(i, 1).value_or(0), static_cast<uint64_t>(r.get_int64(i, 2).value_or(0)),
                                      r.get_string(i, 3).value_or(""), r.get_string(i, 4).value_or(""),
                                      std::stoull(r.get_string(i, 5).value_or("0"))};
    }
  }
  std::unordered_map<uint64_t, Known> compacted;  // (same(): the URL hash entries keep no etag)
  {
    HRFLOW_ASSIGN_OR_RETURN(auto r, conn.query(fmt::format(
                                        "SELECT CAST(url_hash AS VARCHAR), epoch_us(last_modified), size FROM raw.{}",
                                        kLakeCompactedTable)));
    for (uint64_t i = 0; i < r.row_count(); ++i) {
      compacted[std::stoull(*r.get_string(i, 0))] = {r.get_int64(i, 1).value_or(0),
                                                      static_cast<uint64_t>(r.get_int64(i, 2).value_or(0)), "", ""};
    }
  }

  HRFLOW_ASSIGN_OR_RETURN(auto objects, store.list(""));
  HRFLOW_TRY(recover_merges(conn, store, objects, history, stats.merge));
  std::vector<Todo> todo;
  std::string rewritten;  // a changed file's bytes, to tell a byte-identical rewrite
  for (auto& obj : objects) {
    if (obj.key.starts_with("_hrflow/")) continue;  // the sink's bookkeeping (replay markers)
    ++stats.files_listed;
    auto key = lake::parse_key(obj.key);
    if (!key.ok()) {
      stats.skipped.push_back(key.error().message);
      continue;
    }
    std::string url = store.url_of(obj.key);
    int64_t modified_us = obj.last_modified_ms * 1000;
    if (auto it = history.find(url); it != history.end()) {
      if (it->second.same(obj)) {
        ++stats.files_unchanged;
        continue;
      }
      // Stored again byte for byte (the sink's replay after a crash): only the fingerprint is new.
      if (it->second.content_hash != 0 && obj.size == it->second.size) {
        HRFLOW_TRY(store.get_into(obj.key, rewritten));
        if (content_hash(rewritten) == it->second.content_hash) {
          HRFLOW_TRY(conn.execute(fmt::format(
              "UPDATE raw.{} SET last_modified = make_timestamptz({}::BIGINT), etag = {} WHERE url = {}", kLakeHistoryTable,
              modified_us, db::quote_literal(obj.etag), db::quote_literal(url))));
          it->second.modified_us = modified_us;
          it->second.etag = obj.etag;
          ++stats.files_unchanged;
          continue;
        }
      }
      todo.push_back({obj, *key, url, true});
    } else if (auto ct = compacted.find(url_hash(url)); ct != compacted.end()) {
      if (ct->second.modified_us == modified_us && ct->second.size == obj.size) {
        ++stats.files_unchanged;
        continue;
      }
      todo.push_back({obj, *key, url, true});
    } else {
      todo.push_back({obj, *key, url, false});  // new, whatever its modification time
    }
  }
  // Cursor order: oldest modification first, so `_ab_source_file_last_modified` grows as files land.
  std::sort(todo.begin(), todo.end(), [](const Todo& a, const Todo& b) {
    return std::tie(a.info.last_modified_ms, a.info.key) < std::tie(b.info.last_modified_ms, b.info.key);
  });

  // Files are loaded in batches, one transaction each: the rows and the history entries of a batch
  // commit together (a crash reloads the whole batch, never part of it). Batching spares a commit (a
  // WAL sync) per file, which dominates when the sink writes many small files, and partly filled row
  // groups, which each commit leaves for DuckDB's checkpoints to rewrite.
  Progress progress("sync lake", "rows", 0, o.progress);
  if (!todo.empty()) {
    HRFLOW_TRY(register_scan_function(conn));
    // DuckDB's insert runs on all its threads only when it need not keep the scan's order; each file is
    // still scanned by one thread, so its rows stay together and in order. This connection's setting only.
    HRFLOW_TRY(conn.execute("SET SESSION preserve_insertion_order = false"));
    HRFLOW_ASSIGN_OR_RETURN(auto types, table_types(conn));
    std::vector<uint64_t> sizes;
    for (const Todo& t : todo) sizes.push_back(t.info.size);
    size_t begin = 0;
    for (size_t end : plan_batches(sizes, o.batch_bytes, kBatchFiles)) {
      if (o.stop.stop_requested()) break;
      HRFLOW_ASSIGN_OR_RETURN(bool whole,
                              load_batch(conn, types, store, todo, begin, end, clock, progress, stats, history, o.stop));
      if (!whole) break;
      begin = end;
    }
  }
  progress.finish();
  if (!o.stop.stop_requested()) {
    HRFLOW_TRY(merge_closed_hours(conn, store, objects, history, clock.now_ms(), o.merge_after_ms, o.max_merge_buckets,
                                  o.stop, stats.merge));
  }

  // Compaction when the history is full: entries older than (cursor - days) keep only a URL hash.
  if (static_cast<int64_t>(history.size()) > o.history_max_files) {
    int64_t cursor = 0;
    for (const auto& [url, k] : history) cursor = std::max(cursor, k.modified_us);
    int64_t cutoff = cursor - o.days_to_sync_if_history_full * 86400LL * 1000000LL;
    std::vector<std::pair<std::string, Known>> old;
    for (const auto& [url, k] : history) {
      if (k.modified_us < cutoff) old.emplace_back(url, k);
    }
    if (!old.empty()) {
      HRFLOW_ASSIGN_OR_RETURN(auto txn, db::Transaction::begin(conn));
      for (const auto& [url, k] : old) {
        HRFLOW_TRY(conn.execute(fmt::format("INSERT OR REPLACE INTO raw.{} VALUES ({}, make_timestamptz({}::BIGINT), {})",
                                            kLakeCompactedTable, url_hash(url), k.modified_us, k.size)));
        HRFLOW_TRY(conn.execute(fmt::format("DELETE FROM raw.{} WHERE url = {}", kLakeHistoryTable, db::quote_literal(url))));
      }
      HRFLOW_TRY(txn.commit());
      spdlog::info("sync lake: history full ({} files); compacted {} entries older than {} days before the cursor",
                   history.size(), old.size(), o.days_to_sync_if_history_full);
    }
  }
  stats.seconds = static_cast<double>(clock.monotonic_ms() - t0) / 1000.0;
  return stats;
}

}  // namespace hrflow::ingest
