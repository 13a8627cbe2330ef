#include "cli/commands.h"

#include <unistd.h>

#include <cstdio>
#include <ctime>

#include "common/progress.h"
#include "common/state.h"
#include "oltp/generator.h"
#include "oltp/oltp.h"
#include "oltp/postgres_server.h"

namespace hrflow::oltp {
namespace {

bool managed(const Config& config) { return config.get_string("oltp.url").empty(); }

std::string rows(const std::optional<int64_t>& n) {
  return n ? with_thousands(static_cast<uint64_t>(*n)) + " rows" : std::string("missing");
}

Result<PgConnection> connect(const Config& config) {
  HRFLOW_ASSIGN_OR_RETURN(auto url, database_url(config, /*start_managed=*/true));
  return PgConnection::connect(url);
}

int run_up(const Config& config) {
  if (!managed(config)) {
    auto conn = PgConnection::connect(config.get_string("oltp.url"));
    if (!conn.ok()) return report_error(conn.error());
    std::printf("oltp.url is set: using %s (hrflow starts no server of its own); it is reachable\n",
                conn->where().c_str());
    return kExitOk;
  }
  auto layout = StateLayout::from(config);
  if (auto st = layout.ensure_dirs(); !st.ok()) return report_error(st.error());
  PostgresServerOptions o{layout.postgres_dir, static_cast<int>(config.get_int("oltp.port")),
                          config.get_string("oltp.database"), 60};
  auto server = PostgresServer::start(o);
  if (!server.ok()) return report_error(server.error());
  std::printf("%s PostgreSQL at %s (data %s)\n", server->reused() ? "reusing running" : "started",
              server->url().c_str(), server->data_dir().c_str());
  if (faketime_library().empty()) {
    std::printf("note: libfaketime is not installed, so `hrflow oltp mutate` commits at the real time\n");
  }
  return kExitOk;
}

int run_down(const Config& config) {
  if (!managed(config)) {
    std::printf("oltp.url is set: hrflow does not manage that server, nothing to stop\n");
    return kExitOk;
  }
  auto dir = StateLayout::from(config).postgres_dir;
  bool was_running = PostgresServer::is_running(dir);
  if (auto st = PostgresServer::stop(dir); !st.ok()) return report_error(st.error());
  std::printf(was_running ? "stopped the managed PostgreSQL (%s)\n" : "the managed PostgreSQL (%s) was not running\n",
              dir.c_str());
  return kExitOk;
}

int run_status(const Config& config) {
  std::string url;
  if (managed(config)) {
    auto dir = StateLayout::from(config).postgres_dir;
    if (!PostgresServer::is_running(dir)) {
      std::printf("managed PostgreSQL (%s): not running; start it with `hrflow oltp up`\n", dir.c_str());
      return kExitOk;
    }
    auto u = database_url(config, false);
    if (!u.ok()) return report_error(u.error());
    url = *u;
    std::printf("managed PostgreSQL: running, %s (data %s)\n", url.c_str(), dir.c_str());
  } else {
    url = config.get_string("oltp.url");
    std::printf("external PostgreSQL (oltp.url): %s\n", mask_url_password(url).c_str());
  }
  auto conn = PgConnection::connect(url);
  if (!conn.ok()) return report_error(conn.error());
  auto inv = inspect(*conn);
  if (!inv.ok()) return report_error(inv.error());
  std::printf("  users       %s\n  activities  %s\n  %s  %s\n", rows(inv->users).c_str(), rows(inv->activities).c_str(),
              kHistoryTable, rows(inv->history).c_str());
  for (const auto& [kind, n] : inv->history_by_kind) {
    std::printf("    %-16s %s\n", kind.c_str(), with_thousands(static_cast<uint64_t>(n)).c_str());
  }
  if (inv->seed) {
    std::printf("  generated   %s users, seed %lld, as of %s\n",
                with_thousands(static_cast<uint64_t>(*inv->generated_users)).c_str(),
                static_cast<long long>(*inv->seed), format_timestamp(*inv->as_of).c_str());
  }
  if (inv->last_change) std::printf("  last change %s\n", format_timestamp(*inv->last_change).c_str());
  return kExitOk;
}

Result<int64_t> time_option(const std::string& value, const std::string& flag) {
  auto t = parse_timestamp(value);
  if (!t.ok()) return t.error().with_context(flag);
  return t;
}

}  // namespace

void add_oltp_commands(CLI::App& app, CliContext& ctx) {
  auto* oltp = app.add_subcommand(
      "oltp",
      "Operational PostgreSQL: start it, generate users/activities, mutate, export.\n"
      "Without oltp.url hrflow manages a private PostgreSQL under {state_dir}/postgres; with oltp.url set it\n"
      "uses that database and never starts a server.\n"
      "Typical: hrflow oltp up && hrflow oltp generate --as-of 2025-01-01 && hrflow oltp mutate --from 2025-01-02 "
      "--to 2025-12-31");
  oltp->require_subcommand(1);

  auto* up = oltp->add_subcommand("up", "Start (or reuse) the managed PostgreSQL; with oltp.url, check it is reachable");
  on_run(up, ctx, [&ctx] { return run_up(ctx.config); });
  auto* down = oltp->add_subcommand("down", "Stop the managed PostgreSQL (its data stays under {state_dir}/postgres)");
  on_run(down, ctx, [&ctx] { return run_down(ctx.config); });
  auto* status = oltp->add_subcommand("status", "Show the database in use, its tables and row counts, and the change history");
  on_run(status, ctx, [&ctx] { return run_status(ctx.config); });

  struct GenArgs {
    int64_t users = 9999;
    std::optional<uint64_t> seed;
    bool replace = false;
    std::string as_of;
  };
  auto g = std::make_shared<GenArgs>();
  auto* gen = oltp->add_subcommand(
      "generate",
      "Create the `users` and `activities` tables and load synthetic people (COPY) in one transaction.\n"
      "Same --seed, same rows. Refuses to touch existing tables unless --replace.");
  gen->add_option("--users", g->users, "Number of users (ids from 10001)")->capture_default_str();
  gen->add_option("--seed", g->seed, "Random seed (default: the `seed` setting, 42)");
  gen->add_flag("--replace", g->replace, "Drop existing users/activities (and their change history) first");
  gen->add_option("--as-of", g->as_of,
                  "Time the data is generated as of, UTC (YYYY-MM-DD or 'YYYY-MM-DD HH:MM:SS'): ages count from it, it "
                  "is every row's last_update and, on the managed server, the load's commit time. Default: now");
  on_run(gen, ctx, [&ctx, g] {
    GenerateOptions o;
    o.users = g->users;
    o.seed = g->seed.value_or(static_cast<uint64_t>(ctx.config.get_int("seed")));
    o.replace = g->replace;
    o.as_of = static_cast<int64_t>(std::time(nullptr));
    if (!g->as_of.empty()) {
      auto t = time_option(g->as_of, "--as-of");
      if (!t.ok()) return report_error(t.error());
      o.as_of = *t;
    }
    o.publication = ctx.config.get_string("sync.cdc.publication");
    o.show_progress = true;
    if (o.users < 1) return report_error(invalid_argument("--users must be at least 1 (got {})", o.users));
    auto conn = connect(ctx.config);
    if (!conn.ok()) return report_error(conn.error());
    auto r = generate(*conn, o);
    if (!r.ok()) return report_error(r.error());
    std::printf("%s %s users and %lld activities in %s (seed %llu, as of %s) in %.1f s (%s rows/s)\n",
                r->replaced ? "replaced with" : "loaded", with_thousands(static_cast<uint64_t>(r->users)).c_str(),
                static_cast<long long>(r->activities), conn->where().c_str(),
                static_cast<unsigned long long>(o.seed), format_timestamp(o.as_of).c_str(), r->seconds,
                with_thousands(static_cast<uint64_t>(static_cast<double>(r->users) / std::max(r->seconds, 1e-6))).c_str());
    std::printf("publication %s covers users and activities\n", o.publication.c_str());
    return kExitOk;
  });

  struct MutArgs {
    std::string from, to;
    double rate = 20;
    std::optional<uint64_t> seed;
  };
  auto m = std::make_shared<MutArgs>();
  auto* mut = oltp->add_subcommand(
      "mutate",
      "Apply a realistic history of changes between --from and --to, each in its own transaction, in time order:\n"
      "moves (sometimes abroad), weight and name changes, sign-ups, deletions, re-sign-ups, an activity renamed and\n"
      "one retired. Every change is recorded in " + std::string(kHistoryTable) +
          " (not replicated). On the managed server\neach change commits at its simulated time; elsewhere commits "
          "carry the real time (last_update is simulated).");
  mut->add_option("--from", m->from, "Start of the window, UTC (YYYY-MM-DD or 'YYYY-MM-DD HH:MM:SS'); must be after the "
                                     "last recorded change")->required();
  mut->add_option("--to", m->to, "End of the window, UTC (default: now)");
  mut->add_option("--rate", m->rate, "Average user changes per simulated day")->capture_default_str();
  mut->add_option("--seed", m->seed, "Random seed (default: the `seed` setting)");
  on_run(mut, ctx, [&ctx, m] {
    MutateOptions o;
    auto from = time_option(m->from, "--from");
    if (!from.ok()) return report_error(from.error());
    o.from = *from;
    o.to = static_cast<int64_t>(std::time(nullptr));
    if (!m->to.empty()) {
      auto to = time_option(m->to, "--to");
      if (!to.ok()) return report_error(to.error());
      // A date alone means the whole day.
      o.to = *to + (m->to.size() == 10 ? 86399 : 0);
    }
    o.rate_per_day = m->rate;
    o.seed = m->seed.value_or(static_cast<uint64_t>(ctx.config.get_int("seed")));
    o.show_progress = true;
    if (o.from > o.to) {
      return report_error(invalid_argument("--from {} is after --to {}; give a window that starts before it ends",
                                           format_timestamp(o.from), format_timestamp(o.to)));
    }
    auto conn = connect(ctx.config);
    if (!conn.ok()) return report_error(conn.error());
    auto r = mutate(*conn, o);
    if (!r.ok()) return report_error(r.error());
    std::printf("applied %s changes from %s to %s in %.1f s:", with_thousands(static_cast<uint64_t>(r->total)).c_str(),
                r->total ? format_timestamp(r->first).c_str() : "-", r->total ? format_timestamp(r->last).c_str() : "-",
                r->seconds);
    for (const auto& [kind, n] : r->changes) std::printf(" %s %lld", kind.c_str(), static_cast<long long>(n));
    std::printf("\n%s\n", r->commit_time_simulated
                              ? "each change committed at its simulated time (the managed server's clock followed it)"
                              : "commit timestamps are the real time of this run (the server's clock cannot be driven "
                                "from here); last_update and the history carry the simulated times");
    return kExitOk;
  });

  auto dir = std::make_shared<std::string>();
  auto* exp = oltp->add_subcommand("export", "Write users.csv and activities.csv (the original system's static files)");
  exp->add_option("--dir", *dir, "Directory to write into (created if missing)")->required();
  on_run(exp, ctx, [&ctx, dir] {
    auto conn = connect(ctx.config);
    if (!conn.ok()) return report_error(conn.error());
    auto r = export_csv(*conn, *dir);
    if (!r.ok()) return report_error(r.error());
    std::printf("wrote %s (%s users) and %s (%lld activities)\n", r->users_csv.c_str(),
                with_thousands(static_cast<uint64_t>(r->users)).c_str(), r->activities_csv.c_str(),
                static_cast<long long>(r->activities));
    return kExitOk;
  });
}

}  // namespace hrflow::oltp
