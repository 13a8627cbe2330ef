// `hrflow produce`: the command line of the fleet simulator's producer (simulator/produce.h).
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "common/progress.h"
#include "simulator/produce.h"

namespace hrflow::sim {
namespace {

int run_produce(const Config& config, const ProduceOptions& o) {
  install_stop_handlers();
  auto r = produce(config, o, StopToken::process());
  if (!r.ok()) return report_error(r.error());
  std::printf("produced %llu events (%llu acknowledged) into %s%s; ground truth in %s\n",
              static_cast<unsigned long long>(r->sent), static_cast<unsigned long long>(r->acknowledged),
              r->stream_name.c_str(),
              r->skipped ? fmt::format(", after skipping {} already there", with_thousands(r->skipped)).c_str() : "",
              r->ground_truth.c_str());
  if (!r->nothing_sent.empty()) std::fprintf(stderr, "produce: %s\n", r->nothing_sent.c_str());
  if (r->interrupted) {
    std::fprintf(stderr, "produce: stopped before the end of the period; everything sent was flushed\n");
    return kExitInterrupted;
  }
  return kExitOk;
}

}  // namespace

void add_produce_command(CLI::App& app, CliContext& ctx) {
  auto o = std::make_shared<ProduceOptions>();
  auto* cmd = app.add_subcommand(
      "produce",
      "Simulate the fleet's heart-rate watches into the stream (the local log, or Kafka when "
      "stream.kafka.bootstrap_servers is set).\n"
      "  backfill: hrflow produce --from 2025-01-01 --to 2026-01-01   (every reading of the period, event-time order)\n"
      "  live:     hrflow produce --live [--speed 60]                  (wall-clock pace until Ctrl-C)\n"
      "Users and their history come from the operational database (hrflow oltp) by default; readings fall only "
      "while an account exists, so generate the users as of a date before the period (hrflow oltp generate --as-of "
      "2024-12-31). The effects "
      "the simulator planted are written to simulator.ground_truth.\n"
      "Restarting the same command after a crash or Ctrl-C continues where the stream ends: readings already "
      "in it (per partition, up to its newest record) are generated again but not sent, so nothing is "
      "duplicated or missing.");
  cmd->add_option("--from", o->from, "Start of the period, UTC (YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS]); live: default now");
  cmd->add_option("--to", o->to, "End of the period (exclusive), UTC; live: default none");
  cmd->add_flag("--live", o->live, "Produce at wall-clock pace until stopped (Ctrl-C flushes and exits)");
  cmd->add_option("--speed", o->speed, "Live: simulated seconds per wall-clock second (60 = a minute per second)");
  cmd->add_option("--users", o->users, "User source: oltp (default), csv:DIR or sample:N");
  cmd->add_option("--users-csv", o->users_csv, "Read users from an `hrflow oltp export` directory (same as --users csv:DIR)");
  cmd->add_option("--ground-truth", o->ground_truth, "Where to write the ground truth (default: simulator.ground_truth)");
  cmd->add_flag("--quiet", o->quiet, "No progress line");
  cmd->add_flag("--no-resume", o->no_resume,
                "Send every reading, even those the stream already holds. By default produce skips readings up to "
                "the newest one in each partition, so a restarted backfill adds no duplicates; use this to "
                "re-produce on purpose (e.g. an earlier period, another seed or fleet into a stream that already "
                "has later readings)");
  on_run(cmd, ctx, [&ctx, o] { return run_produce(ctx.config, *o); });
}

}  // namespace hrflow::sim
