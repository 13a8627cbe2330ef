// `hrflow sink`: the command line of the lake sink (lake/sink_runner.h).
#include <memory>

#include "cli/commands.h"
#include "lake/sink_runner.h"

namespace hrflow::lake {

void add_sink_command(CLI::App& app, CliContext& ctx) {
  auto* cmd = app.add_subcommand(
      "sink",
      "Write the stream into the event-time partitioned lake, exactly once.\n"
      "Reads stream.topic (embedded log, or Kafka when stream.kafka.bootstrap_servers is set) as consumer\n"
      "group stream.consumer_group and writes lake.url (file:// or s3://) in the Confluent S3 sink layout:\n"
      "  topics/<topic>/year=YYYY/month=MM/day=dd/hour=HH/<topic>+<partition>+<startOffset>.json\n"
      "by each record's `timestamp` (UTC). Records that are not JSON or lack a valid timestamp go to\n"
      "errors/<topic>/ and are counted. Files close on sink.flush_size, sink.rotate_bytes,\n"
      "sink.rotate_interval (event time) and sink.idle_timeout; positions are committed only after the\n"
      "files below them are stored, so kill -9 and restart neither lose nor duplicate records.\n"
      "Several `hrflow sink` processes in one group share the partitions (Kafka).");
  auto run = std::make_shared<SinkRunOptions>();
  cmd->add_flag("--once", run->once, "Stop when caught up with the stream and every file is closed");
  cmd->add_flag("--progress", run->progress, "Show records/s and per-partition lag on the terminal");
  on_run(cmd, ctx, [&ctx, run] {
    install_stop_handlers();
    auto r = run_sink(ctx.config, *run, StopToken::process());
    if (!r.ok()) return report_error(r.error());
    return r->stopped ? kExitInterrupted : kExitOk;
  });
}

}  // namespace hrflow::lake
