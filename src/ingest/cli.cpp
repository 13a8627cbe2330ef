// `hrflow sync [lake|oltp] [--follow] [--resnapshot]`.
#include "ingest/cli.h"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <memory>

#include "common/progress.h"
#include "common/state.h"
#include "lake/storage.h"
#include "ingest/cdc.h"
#include "ingest/lake.h"
#include "ingest/pg.h"

namespace hrflow::ingest {
namespace {

struct SyncOptions {
  bool follow = false;
  bool resnapshot = false;
  bool quiet = false;
};

Status run_oltp(const Config& config, db::Database& warehouse, const SyncOptions& so) {
  CdcOptions o;
  o.url = oltp_url(config);
  o.slot = config.get_string("sync.cdc.slot");
  o.publication = config.get_string("sync.cdc.publication");
  o.follow = so.follow;
  o.resnapshot = so.resnapshot;
  o.progress = !so.quiet;
  auto stats = CdcSource::run(o, warehouse);
  if (!stats.ok()) return stats.error().with_context("sync oltp");
  std::string reconnects = stats->reconnects ? fmt::format(", {} reconnects", stats->reconnects) : "";
  std::printf("oltp: %s snapshot rows, %s changes (%s inserts, %s updates, %s deletes) in %s transactions; "
              "position %s%s\n",
              with_thousands(stats->snapshot_rows).c_str(), with_thousands(stats->changes()).c_str(),
              with_thousands(stats->inserts).c_str(), with_thousands(stats->updates).c_str(),
              with_thousands(stats->deletes).c_str(), with_thousands(stats->transactions).c_str(),
              format_lsn(stats->lsn).c_str(), reconnects.c_str());
  std::fflush(stdout);
  return {};
}

Status run_lake(const Config& config, db::Database& warehouse, const SyncOptions& so) {
  HRFLOW_ASSIGN_OR_RETURN(auto store, lake::open_lake(config));
  LakeOptions o;
  o.days_to_sync_if_history_full = config.get_int("sync.days_to_sync_if_history_full");
  o.history_max_files = config.get_int("sync.history_max_files");
  o.batch_bytes = static_cast<uint64_t>(config.get_int("sync.batch_mb")) << 20;
  o.progress = !so.quiet;
  auto stats = LakeSource::run(*store, warehouse, o);
  if (!stats.ok()) return stats.error().with_context("sync lake");
  const LakeStats& s = *stats;
  double rate = s.seconds > 0 ? static_cast<double>(s.rows) / s.seconds : 0;
  std::printf("lake: %s files listed, %s loaded, %s changed and reloaded (%s old rows replaced), %s already loaded; "
              "%s rows (%s with errors, %s coerced) in %.1fs, %s rows/s\n",
              with_thousands(s.files_listed).c_str(), with_thousands(s.files_loaded).c_str(),
              with_thousands(s.files_reloaded).c_str(), with_thousands(s.rows_replaced).c_str(),
              with_thousands(s.files_unchanged).c_str(), with_thousands(s.rows).c_str(),
              with_thousands(s.rows_with_errors).c_str(), with_thousands(s.rows_coerced).c_str(), s.seconds,
              with_thousands(static_cast<uint64_t>(rate)).c_str());
  if (s.files_empty || s.files_damaged) {
    std::printf("lake: %s empty files, %s truncated or damaged compressed files (what could be read was loaded, "
                "with the error in _airbyte_meta)\n",
                with_thousands(s.files_empty).c_str(), with_thousands(s.files_damaged).c_str());
  }
  if (!s.skipped.empty()) {
    std::printf("lake: skipped %s objects that are not lake files:\n", with_thousands(s.skipped.size()).c_str());
    for (size_t i = 0; i < s.skipped.size() && i < 20; ++i) std::printf("  %s\n", s.skipped[i].c_str());
    if (s.skipped.size() > 20) std::printf("  ... and %zu more\n", s.skipped.size() - 20);
  }
  std::fflush(stdout);
  return {};
}

enum class Which { kBoth, kLake, kOltp };

int run_sync(const Config& config, Which which, const SyncOptions& so) {
  install_stop_handlers();
  auto warehouse = open_warehouse(config);
  if (!warehouse.ok()) return report_error(warehouse.error());
  if (which != Which::kOltp) {
    if (auto st = run_lake(config, *warehouse, so); !st.ok()) return report_error(st.error());
  }
  if (which != Which::kLake && !stop_requested()) {
    if (auto st = run_oltp(config, *warehouse, so); !st.ok()) return report_error(st.error());
  }
  return stop_requested() && !so.follow ? kExitInterrupted : kExitOk;
}

}  // namespace

void add_sync_commands(CLI::App& app, CliContext& ctx) {
  auto* sync = app.add_subcommand(
      "sync",
      "Load what is new into the warehouse's raw schema: lake files into raw.heart_rate_stream, and "
      "PostgreSQL changes (CDC over logical replication) into raw.users and raw.activities.\n"
      "Without a subcommand both sources are synced once; every run continues where the last one "
      "stopped (the positions are stored in the warehouse with the rows), so re-running loads nothing "
      "twice. Examples:\n"
      "  hrflow sync                 # both sources, once\n"
      "  hrflow sync oltp --follow   # keep streaming PostgreSQL changes until Ctrl-C\n"
      "  hrflow sync oltp --resnapshot   # after a lost replication slot");
  auto opts = std::make_shared<SyncOptions>();
  sync->add_flag("--follow", opts->follow,
                 "After catching up, keep streaming PostgreSQL changes until Ctrl-C (survives PostgreSQL restarts)");
  sync->add_flag("-q,--quiet", opts->quiet, "No progress lines");
  // CLI11 runs the parent's callback after the subcommand's, so the parent decides which source runs.
  on_run(sync, ctx, [&ctx, opts, sync] {
    Which which = sync->got_subcommand("lake") ? Which::kLake : sync->got_subcommand("oltp") ? Which::kOltp : Which::kBoth;
    return run_sync(ctx.config, which, *opts);
  });

  auto* lake = sync->add_subcommand(
      "lake", "Load new or changed lake files (lake.url) into raw.heart_rate_stream, each file exactly once. "
      "Reports files loaded, rows (with errors, coerced), and objects that are not lake files.");
  lake->add_flag("-q,--quiet", opts->quiet, "No progress lines");

  auto* oltp = sync->add_subcommand(
      "oltp",
      "Copy PostgreSQL changes (oltp.url; publication sync.cdc.publication, slot sync.cdc.slot) into "
      "raw.users and raw.activities: an initial snapshot, then one row per insert/update/delete");
  oltp->add_flag("--follow", opts->follow, "Keep streaming changes until Ctrl-C");
  oltp->add_flag("--resnapshot", opts->resnapshot,
                 "Drop the replication slot and copy the tables again (after a lost slot); versions already in "
                 "the warehouse are not loaded twice");
}

}  // namespace hrflow::ingest
