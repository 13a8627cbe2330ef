// `hrflow sync [lake|oltp] [--follow] [--resnapshot]`.
#include "cli/commands.h"
#include "cli/serve_client.h"

#include <cstdio>
#include <memory>

#include "common/clock.h"
#include "common/state.h"
#include "ingest/sync.h"
#include "serve/outside_runs.h"
#include "serve/pipeline.h"

namespace hrflow::ingest {
namespace {

struct SyncOptions {
  bool follow = false;
  bool resnapshot = false;
  bool quiet = false;
};

int run_sync(const Config& config, SyncSource source, const SyncOptions& so) {
  install_stop_handlers();
  // While `hrflow serve` owns the warehouse, it runs the sync (it also keeps raw fresh by itself).
  if (auto serve = serve::find_running_serve(config)) {
    if (so.follow || so.resnapshot) {
      std::fprintf(stderr, "hrflow sync: hrflow serve (pid %d) owns the warehouse and syncs by itself; "
                           "%s needs it stopped first\n", serve->pid, so.follow ? "--follow" : "--resnapshot");
      return kExitFailure;
    }
    std::vector<std::string> assets;
    if (source != SyncSource::kOltp) assets.push_back("raw.heart_rate_stream");
    if (source != SyncSource::kLake) assets.insert(assets.end(), {"raw.users", "raw.activities"});
    return serve::handoff_materialize(*serve, assets, false);
  }
  auto warehouse = open_warehouse(config);
  if (!warehouse.ok()) return report_error(warehouse.error());
  SyncRequest request{source, so.follow, so.resnapshot, !so.quiet, StopToken::process()};
  // Files of a round the sink is storing right now are left to the next sync; after this wait the lake's
  // newest data counts as loaded in serve's history (recorded below).
  std::optional<int64_t> lake_seen;
  if (source != SyncSource::kOltp) {
    serve::LakeObserver lake(config);
    lake.wait_until_settled(request.stop);
    lake_seen = lake.newest_ms(SystemClock::instance().now_ms());
  }
  auto result = sync(config, *warehouse, request, [](const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  });
  if (!result.ok()) return report_error(result.error());
  // A serve started later knows what this sync loaded (and that a sync which loaded nothing changed nothing).
  std::vector<serve::OutsideRun> runs;
  if (source != SyncSource::kOltp) {
    runs.push_back({"raw.heart_rate_stream", serve::RunOutcome::kSucceeded, result->lake_rows + result->lake_rows_replaced > 0,
                    static_cast<int64_t>(result->lake_rows)});
  }
  if (source != SyncSource::kLake) {
    for (const char* table : {"users", "activities"}) {
      auto it = result->oltp_rows_by_table.find(table);
      int64_t n = it == result->oltp_rows_by_table.end() ? 0 : static_cast<int64_t>(it->second);
      runs.push_back({std::string("raw.") + table, serve::RunOutcome::kSucceeded, n > 0, n});
    }
  }
  if (auto st = serve::record_outside_runs(config, "hrflow sync", runs, lake_seen); !st.ok()) {
    std::fprintf(stderr, "hrflow sync: warning: not recorded in serve's run history: %s\n", st.error().message.c_str());
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
    SyncSource source = sync->got_subcommand("lake")   ? SyncSource::kLake
                        : sync->got_subcommand("oltp") ? SyncSource::kOltp
                                                       : SyncSource::kBoth;
    return run_sync(ctx.config, source, *opts);
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
