#include "ingest/sync.h"

#include "common/progress.h"
#include "common/state.h"
#include "ingest/cdc.h"
#include "ingest/lake.h"
#include "common/pg.h"
#include "lake/storage.h"

namespace hrflow::ingest {
namespace {

using Log = std::function<void(const std::string&)>;

Result<CdcStats> sync_oltp(const Config& config, db::Database& warehouse, const SyncRequest& r, const Log& log) {
  CdcOptions o;
  o.url = oltp_url(config);
  if (config.get_string("oltp.url").empty()) {
    if (auto owned = check_managed_server(o.url, StateLayout::from(config).postgres_dir); !owned.ok()) {
      return owned.error().with_context("sync oltp");
    }
  }
  o.slot = config.get_string("sync.cdc.slot");
  o.publication = config.get_string("sync.cdc.publication");
  o.follow = r.follow;
  o.resnapshot = r.resnapshot;
  o.progress = r.progress;
  o.stop = r.stop;
  auto stats = CdcSource::run(o, warehouse);
  if (!stats.ok()) return stats.error().with_context("sync oltp");
  std::string reconnects = stats->reconnects ? fmt::format(", {} reconnects", stats->reconnects) : "";
  log(fmt::format("oltp: {} snapshot rows, {} changes ({} inserts, {} updates, {} deletes) in {} transactions; "
                  "position {}{}",
                  with_thousands(stats->snapshot_rows), with_thousands(stats->changes()),
                  with_thousands(stats->inserts), with_thousands(stats->updates), with_thousands(stats->deletes),
                  with_thousands(stats->transactions), format_lsn(stats->lsn), reconnects));
  return stats;
}

Result<LakeStats> sync_lake(const Config& config, db::Database& warehouse, const SyncRequest& r, const Log& log) {
  HRFLOW_ASSIGN_OR_RETURN(auto store, lake::open_lake(config));
  LakeOptions o;
  o.days_to_sync_if_history_full = config.get_int("sync.days_to_sync_if_history_full");
  o.history_max_files = config.get_int("sync.history_max_files");
  o.batch_bytes = static_cast<uint64_t>(config.get_int("sync.batch_mb")) << 20;
  o.merge_after_ms = config.get_duration_ms("sync.merge_after");
  o.progress = r.progress;
  o.stop = r.stop;
  auto stats = LakeSource::run(*store, warehouse, o);
  if (!stats.ok()) return stats.error().with_context("sync lake");
  const LakeStats& s = *stats;
  double rate = s.seconds > 0 ? static_cast<double>(s.rows) / s.seconds : 0;
  log(fmt::format("lake: {} files listed, {} loaded, {} changed and reloaded ({} old rows replaced), {} already "
                  "loaded; {} rows ({} with errors, {} coerced) in {:.1f}s, {} rows/s",
                  with_thousands(s.files_listed), with_thousands(s.files_loaded), with_thousands(s.files_reloaded),
                  with_thousands(s.rows_replaced), with_thousands(s.files_unchanged), with_thousands(s.rows),
                  with_thousands(s.rows_with_errors), with_thousands(s.rows_coerced), s.seconds,
                  with_thousands(static_cast<uint64_t>(rate))));
  if (s.merge.buckets || s.merge.files_removed) {
    log(fmt::format("lake: merged {} small files of {} closed hour-partitions into one each ({} removed from the lake)",
                    with_thousands(s.merge.files_merged), with_thousands(s.merge.buckets), with_thousands(s.merge.files_removed)));
  }
  if (s.files_empty || s.files_damaged) {
    log(fmt::format("lake: {} empty files, {} truncated or damaged compressed files (what could be read was loaded, "
                    "with the error in _airbyte_meta)",
                    with_thousands(s.files_empty), with_thousands(s.files_damaged)));
  }
  if (!s.skipped.empty()) {
    log(fmt::format("lake: skipped {} objects that are not lake files:", with_thousands(s.skipped.size())));
    for (size_t i = 0; i < s.skipped.size() && i < 20; ++i) log("  " + s.skipped[i]);
    if (s.skipped.size() > 20) log(fmt::format("  ... and {} more", s.skipped.size() - 20));
  }
  return s;
}

}  // namespace

Result<SyncResult> sync(const Config& config, db::Database& warehouse, const SyncRequest& request, const Log& log) {
  SyncResult result;
  if (request.source != SyncSource::kOltp) {
    HRFLOW_ASSIGN_OR_RETURN(auto lake, sync_lake(config, warehouse, request, log));
    result.lake_rows = lake.rows;
    result.lake_rows_replaced = lake.rows_replaced;
  }
  if (request.source != SyncSource::kLake && !request.stop.stop_requested()) {
    HRFLOW_ASSIGN_OR_RETURN(auto cdc, sync_oltp(config, warehouse, request, log));
    result.oltp_rows = cdc.snapshot_rows + cdc.changes();
    result.oltp_rows_by_table = std::move(cdc.rows_by_table);
  }
  return result;
}

}  // namespace hrflow::ingest
