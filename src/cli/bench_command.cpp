// `hrflow bench formats` and `hrflow bench simulator`.
#include "cli/commands.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "common/progress.h"
#include "common/state.h"
#include "simulator/formats.h"
#include "simulator/produce.h"
#include "simulator/sample_fleet.h"
#include "simulator/simulator.h"
#include "simulator/timezone.h"

namespace hrflow::sim {

CLI::App* bench_group(CLI::App& app) {
  for (auto* sub : app.get_subcommands([](CLI::App*) { return true; })) {
    if (sub->get_name() == "bench") return sub;
  }
  auto* bench = app.add_subcommand("bench", "Measurements that answer design questions (formats, speeds)");
  bench->require_subcommand(1);
  return bench;
}

namespace {

// The first `count` readings of a sample fleet from `from`.
Result<std::vector<Reading>> sample_readings(int users, uint64_t seed, int64_t from, size_t count) {
  Fleet fleet = sample_fleet(users, seed);
  HRFLOW_ASSIGN_OR_RETURN(auto sim, FleetSimulator::create(fleet, {seed, from, from + 400 * 86400LL}));
  std::vector<Reading> out(count);
  size_t got = sim.next_batch(out.data(), count);
  out.resize(got);
  return out;
}

int run_formats(const Config& config, int users, size_t records, const std::string& from_text) {
  auto from = parse_utc_time(from_text);
  if (!from.ok()) return report_error(from.error());
  auto rs = sample_readings(users, static_cast<uint64_t>(config.get_int("seed")), *from, records);
  if (!rs.ok()) return report_error(rs.error());
  if (rs->size() < records) {
    return report_error(invalid_argument("the sample fleet produced only {} readings; use more --users", rs->size()));
  }
  auto scratch = std::filesystem::temp_directory_path() / fmt::format("hrflow-formats-{}", ::getpid());
  auto report = measure_formats(*rs, scratch);
  std::error_code ec;
  std::filesystem::remove_all(scratch, ec);
  if (!report.ok()) return report_error(report.error());
  std::fputs(format_report(*report).c_str(), stdout);
  return kExitOk;
}

int run_simulator_bench(const Config& config, int users, int days, const std::string& from_text, bool quiet) {
  auto from = parse_utc_time(from_text);
  if (!from.ok()) return report_error(from.error());
  Fleet fleet = sample_fleet(users, static_cast<uint64_t>(config.get_int("seed")));
  auto t0 = std::chrono::steady_clock::now();
  auto sim = FleetSimulator::create(fleet, {static_cast<uint64_t>(config.get_int("seed")), *from, *from + days * 86400LL});
  if (!sim.ok()) return report_error(sim.error());
  std::vector<Reading> batch(4096);
  std::vector<char> buf(batch.size() * kMaxJsonBytes);
  uint64_t events = 0, bytes = 0;
  Progress progress("simulate", "events", 0, !quiet);
  size_t k;
  while ((k = sim->next_batch(batch.data(), batch.size())) > 0) {
    char* p = buf.data();
    for (size_t i = 0; i < k; ++i) p = format_json(batch[i], p);
    bytes += static_cast<uint64_t>(p - buf.data());
    events += k;
    progress.update(events);
  }
  if (!quiet) progress.finish();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("simulator: %llu events (%d users x %d days) formatted as JSON (%.1f bytes each) in %.2f s: %.0f events/s\n",
              static_cast<unsigned long long>(events), users, days, static_cast<double>(bytes) / static_cast<double>(events),
              secs, static_cast<double>(events) / secs);
  return kExitOk;
}

}  // namespace

void add_bench_commands(CLI::App& app, CliContext& ctx) {
  auto* bench = bench_group(app);

  struct FormatsOpts {
    int users = 1000;
    size_t records = 100000;
    std::string from = "2025-03-03";
  };
  auto fo = std::make_shared<FormatsOpts>();
  auto* formats = bench->add_subcommand(
      "formats",
      "Bytes per reading as JSON (integers), JSON (all strings, as the original producer sent), Avro binary "
      "with the schema sent once, an Avro container file - each raw, zstd and gzip - and Parquet via DuckDB, "
      "over many realistic simulated readings; and why a one-record file (the original experiment) misleads.");
  formats->add_option("--records", fo->records, "Readings to measure")->check(CLI::Range(1, 10000000));
  formats->add_option("--users", fo->users, "Size of the sample fleet the readings come from")->check(CLI::Range(1, 1000000));
  formats->add_option("--from", fo->from, "Start of the simulated period (UTC date)");
  on_run(formats, ctx, [&ctx, fo] { return run_formats(ctx.config, fo->users, fo->records, fo->from); });

  struct SimOpts {
    int users = 2000;
    int days = 7;
    std::string from = "2025-03-03";
    bool quiet = false;
  };
  auto so = std::make_shared<SimOpts>();
  auto* simulator = bench->add_subcommand(
      "simulator", "Speed of the fleet simulator alone: simulate a sample fleet and format every reading as JSON");
  simulator->add_option("--users", so->users, "Users in the sample fleet")->check(CLI::Range(1, 10000000));
  simulator->add_option("--days", so->days, "Days simulated")->check(CLI::Range(1, 3660));
  simulator->add_option("--from", so->from, "Start of the simulated period (UTC date)");
  simulator->add_flag("--quiet", so->quiet, "No progress line");
  on_run(simulator, ctx, [&ctx, so] { return run_simulator_bench(ctx.config, so->users, so->days, so->from, so->quiet); });
}

}  // namespace hrflow::sim
