#include "ingest/lake_merge.h"

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>
#include <map>
#include <set>
#include <tuple>

#include "common/compression.h"
#include "common/sql_text.h"
#include "ingest/lake.h"
#include "lake/layout.h"

namespace hrflow::ingest {
namespace {

struct Intent {
  std::string into_key;
  KnownFile before;                 // the target's fingerprint before the merge
  std::vector<std::string> inputs;  // keys, the target first
};

std::string join_lines(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : "\n") + s;
  return out;
}

std::vector<std::string> split_lines(const std::string& s) {
  std::vector<std::string> out;
  for (size_t start = 0; start <= s.size();) {
    size_t end = s.find('\n', start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::string in_list(lake::ObjectStore& store, const std::vector<std::string>& keys, size_t from) {
  std::string out;
  for (size_t i = from; i < keys.size(); ++i) out += (out.empty() ? "" : ", ") + db::quote_literal(store.url_of(keys[i]));
  return out;
}

// The merged file is stored as `stored`: swap the history (target: the merged fingerprint and the inputs'
// row counts; other inputs: merged_into) and drop the intent in one transaction, then remove the inputs.
Status finish(db::Connection& conn, lake::ObjectStore& store, const Intent& in, const lake::ObjectInfo& stored,
              uint64_t hash, FileHistory& history, MergeStats& stats, std::set<std::string>& removed) {
  const std::string into_url = store.url_of(in.into_key);
  HRFLOW_ASSIGN_OR_RETURN(auto txn, db::Transaction::begin(conn));
  HRFLOW_ASSIGN_OR_RETURN(auto sums, conn.query(fmt::format(
                                         "SELECT coalesce(sum(rows), 0), coalesce(sum(error_rows), 0) FROM raw.{} WHERE url IN ({})",
                                         kLakeHistoryTable, in_list(store, in.inputs, 0))));
  HRFLOW_TRY(conn.execute(fmt::format(
      "UPDATE raw.{} SET last_modified = make_timestamptz({}::BIGINT), size = {}, etag = {}, rows = {}, error_rows = {}, "
      "merged_into = NULL, content_hash = {}::UBIGINT WHERE url = {}",
      kLakeHistoryTable, stored.last_modified_ms * 1000, stored.size, db::quote_literal(stored.etag),
      sums.get_int64(0, 0).value_or(0), sums.get_int64(0, 1).value_or(0), hash, db::quote_literal(into_url))));
  if (in.inputs.size() > 1) {
    HRFLOW_TRY(conn.execute(fmt::format("UPDATE raw.{} SET merged_into = {} WHERE url IN ({})", kLakeHistoryTable,
                                        db::quote_literal(into_url), in_list(store, in.inputs, 1))));
  }
  HRFLOW_TRY(conn.execute(fmt::format("DELETE FROM raw.{} WHERE into_key = {}", kLakeMergesTable, db::quote_literal(in.into_key))));
  HRFLOW_TRY(txn.commit());
  history[into_url] = KnownFile{stored.last_modified_ms * 1000, stored.size, stored.etag, "", hash};
  for (size_t i = 1; i < in.inputs.size(); ++i) history[store.url_of(in.inputs[i])].merged_into = into_url;
  stats.buckets++;
  stats.files_merged += in.inputs.size();
  for (size_t i = 1; i < in.inputs.size(); ++i) {
    auto st = store.remove(in.inputs[i]);
    if (!st.ok()) return st.error().with_context("removing a merged lake file");
    removed.insert(in.inputs[i]);
    stats.files_removed++;
  }
  return {};
}

Status abandon(db::Connection& conn, const std::string& into_key) {
  return conn.execute(fmt::format("DELETE FROM raw.{} WHERE into_key = {}", kLakeMergesTable, db::quote_literal(into_key)));
}

// Partition -> committed position, from the sink's flush markers (`_hrflow/sink/<topic>/partition=<p>.json`).
Result<std::map<std::pair<std::string, int32_t>, int64_t>> committed_positions(lake::ObjectStore& store) {
  std::map<std::pair<std::string, int32_t>, int64_t> out;
  HRFLOW_ASSIGN_OR_RETURN(auto markers, store.list("_hrflow/sink/"));
  simdjson::dom::parser parser;
  for (const auto& m : markers) {
    std::string_view rest = std::string_view(m.key).substr(std::string_view("_hrflow/sink/").size());
    size_t slash = rest.find("/partition=");
    if (slash == std::string_view::npos || !rest.ends_with(".json")) continue;
    auto body = store.get(m.key);
    if (!body.ok()) continue;  // replaced meanwhile: the next sync reads it
    int64_t committed = -1, partition = -1;
    auto doc = parser.parse(*body);
    if (doc["committed"].get(committed) || doc["partition"].get(partition)) continue;  // an older sink: nothing is final
    out[{std::string(rest.substr(0, slash)), static_cast<int32_t>(partition)}] = committed;
  }
  return out;
}

}  // namespace

uint64_t content_hash(std::string_view bytes) {
  const uint64_t h = std::hash<std::string_view>{}(bytes);
  return h == 0 ? 1 : h;  // 0 means "not known"
}

Status ensure_merge_tables(db::Connection& conn) {
  HRFLOW_TRY(conn.execute(fmt::format("ALTER TABLE raw.{} ADD COLUMN IF NOT EXISTS merged_into VARCHAR", kLakeHistoryTable)));
  HRFLOW_TRY(conn.execute(fmt::format("ALTER TABLE raw.{} ADD COLUMN IF NOT EXISTS content_hash UBIGINT", kLakeHistoryTable)));
  return conn.execute(fmt::format(
      "CREATE TABLE IF NOT EXISTS raw.{} (into_key VARCHAR PRIMARY KEY, last_modified_us BIGINT, size BIGINT, "
      "etag VARCHAR, inputs VARCHAR, started_at TIMESTAMPTZ DEFAULT now())",
      kLakeMergesTable));
}

Status recover_merges(db::Connection& conn, lake::ObjectStore& store, std::vector<lake::ObjectInfo>& listing,
                      FileHistory& history, MergeStats& stats) {
  HRFLOW_ASSIGN_OR_RETURN(auto r, conn.query(fmt::format(
                                      "SELECT into_key, last_modified_us, size, etag, inputs FROM raw.{}", kLakeMergesTable)));
  std::map<std::string, const lake::ObjectInfo*> by_key;
  for (const auto& o : listing) by_key[o.key] = &o;
  std::set<std::string> removed;
  for (uint64_t i = 0; i < r.row_count(); ++i) {
    Intent in{*r.get_string(i, 0),
              {r.get_int64(i, 1).value_or(0), static_cast<uint64_t>(r.get_int64(i, 2).value_or(0)), r.get_string(i, 3).value_or(""), "", 0},
              split_lines(r.get_string(i, 4).value_or(""))};
    auto it = by_key.find(in.into_key);
    if (it == by_key.end() || in.before.same(*it->second)) {
      spdlog::info("sync lake: a merge into {} was interrupted before its file was stored; it is tried again later",
                   store.url_of(in.into_key));
      HRFLOW_TRY(abandon(conn, in.into_key));
      continue;
    }
    spdlog::info("sync lake: finishing the interrupted merge into {}", store.url_of(in.into_key));
    HRFLOW_TRY(finish(conn, store, in, *it->second, 0, history, stats, removed));
  }
  // Inputs of finished merges still listed (a sync killed before it removed them): remove them now. An
  // input listed with another fingerprint was written again: the load replaces its rows.
  std::vector<lake::ObjectInfo> kept;
  kept.reserve(listing.size());
  for (auto& o : listing) {
    if (removed.count(o.key)) continue;
    auto h = history.find(store.url_of(o.key));
    if (h != history.end() && !h->second.merged_into.empty() && h->second.same(o)) {
      HRFLOW_TRY(store.remove(o.key));
      stats.files_removed++;
      continue;
    }
    kept.push_back(std::move(o));
  }
  listing = std::move(kept);
  return {};
}

Status merge_closed_hours(db::Connection& conn, lake::ObjectStore& store, const std::vector<lake::ObjectInfo>& listing,
                          FileHistory& history, int64_t now_ms, int64_t merge_after_ms, size_t max_buckets,
                          const StopToken& stop, MergeStats& stats) {
  if (merge_after_ms <= 0 || max_buckets == 0) return {};
  // (topic, partition, hour) -> files, by first offset
  std::map<std::tuple<std::string, int32_t, int64_t>, std::vector<std::pair<lake::FileKey, const lake::ObjectInfo*>>> buckets;
  std::map<std::pair<std::string, int32_t>, int64_t> newest_hour;  // the partition's event-time watermark
  for (const auto& o : listing) {
    if (!o.key.starts_with("topics/")) continue;
    auto key = lake::parse_key(o.key);
    if (!key.ok() || key->error_file) continue;
    auto& newest = newest_hour.try_emplace({key->topic, key->partition}, key->hour_epoch).first->second;
    newest = std::max(newest, key->hour_epoch);
    buckets[{key->topic, key->partition, key->hour_epoch}].emplace_back(*key, &o);
  }
  // An hour is closed merge_after after its end, by the wall clock or by the partition's newest event
  // time (a backfill or a faster-than-real-time producer closes hours ahead of the clock).
  std::erase_if(buckets, [&](const auto& b) {
    const auto& [topic, partition, hour] = b.first;
    const int64_t watermark = std::max(now_ms, newest_hour[{topic, partition}] * 3'600'000);
    return b.second.size() < 2 || (hour + 1) * 3'600'000 + merge_after_ms > watermark;
  });
  if (buckets.empty()) return {};
  HRFLOW_ASSIGN_OR_RETURN(auto committed, committed_positions(store));
  for (auto& [where, files] : buckets) {
    if (stats.buckets >= max_buckets || stop.stop_requested()) break;
    auto c = committed.find({std::get<0>(where), std::get<1>(where)});
    if (c == committed.end()) continue;
    std::sort(files.begin(), files.end(), [](const auto& a, const auto& b) { return a.first.start_offset < b.first.start_offset; });
    // The final, loaded files from the smallest offset on (a file not loaded yet or not final ends the run).
    Intent in;
    for (const auto& [key, info] : files) {
      auto h = history.find(store.url_of(info->key));
      bool loaded = h != history.end() && h->second.same(*info) && h->second.merged_into.empty();
      if (key.start_offset >= c->second || !loaded || key.compression != files[0].first.compression) break;
      in.inputs.push_back(info->key);
    }
    if (in.inputs.size() < 2) continue;
    in.into_key = in.inputs[0];
    const lake::ObjectInfo& target = *files[0].second;
    in.before = {target.last_modified_ms * 1000, target.size, target.etag, "", 0};
    // The intent first: a sync killed from here on finishes or abandons this merge before it loads.
    HRFLOW_TRY(conn.execute(fmt::format("INSERT OR REPLACE INTO raw.{} (into_key, last_modified_us, size, etag, inputs) "
                                        "VALUES ({}, {}, {}, {}, {})",
                                        kLakeMergesTable, db::quote_literal(in.into_key), in.before.modified_us,
                                        in.before.size, db::quote_literal(in.before.etag),
                                        db::quote_literal(join_lines(in.inputs)))));
    std::string lines, content;
    bool damaged = false;
    for (const auto& k : in.inputs) {
      HRFLOW_TRY(store.get_into(k, content));
      auto plain = decompress(content, files[0].first.compression);
      if (plain.damage) {
        spdlog::warn("sync lake: not merging the files of {}: {}", store.url_of(k), *plain.damage);
        damaged = true;
        break;
      }
      lines += plain.data;
      if (!lines.empty() && lines.back() != '\n') lines += '\n';
    }
    if (damaged) {
      HRFLOW_TRY(abandon(conn, in.into_key));
      continue;
    }
    HRFLOW_ASSIGN_OR_RETURN(auto packed, compress(lines, files[0].first.compression));
    HRFLOW_TRY(store.put(in.into_key, packed));
    HRFLOW_ASSIGN_OR_RETURN(auto stored, store.list(in.into_key));
    auto it = std::find_if(stored.begin(), stored.end(), [&](const auto& o) { return o.key == in.into_key; });
    if (it == stored.end()) return io_error("{} is not listed right after it was stored", store.url_of(in.into_key));
    std::set<std::string> removed;
    HRFLOW_TRY(finish(conn, store, in, *it, content_hash(packed), history, stats, removed));
  }
  return {};
}

}  // namespace hrflow::ingest
