// The semantic layer: what the compiler emits (SQL shape, bound parameters), what it refuses, and
// the answers it gives on a tiny hand-made star schema whose results are known by heart.
#include "query/semantic_layer.h"

#include <gtest/gtest.h>

#include <map>

#include <nlohmann/json.hpp>

#include "query/dashboard.h"
#include "query/table.h"
#include "query/test_warehouse.h"
#include "support/fixtures.h"

namespace hrflow::query {
namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

SemanticLayer layer() {
  auto l = SemanticLayer::builtin();
  EXPECT_TRUE(l.ok()) << l.error().message;
  return std::move(l).value();
}

struct TinyWarehouse {
  db::Database db = db::Database::open(":memory:").value();
  db::Connection conn = db::Connection::connect(db).value();
  TinyWarehouse() {
    auto st = testing::create_tiny_star_schema(conn);
    EXPECT_TRUE(st.ok()) << st.error().message;
  }
  // Run a request; rows keyed by the joined dimension values, value of the first metric.
  std::map<std::string, std::string> run(const Request& r) {
    auto q = layer().compile(r);
    EXPECT_TRUE(q.ok()) << q.error().message;
    auto t = execute(conn, *q);
    EXPECT_TRUE(t.ok()) << t.error().message;
    std::map<std::string, std::string> out;
    const size_t dims = r.dimensions.size();
    for (const auto& row : t->rows) {
      std::string key;
      for (size_t i = 0; i < dims; ++i) key += (i ? "|" : "") + row[i].value_or("NULL");
      out[key] = row[dims].value_or("NULL");
    }
    return out;
  }
};

TEST(SemanticLayer, BuiltinLayerDeclaresTheResearchVocabulary) {
  auto l = layer();
  for (const char* m : {"readings", "users", "countries", "avg_heart_rate", "min_heart_rate", "max_heart_rate", "resting_heart_rate"}) {
    EXPECT_TRUE(l.find_measure(m).ok()) << m;
  }
  for (const char* d : {"activity", "sex", "age_group", "region", "country", "hemisphere", "blood_type", "race", "month",
                        "week", "year", "local_hour", "local_weekday"}) {
    EXPECT_TRUE(l.find_dimension(d).ok()) << d;
  }
  EXPECT_TRUE(contains(l.describe(), "avg_heart_rate")) << l.describe();
}

TEST(SemanticLayer, CompilesOnlyTheJoinsARequestNeedsAndBindsEveryValue) {
  Request r;
  r.metrics = {"avg_heart_rate"};
  r.dimensions = {"activity", "sex"};
  r.filters = {{"region", FilterOp::kEq, {"Europe"}}};
  auto q = layer().compile(r);
  ASSERT_TRUE(q.ok()) << q.error().message;
  EXPECT_TRUE(contains(q->sql, "JOIN serving.dim_activities a ON")) << q->sql;
  EXPECT_TRUE(contains(q->sql, "JOIN serving.dim_users u ON")) << q->sql;
  EXPECT_TRUE(contains(q->sql, "LEFT JOIN staging.country_regions c ON")) << q->sql;
  EXPECT_FALSE(contains(q->sql, "dim_dates")) << q->sql;
  EXPECT_TRUE(contains(q->sql, "(c.region) = CAST(? AS VARCHAR)")) << q->sql;
  EXPECT_FALSE(contains(q->sql, "Europe")) << q->sql;
  EXPECT_TRUE(contains(q->sql, "GROUP BY ALL")) << q->sql;
  ASSERT_EQ(q->params.size(), 1u);
  EXPECT_EQ(q->params[0].text, "Europe");
  EXPECT_EQ(q->columns, (std::vector<std::string>{"activity", "sex", "avg_heart_rate"}));
  // users must come before the country join that depends on it
  EXPECT_LT(q->sql.find("dim_users"), q->sql.find("country_regions"));

  Request only_fact;
  only_fact.metrics = {"readings"};
  auto q2 = layer().compile(only_fact);
  ASSERT_TRUE(q2.ok());
  EXPECT_FALSE(contains(q2->sql, "JOIN")) << q2->sql;
}

TEST(SemanticLayer, FilterValuesAreTypedAndSeveralValuesMeanIn) {
  Request r;
  r.metrics = {"readings"};
  r.filters = {{"activity", FilterOp::kNe, {"Stand", "Sit", "Sleep"}}, {"month", FilterOp::kGe, {"3"}},
               {"date", FilterOp::kLt, {"2024-12-31"}}};
  auto q = layer().compile(r);
  ASSERT_TRUE(q.ok()) << q.error().message;
  EXPECT_TRUE(contains(q->sql, "NOT IN (CAST(? AS VARCHAR), CAST(? AS VARCHAR), CAST(? AS VARCHAR))")) << q->sql;
  EXPECT_TRUE(contains(q->sql, ">= CAST(? AS BIGINT)")) << q->sql;
  EXPECT_TRUE(contains(q->sql, "< CAST(? AS DATE)")) << q->sql;
  ASSERT_EQ(q->params.size(), 5u);
  EXPECT_EQ(q->params[3].type, ValueType::kInteger);
  EXPECT_EQ(q->params[3].integer, 3);
}

TEST(SemanticLayer, BadRequestsAreClearErrors) {
  auto l = layer();
  auto err = [&](Request r) {
    auto q = l.compile(r);
    EXPECT_FALSE(q.ok());
    return q.ok() ? std::string() : q.error().message;
  };
  EXPECT_TRUE(contains(err({{"avg_hr"}, {}, {}, {}, {}}), "unknown metric 'avg_hr'; available: readings"));
  EXPECT_TRUE(contains(err({{"readings"}, {"colour"}, {}, {}, {}}), "unknown dimension 'colour'"));
  EXPECT_TRUE(contains(err({{"readings"}, {}, {{"month", FilterOp::kEq, {"March"}}}, {}, {}}), "'March' for 'month' is not an integer"));
  EXPECT_TRUE(contains(err({{"readings"}, {}, {{"date", FilterOp::kGe, {"2024-02-30"}}}, {}, {}}), "is not a date (YYYY-MM-DD)"));
  EXPECT_TRUE(contains(err({{"readings"}, {}, {{"sex", FilterOp::kLt, {"F", "M"}}}, {}, {}}), "several values only work with = and !="));
  EXPECT_TRUE(contains(err({{"readings"}, {"sex"}, {}, {{"age", false}}, {}}), "cannot order by 'age'"));
  EXPECT_TRUE(contains(err({{"readings"}, {}, {}, {}, 0}), "limit must be between 1"));
  EXPECT_TRUE(contains(err({{}, {}, {}, {}, {}}), "nothing to compute"));
  EXPECT_TRUE(contains(err({{"readings", "readings"}, {}, {}, {}, {}}), "named twice"));
  // Names are looked up, never pasted: SQL in a name is just an unknown name.
  EXPECT_TRUE(contains(err({{"readings"}, {"sex; DROP TABLE serving.dim_users"}, {}, {}, {}}), "unknown dimension"));
  EXPECT_TRUE(contains(err({{"count(*)"}, {}, {}, {}, {}}), "unknown metric"));
}

TEST(SemanticLayer, ParsesCommandLineFiltersAndOrders) {
  auto f = parse_filter("activity!=Stand, Sit,Sleep");
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->dimension, "activity");
  EXPECT_EQ(f->op, FilterOp::kNe);
  EXPECT_EQ(f->values, (std::vector<std::string>{"Stand", "Sit", "Sleep"}));
  auto g = parse_filter("date>=2024-01-01");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->op, FilterOp::kGe);
  auto inj = parse_filter("region=Europe' OR '1'='1");
  ASSERT_TRUE(inj.ok());
  EXPECT_EQ(inj->values, (std::vector<std::string>{"Europe' OR '1'='1"}));
  for (const char* bad : {"region", "=Europe", "region=", "region=>Europe", "region=a,,b", "Region=Europe"}) {
    EXPECT_FALSE(parse_filter(bad).ok()) << bad;
  }
  auto o = parse_order("avg_heart_rate DESC");
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->descending);
  EXPECT_FALSE(parse_order("a sideways").ok());
}

TEST(SemanticLayer, LayerFilesWithMistakesAreRejectedWithTheirPlace) {
  auto bad_join = SemanticLayer::parse(
      "fact: {table: t}\njoins:\n  c: {table: x, alias: c, on: 'c.a = u.a', requires: [users]}\nmeasures:\n  n: {sql: count(*)}\n",
      "layer.yml");
  ASSERT_FALSE(bad_join.ok());
  EXPECT_TRUE(contains(bad_join.error().message, "layer.yml:3:3: join c: requires 'users'")) << bad_join.error().message;
  auto bad_macro = SemanticLayer::parse("fact: {table: t}\nmeasures:\n  n: {sql: 'avg({nope})'}\n", "layer.yml");
  ASSERT_FALSE(bad_macro.ok());
  EXPECT_TRUE(contains(bad_macro.error().message, "unknown macro {nope}")) << bad_macro.error().message;
  EXPECT_FALSE(SemanticLayer::parse("fact: [", "layer.yml").ok());
}

TEST(SemanticLayerOnTinyWarehouse, AnswersMatchTheHandMadeReadings) {
  TinyWarehouse w;
  auto by_activity = w.run({{"avg_heart_rate"}, {"activity"}, {}, {}, {}});
  EXPECT_EQ(by_activity["Run"], "150.0");
  EXPECT_EQ(by_activity["Sit"], "75.0");
  EXPECT_EQ(by_activity["Sleep"], "57.5");
  EXPECT_EQ(by_activity["Walk"], "105.0");

  auto europe = w.run({{"avg_heart_rate"}, {"activity"}, {{"region", FilterOp::kEq, {"Europe"}}}, {}, {}});
  EXPECT_EQ(europe["Run"], "155.0");
  EXPECT_EQ(europe.count("Sit") ? europe["Sit"] : "", "70.0");

  auto tiles = w.run({{"users"}, {}, {}, {}, {}});
  EXPECT_EQ(tiles[""], "3");
  EXPECT_EQ(w.run({{"countries"}, {}, {}, {}, {}})[""], "4");  // ES, AU, DE, SE (user 3 moved)

  auto resting = w.run({{"resting_heart_rate"}, {"hemisphere"}, {}, {}, {}});
  EXPECT_EQ(resting["Northern"], "62.5");
  EXPECT_EQ(resting["Southern"], "70.0");

  // Type 2: the reading counts for the country the user lived in at the time.
  auto by_country = w.run({{"readings"}, {"country"}, {}, {}, {}});
  EXPECT_EQ(by_country["DE"], "1");
  EXPECT_EQ(by_country["SE"], "2");

  // Local time from the address country's zone: 08:00 UTC in January is 09:00 in Madrid; 20:00 UTC
  // is 07:00 next morning in Sydney (daylight saving).
  auto hours = w.run({{"readings"}, {"country", "local_hour", "local_weekday"}, {{"activity", FilterOp::kEq, {"Run"}}}, {}, {}});
  EXPECT_EQ(hours["ES|9|3"], "2");  // Wednesday
  EXPECT_EQ(hours["AU|7|4"], "1");  // Thursday

  auto ages = w.run({{"readings"}, {"age_group"}, {}, {}, {}});
  EXPECT_EQ(ages["30-39"], "7");
  EXPECT_EQ(ages["60-69"], "3");

  auto months = w.run({{"readings"}, {"month", "year"}, {{"date", FilterOp::kGe, {"2024-03-01"}}}, {}, {}});
  EXPECT_EQ(months["3|2024"], "1");
  EXPECT_EQ(months["7|2024"], "4");
}

TEST(SemanticLayerOnTinyWarehouse, InjectionAttemptsAreJustValuesThatMatchNothing) {
  TinyWarehouse w;
  for (const char* attack : {"Europe' OR '1'='1", "Europe'; DROP TABLE serving.dim_users; --", "x\") OR (1=1", "%"}) {
    auto rows = w.run({{"readings"}, {}, {{"region", FilterOp::kEq, {attack}}}, {}, {}});
    EXPECT_EQ(rows[""], "0") << attack;
  }
  auto still_there = w.conn.scalar("SELECT count(*) FROM serving.dim_users");
  ASSERT_TRUE(still_there.ok());
  EXPECT_EQ(still_there->value_or(""), "4");
}

TEST(SemanticLayerOnTinyWarehouse, EveryCountryTimeZoneOfTheSeedIsKnownToDuckDb) {
  TinyWarehouse w;
  auto t = run_read_only_sql(w.conn,
      "SELECT alpha2, time_zone FROM staging.country_regions "
      "WHERE timezone(time_zone, TIMESTAMPTZ '2024-01-01 00:00:00+00') IS NULL");
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_TRUE(t->rows.empty());
  auto n = run_read_only_sql(w.conn, "SELECT count(*) FROM staging.country_regions WHERE alpha2 IN "
                                     "('US','GB','AU','BR','ES','FR','DE','IT','NL','SE','NO','FI','DK','PL')");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->rows[0][0].value_or(""), "14");
  // ... and every zone of a state or territory (seed area_time_zones), for countries with several zones.
  auto areas = run_read_only_sql(w.conn, "SELECT alpha2, area, time_zone FROM read_csv('" +
      (hrflow::testing::source_dir() / "warehouse/seeds/area_time_zones.csv").string() + "', header = true, all_varchar = true) "
      "WHERE timezone(time_zone, TIMESTAMPTZ '2024-01-01 00:00:00+00') IS NULL");
  ASSERT_TRUE(areas.ok()) << areas.error().message;
  EXPECT_TRUE(areas->rows.empty());
}

TEST(ReadOnlySql, RunsSelectsAndRefusesEverythingElseBeforeRunningAnything) {
  TinyWarehouse w;
  auto ok = run_read_only_sql(w.conn, "WITH x AS (SELECT 1 AS a) SELECT a FROM x");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  EXPECT_EQ(ok->rows[0][0].value_or(""), "1");
  for (const char* bad : {"DELETE FROM serving.fct_heart_rates", "SELECT 1; DROP TABLE serving.dim_users",
                          "COPY serving.dim_users TO '/tmp/x.csv'", "ATTACH ':memory:' AS other",
                          "SET threads = 1", "CREATE TABLE t AS SELECT 1", "INSTALL httpfs"}) {
    auto r = run_read_only_sql(w.conn, bad);
    EXPECT_FALSE(r.ok()) << bad;
  }
  auto still_there = w.conn.scalar("SELECT count(*) FROM serving.dim_users");
  EXPECT_EQ(still_there->value_or(""), "4");
}

TEST(Rendering, CsvQuotesAndJsonKeepsNumbers) {
  Table t{{"name", "n"}, {false, true}, {{std::string("a,\"b\""), std::string("1.5")}, {std::nullopt, std::string("2")}}};
  EXPECT_EQ(to_csv(t), "name,n\n\"a,\"\"b\"\"\",1.5\n,2\n");
  EXPECT_EQ(to_json(t), R"({"columns":["name","n"],"rows":[["a,\"b\"",1.5],[null,2]]})");
  EXPECT_TRUE(contains(to_text(t), "(2 rows)"));
}

TEST(DashboardApi, QueryEndpointValidatesAndAnswers) {
  TinyWarehouse w;
  auto d = Dashboard::create(w.db, layer(), 1);  // three people: no suppression (suppression_test.cpp)
  ASSERT_TRUE(d.ok());
  auto r = d->handle("POST", "/api/dashboard/query",
                     R"({"metrics":["avg_heart_rate"],"by":["activity"],"filters":[{"dimension":"sex","op":"=","values":["M"]}],"order":[{"field":"avg_heart_rate","desc":true}]})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(contains(r.body, R"("rows":[["Run",140.0],)")) << r.body;
  auto csv = d->handle("POST", "/api/dashboard/query", R"({"metrics":["readings"],"by":["sex"]})", "csv");
  EXPECT_EQ(csv.body, "sex,readings\nF,4\nM,6\n");
  auto bad = d->handle("POST", "/api/dashboard/query", R"({"metrics":["readings"],"by":["nope"]})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_TRUE(contains(bad.body, "unknown dimension 'nope'")) << bad.body;
  EXPECT_EQ(d->handle("POST", "/api/dashboard/query", "not json").status, 400);
  auto meta = d->handle("GET", "/api/dashboard/meta", "");
  EXPECT_EQ(meta.status, 200) << meta.body;
  EXPECT_TRUE(contains(meta.body, R"("activity":["Run","Sit","Sleep","Stand","Walk"])")) << meta.body;
  EXPECT_TRUE(contains(meta.body, R"("date_min":"2024-01-10")")) << meta.body;
  auto page = d->handle("GET", "/dashboard/", "");
  EXPECT_EQ(page.status, 200);
  EXPECT_TRUE(contains(page.body, "<html")) << page.body.substr(0, 200);
  EXPECT_EQ(d->handle("GET", "/dashboard/../../etc/passwd", "").status, 404);
  EXPECT_GT(find_asset("vendor/vega.min.js")->bytes.size(), 100000u);
  EXPECT_GT(find_asset("map/countries-50m.json")->bytes.size(), 100000u);
}

TEST(DashboardApi, PredictorLearnsOnTrainingDaysAndReportsHeldOutAccuracy) {
  db::Database db = db::Database::open(":memory:").value();
  db::Connection conn = db::Connection::connect(db).value();
  ASSERT_TRUE(testing::create_synthetic_star_schema(conn, {.users = 40, .days = 30, .readings_per_day = 48}).ok());
  auto d = Dashboard::create(db, layer());
  auto r = d->handle("POST", "/api/dashboard/predictor", R"({"filters":[]})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = nlohmann::json::parse(r.body);
  const auto& e = j["evaluation"];
  EXPECT_GT(e["held_out_minutes"].get<int64_t>(), 10000);
  // The synthetic schedule is mostly determined by the local hour: the predictor must beat always
  // guessing the most common activity by a wide margin.
  EXPECT_GT(e["accuracy"].get<double>(), e["baseline_accuracy"].get<double>() + 0.2) << e.dump();
  EXPECT_GE(e["top3_accuracy"].get<double>(), e["accuracy"].get<double>());
  EXPECT_FALSE(j["probabilities"]["rows"].empty());
}

// --- rollups ------------------------------------------------------------------------------------------

// A synthetic warehouse with the project's rollup models built over it.
struct RolledUpWarehouse {
  db::Database db = db::Database::open(":memory:").value();
  db::Connection conn = db::Connection::connect(db).value();
  SemanticLayer l = layer();
  explicit RolledUpWarehouse(testing::SyntheticOptions o = {.users = 60, .days = 21, .readings_per_day = 48}) {
    auto st = testing::create_synthetic_star_schema(conn, o);
    EXPECT_TRUE(st.ok()) << st.error().message;
    st = testing::build_rollups(conn);
    EXPECT_TRUE(st.ok()) << st.error().message;
  }
  std::set<std::string> fresh() {
    auto f = l.fresh_rollups(conn);
    EXPECT_TRUE(f.ok()) << f.error().message;
    return f.ok() ? *f : std::set<std::string>{};
  }
  Table run(const CompiledQuery& q) {
    auto t = execute(conn, q);
    EXPECT_TRUE(t.ok()) << t.error().message << "\n" << q.sql;
    return t.ok() ? *t : Table{};
  }
};

// Same columns and rows; numbers equal up to the last of the two decimals the measures round to
// (an average from sums can round the other way from avg() at a half).
void expect_same_answer(const Table& a, const Table& b, const std::string& what) {
  ASSERT_EQ(a.columns, b.columns) << what;
  ASSERT_EQ(a.rows.size(), b.rows.size()) << what;
  for (size_t r = 0; r < a.rows.size(); ++r) {
    for (size_t c = 0; c < a.columns.size(); ++c) {
      const auto& x = a.rows[r][c];
      const auto& y = b.rows[r][c];
      if (x == y) continue;
      ASSERT_TRUE(x && y && a.numeric[c]) << what << " row " << r << " " << a.columns[c] << ": "
                                          << x.value_or("NULL") << " vs " << y.value_or("NULL");
      EXPECT_NEAR(std::stod(*x), std::stod(*y), 0.0101) << what << " row " << r << " " << a.columns[c];
    }
  }
}

TEST(Rollups, EveryDashboardChartGetsTheFactTablesAnswerFromARollup) {
  RolledUpWarehouse w;
  const auto fresh = w.fresh();
  EXPECT_EQ(fresh, (std::set<std::string>{"daily", "local_hourly"}));
  auto requests = testing::dashboard_requests();
  // The dashboard's filters on top: date range, region, country, sex, age group, activity.
  const std::vector<Filter> filtered = {{"date", FilterOp::kGe, {"2024-01-05"}}, {"date", FilterOp::kLt, {"2024-01-15"}},
                                        {"region", FilterOp::kEq, {"Europe", "North America"}}, {"sex", FilterOp::kEq, {"F"}},
                                        {"age_group", FilterOp::kNe, {"70+"}}, {"activity", FilterOp::kNe, {"Sleep"}}};
  for (const auto& base : testing::dashboard_requests()) {
    auto r = base;
    r.name += "+filters";
    r.request.filters.insert(r.request.filters.end(), filtered.begin(), filtered.end());
    requests.push_back(r);
  }
  requests.push_back({"spread", {{"min_heart_rate", "max_heart_rate", "stddev_heart_rate", "readings"}, {"country", "local_weekday"}, {}, {}, {}}});
  requests.push_back({"spread_daily", {{"stddev_heart_rate", "users", "activity_minutes"}, {"month_start", "age_group"}, {{"country", FilterOp::kEq, {"DE"}}}, {}, {}}});
  // The people small-cell suppression counts, from either rollup.
  requests.push_back({"people_hourly", {{"people", "readings"}, {"subregion", "local_hour", "activity"}, {{"sex", FilterOp::kEq, {"F"}}}, {}, {}}});
  requests.push_back({"people_daily", {{"people", "users"}, {"blood_type", "race"}, {{"date", FilterOp::kGe, {"2024-01-05"}}}, {}, {}}});
  for (const auto& [name, request] : requests) {
    auto from_fact = w.l.compile(request);
    auto from_rollup = w.l.compile(request, fresh);
    ASSERT_TRUE(from_fact.ok() && from_rollup.ok()) << name;
    EXPECT_EQ(from_fact->source, "serving.fct_heart_rates");
    EXPECT_NE(from_rollup->source, "serving.fct_heart_rates") << name << " is answered from the fact table";
    const Table fact = w.run(*from_fact);
    EXPECT_FALSE(fact.rows.empty()) << name;
    expect_same_answer(fact, w.run(*from_rollup), name + " from " + from_rollup->source);
  }
  // The local-time charts come from the local-hourly rollup, the users tile from the daily one.
  EXPECT_EQ(w.l.compile(requests[9].request, fresh)->source, "serving.agg_heart_rates_local_hourly");
  EXPECT_EQ(w.l.compile(requests[0].request, fresh)->source, "serving.agg_heart_rates_daily");
}

TEST(Rollups, WhatNoRollupHoldsIsAnsweredFromTheFactTable) {
  RolledUpWarehouse w({.users = 10, .days = 3, .readings_per_day = 24});
  const auto fresh = w.fresh();
  // Hour of the UTC day and distinct users by local hour are not kept by any rollup.
  for (const Request& r : {Request{{"readings"}, {"utc_hour"}, {}, {}, {}}, Request{{"users"}, {"local_hour"}, {}, {}, {}},
                           Request{{"readings"}, {"activity"}, {{"utc_hour", FilterOp::kLt, {"6"}}}, {}, {}}}) {
    auto q = w.l.compile(r, fresh);
    ASSERT_TRUE(q.ok()) << q.error().message;
    EXPECT_EQ(q->source, "serving.fct_heart_rates") << r.dimensions[0];
    EXPECT_FALSE(w.run(*q).rows.empty());
  }
  // Age in years is not stored anywhere, but the daily rollup keeps what it is computed from (the
  // event date and the user version): the fact table's definition works on it unchanged.
  const Request by_age{{"avg_heart_rate", "readings"}, {"age"}, {}, {}, {}};
  EXPECT_EQ(w.l.compile(by_age, fresh)->source, "serving.agg_heart_rates_daily");
  expect_same_answer(w.run(*w.l.compile(by_age)), w.run(*w.l.compile(by_age, fresh)), "age");
  // Unknown names are refused the same way whether or not rollups are in use.
  auto bad = w.l.compile({{"readings"}, {"nope"}, {}, {}, {}}, fresh);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(contains(bad.error().message, "unknown dimension 'nope'; available:")) << bad.error().message;
}

TEST(Rollups, ARollupBehindTheFactTableIsNotUsedAndAnIncrementalRunEqualsAFullRebuild) {
  RolledUpWarehouse w({.users = 30, .days = 10, .readings_per_day = 48});
  // New readings: a day after the last, and late ones inside the rollups' window (the last day).
  ASSERT_TRUE(w.conn.execute(R"sql(
      INSERT INTO serving.fct_heart_rates
      SELECT user_key, activity_key, CAST(event_datetime + INTERVAL 1 DAY AS DATE), event_time, event_datetime + INTERVAL 1 DAY,
             heart_rate + 3, previous_heart_rate, max_heart_rate, min_heart_rate, avg_heart_rate, latitude, longitude
      FROM serving.fct_heart_rates WHERE event_date = (SELECT max(event_date) FROM serving.fct_heart_rates);
      INSERT INTO serving.fct_heart_rates
      SELECT user_key, activity_key, event_date, event_time + INTERVAL 7 SECOND, event_datetime + INTERVAL 7 SECOND,
             heart_rate - 2, previous_heart_rate, max_heart_rate, min_heart_rate, avg_heart_rate, latitude, longitude
      FROM serving.fct_heart_rates WHERE event_date = (SELECT max(event_date) - 1 FROM serving.fct_heart_rates)
        AND hour(event_time) = 12)sql").ok());
  EXPECT_TRUE(w.fresh().empty()) << "a rollup missing readings must not answer";
  const auto request = testing::dashboard_requests()[9].request;  // q3_hour
  EXPECT_EQ(w.l.compile(request, w.fresh())->source, "serving.fct_heart_rates");
  ASSERT_TRUE(testing::build_rollups(w.conn).ok());  // incremental: only the window is re-aggregated
  EXPECT_EQ(w.fresh().size(), 2u);
  expect_same_answer(w.run(*w.l.compile(request)), w.run(*w.l.compile(request, w.fresh())), "q3_hour after the update");
  // Row for row what a full rebuild gives.
  for (const char* t : {"serving.agg_heart_rates_daily", "serving.agg_heart_rates_local_hourly"}) {
    ASSERT_TRUE(w.conn.execute(fmt::format("CREATE TABLE incremental AS SELECT * FROM {}", t)).ok());
    ASSERT_TRUE(testing::build_rollups(w.conn, true).ok());
    auto differ = w.conn.scalar(fmt::format(
        "SELECT count(*) FROM ((SELECT * FROM incremental EXCEPT ALL SELECT * FROM {0}) UNION ALL "
        "(SELECT * FROM {0} EXCEPT ALL SELECT * FROM incremental))", t));
    ASSERT_TRUE(differ.ok()) << differ.error().message;
    EXPECT_EQ(differ->value_or("?"), "0") << t;
    ASSERT_TRUE(w.conn.execute("DROP TABLE incremental").ok());
  }
}

TEST(Rollups, DeclarationsAreChecked) {
  const std::string base = R"(
fact: {table: t, alias: f}
joins:
  users: {table: u_t, alias: u, on: u.k = f.user_key}
measures:
  readings: {sql: count(*)}
dimensions:
  sex: {sql: u.sex, requires: [users]}
  day: {sql: f.event_date}
)";
  auto ok = SemanticLayer::parse(base + "rollups:\n  r: {table: r_t, keeps: [event_date], covers: n, measures: {readings: sum(f.n)}}\n", "x.yml");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  // `day` uses only a kept column; `sex` needs the users join, whose condition needs user_key: not kept.
  const auto& view = *ok->rollups()[0].layer;
  EXPECT_TRUE(view.find_dimension("day").ok());
  EXPECT_FALSE(view.find_dimension("sex").ok());
  EXPECT_EQ(ok->compile({{"readings"}, {"sex"}, {}, {}, {}}, {"r"})->source, "t");
  EXPECT_EQ(ok->compile({{"readings"}, {"day"}, {}, {}, {}}, {"r"})->source, "r_t");
  EXPECT_EQ(ok->compile({{"readings"}, {"day"}, {}, {}, {}}, {})->source, "t");
  for (const auto& [yaml, message] : std::vector<std::pair<std::string, std::string>>{
           {"rollups:\n  r: {table: r_t, covers: n, measures: {nope: sum(f.n)}}\n", "unknown measure 'nope'"},
           {"rollups:\n  r: {table: r_t, covers: n, dimensions: {nope: f.x}}\n", "unknown dimension 'nope'"},
           {"rollups:\n  r: {table: r_t, covers: n, joins: {nope: {on: x}}}\n", "unknown join 'nope'"},
           {"rollups:\n  r: {table: r_t, covers: n, measures: {readings: {sql: max(u.n), requires: [users]}}}\n",
            "requires a join the rollup lacks"},
           {"rollups:\n  r: {covers: n}\n", "needs table and covers"}}) {
    auto bad = SemanticLayer::parse(base + yaml, "x.yml");
    ASSERT_FALSE(bad.ok()) << yaml;
    EXPECT_TRUE(contains(bad.error().message, message)) << bad.error().message;
  }
}

}  // namespace
}  // namespace hrflow::query
