// The dashboard's queries timed against a warehouse (bench/dashboard.sh drives it):
//   dashboard_bench generate FILE USERS DAYS READINGS_PER_DAY   synthetic star schema into FILE
//   dashboard_bench run FILE REPEATS [K]                        every dashboard query REPEATS times, as the
//                                                               dashboard runs it (from a rollup when one
//                                                               has what it needs; rollups missing or out
//                                                               of date are built first, not timed), with
//                                                               small-cell suppression at K people (default
//                                                               11; 1 = off; the predictor is not suppressed);
//                                                               one line per query: name median_ms p95_ms
//                                                               rows source_table statements hidden (each
//                                                               chart, then as NAME+f with two filters);
//                                                               K > 1 adds the same answer without
//                                                               suppression timed right after each run:
//                                                               its median and the median paired ratio
//   dashboard_bench run-fact FILE REPEATS                       the same, every query from the fact table
//   dashboard_bench sql NAME                                    print the compiled SQL of one query
//   dashboard_bench sql-literal NAME                            the same with its parameters as literals
//   dashboard_bench pg FILE REPEATS QUERIES.sql WORKDIR          the peer: a throwaway PostgreSQL 15
//                                                               (data under WORKDIR, stopped at the end)
//                                                               loaded with FILE's star schema, then
//                                                               the queries of QUERIES.sql, same output
#include <libpq-fe.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <chrono>
#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include "oltp/postgres_server.h"
#include "query/dashboard.h"
#include "query/suppression.h"
#include "query/table.h"
#include "query/test_warehouse.h"

namespace {

struct PgConn {
  PGconn* c = nullptr;
  ~PgConn() { PQfinish(c); }
};

// Run SQL on PostgreSQL; rows returned (or an error with the server's message).
hrflow::Result<size_t> pg_exec(PGconn* c, const std::string& sql) {
  PGresult* r = PQexec(c, sql.c_str());
  const auto st = PQresultStatus(r);
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    std::string msg = PQerrorMessage(c);
    PQclear(r);
    return hrflow::io_error("PostgreSQL: {}", msg);
  }
  size_t n = static_cast<size_t>(PQntuples(r));
  PQclear(r);
  return n;
}

// "-- name: X" blocks of a SQL file.
std::vector<std::pair<std::string, std::string>> named_queries(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::pair<std::string, std::string>> out;
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("-- name: ", 0) == 0) {
      out.emplace_back(line.substr(9), "");
    } else if (!out.empty() && line.rfind("--", 0) != 0) {
      out.back().second += line + "\n";
    }
  }
  return out;
}

int fail(const hrflow::Error& e) {
  std::fprintf(stderr, "dashboard_bench: %s\n", e.message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace hrflow;
  std::vector<std::string> args(argv + 1, argv + argc);
  auto layer = query::SemanticLayer::builtin();
  if (!layer.ok()) return fail(layer.error());
  if (args.size() == 2 && (args[0] == "sql" || args[0] == "sql-literal")) {
    for (const auto& q : query::testing::dashboard_requests()) {
      if (q.name != args[1]) continue;
      auto c = layer->compile(q.request);
      std::string sql = c->sql;
      // sql-literal: the parameters written in as literals, for tools that take plain SQL (pgbench).
      for (size_t i = 0, at = 0; args[0] == "sql-literal" && i < c->params.size(); ++i) {
        at = sql.find('?', at);
        if (at == std::string::npos) break;
        std::string lit = db::quote_literal(c->params[i].text);
        sql.replace(at, 1, lit);
        at += lit.size();
      }
      std::printf("%s\n", sql.c_str());
    }
    if (args[1] == "predictor") std::printf("%s\n", query::predictor_queries(*layer, {})->sql.c_str());
    return 0;
  }
  if (args.size() < 3) {
    std::fprintf(stderr, "usage: dashboard_bench generate FILE USERS DAYS PER_DAY | run FILE REPEATS [K] | run-fact FILE REPEATS | sql NAME | sql-literal NAME\n");
    return 2;
  }
  auto db = db::Database::open(args[1]);
  if (!db.ok()) return fail(db.error());
  auto conn = db::Connection::connect(*db);
  if (!conn.ok()) return fail(conn.error());
  if (args[0] == "generate" && args.size() == 5) {
    query::testing::SyntheticOptions o{std::stoi(args[2]), std::stoi(args[3]), std::stoi(args[4])};
    auto st = query::testing::create_synthetic_star_schema(*conn, o);
    if (!st.ok()) return fail(st.error());
    auto n = conn->scalar("SELECT count(*) FROM serving.fct_heart_rates");
    std::printf("readings %s\n", n.ok() ? n->value_or("?").c_str() : "?");
    auto t0 = std::chrono::steady_clock::now();
    if (auto st = query::testing::build_rollups(*conn, true); !st.ok()) return fail(st.error());
    std::printf("rollups built in %.1f s\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    return 0;
  }
  const int repeats = std::stoi(args[2]);
  const bool postgres = args[0] == "pg" && args.size() == 5;
  PgConn pg;
  std::filesystem::path pg_data;
  if (postgres) {
    // Export the star schema as CSV (world-readable: the server may run as the postgres user).
    const std::filesystem::path work = args[4];
    std::filesystem::create_directories(work / "csv");
    ::chmod(work.c_str(), 0755);
    ::chmod((work / "csv").c_str(), 0777);
    const std::vector<std::pair<std::string, std::string>> tables = {
        {"fct_heart_rates", "SELECT user_key, activity_key, event_date, event_time, event_datetime, heart_rate FROM serving.fct_heart_rates"},
        {"dim_users", "SELECT user_key, user_id, date_of_birth, sex, blood_type, race, address_country_code, address_country_name, time_zone FROM serving.dim_users"},
        {"dim_activities", "SELECT activity_key, activity_id, activity_name FROM serving.dim_activities"},
        {"dim_dates", "SELECT date_day, month_of_year, iso_week_of_year, year_number FROM serving.dim_dates"},
        {"country_regions", "SELECT * FROM staging.country_regions"}};
    for (const auto& [name, sql] : tables) {
      auto csv = (work / "csv" / (name + ".csv")).string();
      if (!std::filesystem::exists(csv)) {
        auto st = conn->execute(fmt::format("COPY ({}) TO {} (HEADER false)", sql, db::quote_literal(csv)));
        if (!st.ok()) return fail(st.error());
      }
      ::chmod(csv.c_str(), 0644);
    }
    pg_data = work / "pgdata";
    auto server = oltp::PostgresServer::start({pg_data, 54000 + static_cast<int>(::getpid() % 1000), "bench", 120});
    if (!server.ok()) return fail(server.error());
    pg.c = PQconnectdb(server->url().c_str());
    if (PQstatus(pg.c) != CONNECTION_OK) return fail(io_error("PostgreSQL: {}", PQerrorMessage(pg.c)));
    const std::string ddl =
        "SET max_parallel_workers_per_gather = 2;"
        "CREATE TABLE IF NOT EXISTS fct_heart_rates (user_key text, activity_key text, event_date date, event_time time,"
        " event_datetime timestamp, heart_rate bigint);"
        "CREATE TABLE IF NOT EXISTS dim_users (user_key text PRIMARY KEY, user_id bigint, date_of_birth date, sex text,"
        " blood_type text, race text, address_country_code text, address_country_name text, time_zone text);"
        "CREATE TABLE IF NOT EXISTS dim_activities (activity_key text PRIMARY KEY, activity_id bigint, activity_name text);"
        "CREATE TABLE IF NOT EXISTS dim_dates (date_day date PRIMARY KEY, month_of_year int, iso_week_of_year int, year_number int);"
        "CREATE TABLE IF NOT EXISTS country_regions (alpha2 text PRIMARY KEY, \"numeric\" text, name text, region text,"
        " subregion text, hemisphere text, time_zone text);";
    if (auto r = pg_exec(pg.c, ddl); !r.ok()) return fail(r.error());
    auto loaded = pg_exec(pg.c, "SELECT 1 FROM fct_heart_rates LIMIT 1");
    if (loaded.ok() && *loaded == 0) {
      for (const auto& t : tables) {
        auto t0 = std::chrono::steady_clock::now();
        auto r = pg_exec(pg.c, fmt::format("COPY {} FROM '{}' (FORMAT csv)", t.first, (work / "csv" / (t.first + ".csv")).string()));
        if (!r.ok()) return fail(r.error());
        std::fprintf(stderr, "postgres: loaded %s in %.1f s\n", t.first.c_str(),
                     std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      }
      if (auto r = pg_exec(pg.c, "VACUUM ANALYZE"); !r.ok()) return fail(r.error());
    }
    if (auto r = pg_exec(pg.c, "SET max_parallel_workers_per_gather = 2; SET work_mem = '256MB'"); !r.ok()) return fail(r.error());
  }
  struct StopServer {
    std::filesystem::path data;
    ~StopServer() {
      if (!data.empty()) (void)oltp::PostgresServer::stop(data);
    }
  } stop_server{pg_data};
  if (postgres) {
    for (const auto& [name, sql] : named_queries(args[3])) {
      std::vector<double> ms;
      size_t rows = 0;
      for (int i = 0; i < repeats; ++i) {
        auto t0 = std::chrono::steady_clock::now();
        auto r = pg_exec(pg.c, sql);
        if (!r.ok()) return fail(r.error().with_context(name));
        rows = *r;
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      }
      std::sort(ms.begin(), ms.end());
      std::printf("%-14s %10.1f %10.1f %8zu\n", name.c_str(), ms[ms.size() / 2],
                  ms[std::min(ms.size() - 1, static_cast<size_t>(0.95 * static_cast<double>(ms.size())))], rows);
      std::fflush(stdout);
    }
    return 0;
  }
  if (args[0] == "run") {
    auto fresh = layer->fresh_rollups(*conn);
    if (!fresh.ok()) return fail(fresh.error());
    if (fresh->size() < layer->rollups().size()) {
      std::fprintf(stderr, "building the rollups (not timed) ...\n");
      if (auto st = query::testing::build_rollups(*conn); !st.ok()) return fail(st.error());
    }
  }
  // Each timed run does what the dashboard does per request: check which rollups are up to date (not
  // in run-fact), compile, execute. One untimed run per query first: an open dashboard answers from a
  // warm buffer cache, and the first query after opening the file would time reading it from disk.
  const bool use_rollups = args[0] == "run";
  const int64_t min_cell_users = args[0] == "run" && args.size() >= 4 ? std::stoll(args[3]) : 1;
  auto time_one = [&](const std::string& name, auto&& compile, const query::Request* request = nullptr) -> int {
    std::vector<double> ms, plain_ms, ratios;
    size_t rows = 0;
    std::string source;
    int64_t statements = 1, hidden = 0;
    for (int i = -1; i < repeats; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      auto fresh = use_rollups ? layer->fresh_rollups(*conn) : Result<std::set<std::string>>(std::set<std::string>{});
      if (!fresh.ok()) return fail(fresh.error());
      if (request) {  // the answer the dashboard gives: with small-cell suppression
        auto a = query::answer(*conn, *layer, *request, *fresh, min_cell_users);
        if (!a.ok()) return fail(a.error().with_context(name));
        rows = a->table.rows.size();
        source = a->source;
        statements = a->statements;
        hidden = a->hidden;
        const double with = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
        if (min_cell_users > 1) {  // the same answer without suppression right after: a pair on the same load
          auto t1 = std::chrono::steady_clock::now();
          auto fresh1 = layer->fresh_rollups(*conn);
          if (!fresh1.ok()) return fail(fresh1.error());
          auto b = query::answer(*conn, *layer, *request, *fresh1, 1);
          if (!b.ok()) return fail(b.error().with_context(name));
          const double without = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t1).count();
          if (i >= 0) {
            plain_ms.push_back(without);
            ratios.push_back(with / without);
          }
        }
        if (i >= 0) ms.push_back(with);
        continue;
      }
      Result<query::CompiledQuery> q = compile(*fresh);
      if (!q.ok()) return fail(q.error().with_context(name));
      auto r = query::execute(*conn, *q);
      if (!r.ok()) return fail(r.error().with_context(name));
      rows = r->rows.size();
      source = q->source;
      if (i >= 0) ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    const double median = ms[ms.size() / 2];
    const double p95 = ms[std::min(ms.size() - 1, static_cast<size_t>(0.95 * static_cast<double>(ms.size())))];
    std::printf("%-14s %10.1f %10.1f %8zu %s %lld %lld", name.c_str(), median, p95, rows, source.c_str(),
                static_cast<long long>(statements), static_cast<long long>(hidden));
    if (!ratios.empty()) {  // without suppression: median, and the median of the paired ratios
      std::sort(plain_ms.begin(), plain_ms.end());
      std::sort(ratios.begin(), ratios.end());
      std::printf(" %.1f %.2f", plain_ms[plain_ms.size() / 2], ratios[ratios.size() / 2]);
    }
    std::printf("\n");
    std::fflush(stdout);
    return 0;
  };
  // Every chart as the page first asks for it, then with two of the page's filters set (sex, age
  // group: what small-cell suppression checks for differencing grows with the filtered dimensions).
  auto requests = query::testing::dashboard_requests();
  for (auto r : query::testing::dashboard_requests()) {
    r.name += "+f";
    r.request.filters.push_back({"sex", query::FilterOp::kEq, {"F"}});
    r.request.filters.push_back({"age_group", query::FilterOp::kNe, {"70+"}});
    requests.push_back(std::move(r));
  }
  for (const auto& q : requests) {
    if (int rc = time_one(q.name, [&](const std::set<std::string>& fresh) { return layer->compile(q.request, fresh); },
                          use_rollups ? &q.request : nullptr)) return rc;
  }
  auto predictor = [&](const std::set<std::string>& fresh) -> Result<query::CompiledQuery> {
    HRFLOW_ASSIGN_OR_RETURN(auto pq, query::predictor_queries(*layer, {}, fresh));
    return query::CompiledQuery{pq.sql, pq.params, {}, pq.source};
  };
  if (int rc = time_one("predictor", predictor)) return rc;
  return 0;
}
