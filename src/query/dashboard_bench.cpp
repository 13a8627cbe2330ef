// The dashboard's queries timed against a warehouse (bench/dashboard.sh drives it):
//   dashboard_bench generate FILE USERS DAYS READINGS_PER_DAY   synthetic star schema into FILE
//   dashboard_bench run FILE REPEATS                            every dashboard query REPEATS times;
//                                                               one line per query: name median_ms p95_ms rows
//   dashboard_bench sql NAME                                    print the compiled SQL of one query
// The requests are the ones web/dashboard/src/app.js sends with no filter set.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "query/dashboard.h"
#include "query/table.h"
#include "query/test_warehouse.h"

namespace {

using hrflow::query::FilterOp;
using hrflow::query::Request;

struct Named {
  std::string name;
  Request request;
};

std::vector<Named> dashboard_requests() {
  const std::vector<std::string> resting = {"Stand", "Sit", "Sleep"};
  return {
      {"tiles", {{"readings", "users", "countries", "avg_heart_rate"}, {}, {}, {}, {}}},
      {"blood_race", {{"avg_heart_rate", "readings"}, {"blood_type", "race"}, {}, {}, {}}},
      {"exercise_sex", {{"avg_heart_rate"}, {"activity", "sex"}, {{"activity", FilterOp::kNe, resting}}, {}, {}}},
      {"europe_map", {{"avg_heart_rate", "users", "readings"}, {"country_numeric", "country_name"}, {{"region", FilterOp::kEq, {"Europe"}}}, {}, {}}},
      {"q1_age", {{"avg_heart_rate"}, {"activity", "age_group"}, {}, {}, {}}},
      {"q1_region", {{"avg_heart_rate"}, {"activity", "subregion"}, {}, {}, {}}},
      {"q1_sex", {{"avg_heart_rate", "resting_heart_rate"}, {"age_group", "sex"}, {}, {}, {}}},
      {"q2_month", {{"resting_heart_rate", "resting_readings"}, {"year", "month", "hemisphere"}, {}, {}, {}}},
      {"q2_week", {{"resting_heart_rate"}, {"week", "subregion"}, {}, {}, {}}},
      {"q3_hour", {{"activity_minutes"}, {"subregion", "local_hour", "activity"}, {}, {}, {}}},
      {"q3_weekday", {{"activity_minutes"}, {"local_weekday", "activity"}, {{"activity", FilterOp::kNe, resting}}, {}, {}}},
  };
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
  if (args.size() == 2 && args[0] == "sql") {
    for (const auto& q : dashboard_requests()) {
      if (q.name == args[1]) std::printf("%s\n", layer->compile(q.request)->sql.c_str());
    }
    if (args[1] == "predictor") std::printf("%s\n", query::predictor_queries(*layer, {})->evaluation_sql.c_str());
    return 0;
  }
  if (args.size() < 3) {
    std::fprintf(stderr, "usage: dashboard_bench generate FILE USERS DAYS PER_DAY | run FILE REPEATS | sql NAME\n");
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
    return 0;
  }
  const int repeats = std::stoi(args[2]);
  auto time_one = [&](const std::string& name, auto&& fn) -> int {
    std::vector<double> ms;
    size_t rows = 0;
    for (int i = 0; i < repeats; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      auto r = fn();
      if (!r.ok()) return fail(r.error().with_context(name));
      rows = r->rows.size();
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    const double median = ms[ms.size() / 2];
    const double p95 = ms[std::min(ms.size() - 1, static_cast<size_t>(0.95 * static_cast<double>(ms.size())))];
    std::printf("%-14s %10.1f %10.1f %8zu\n", name.c_str(), median, p95, rows);
    std::fflush(stdout);
    return 0;
  };
  for (const auto& q : dashboard_requests()) {
    auto compiled = layer->compile(q.request);
    if (!compiled.ok()) return fail(compiled.error());
    if (int rc = time_one(q.name, [&] { return query::execute(*conn, *compiled); })) return rc;
  }
  auto pq = query::predictor_queries(*layer, {});
  if (!pq.ok()) return fail(pq.error());
  if (int rc = time_one("predictor", [&]() -> Result<query::Table> {
        HRFLOW_TRY(query::execute(*conn, {pq->probabilities_sql, pq->params, {}}));
        return query::execute(*conn, {pq->evaluation_sql, pq->params, {}});
      })) {
    return rc;
  }
  return 0;
}
