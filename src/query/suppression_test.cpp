// Small-cell suppression (suppression.h): on a synthetic warehouse in which one blood type x race cell
// holds exactly three people, that cell is hidden, the cells that would give it away through a line
// total are hidden with it, clean cells keep their exact values, and no pair of answers to a family of
// filtered requests (every filter value the dashboard offers, = and !=, date bounds, pairs of filters)
// differs by the three people's numbers - while without suppression the same family does reveal them.
#include "query/suppression.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "query/dashboard.h"
#include "query/test_warehouse.h"

namespace hrflow::query {
namespace {

constexpr int64_t k = 11;

SemanticLayer builtin_layer() {
  auto l = SemanticLayer::builtin();
  EXPECT_TRUE(l.ok()) << l.error().message;
  return std::move(l).value();
}

// 1400 synthetic people (about 35 per blood type x race cell), of whom exactly three are AB- and O;
// those three have 200 times the readings of anyone else, so that their numbers stand far apart from any
// difference of answers that does not isolate them.
struct PlantedWarehouse {
  db::Database db = db::Database::open(":memory:").value();
  db::Connection conn = db::Connection::connect(db).value();
  SemanticLayer layer = builtin_layer();
  PlantedWarehouse() {
    auto st = testing::create_synthetic_star_schema(conn, {.users = 1400, .days = 4, .readings_per_day = 6});
    EXPECT_TRUE(st.ok()) << st.error().message;
    st = conn.execute(
        "UPDATE serving.dim_users SET race = 'W' WHERE blood_type = 'AB-' AND race = 'O' AND user_id NOT IN "
        "(SELECT user_id FROM serving.dim_users WHERE blood_type = 'AB-' AND race = 'O' ORDER BY user_id LIMIT 3)");
    EXPECT_TRUE(st.ok()) << st.error().message;
    EXPECT_EQ(conn.scalar("SELECT count(*) FROM serving.dim_users WHERE blood_type = 'AB-' AND race = 'O'")->value_or(""), "3");
    st = conn.execute(R"sql(
        INSERT INTO serving.fct_heart_rates (user_key, activity_key, event_date, event_time, event_datetime, heart_rate)
        SELECT f.user_key, f.activity_key, CAST(t AS DATE), CAST(t AS TIME), t, f.heart_rate
        FROM (SELECT f.*, f.event_datetime + to_seconds(c.range) AS t
              FROM serving.fct_heart_rates f JOIN serving.dim_users u USING (user_key) CROSS JOIN range(1, 200) c
              WHERE u.blood_type = 'AB-' AND u.race = 'O') f)sql");
    EXPECT_TRUE(st.ok()) << st.error().message;
  }
  Answer ask(const Request& r, int64_t min_cell_users = k) {
    auto a = answer(conn, layer, r, {}, min_cell_users);
    EXPECT_TRUE(a.ok()) << a.error().message;
    return a.ok() ? std::move(a).value() : Answer{};
  }
};

size_t column(const Table& t, const std::string& name) {
  return static_cast<size_t>(std::find(t.columns.begin(), t.columns.end(), name) - t.columns.begin());
}

// Rows keyed by their first `dims` values joined with '|'.
std::map<std::string, std::vector<std::optional<std::string>>> by_key(const Table& t, size_t dims) {
  std::map<std::string, std::vector<std::optional<std::string>>> out;
  for (const auto& row : t.rows) {
    std::string key;
    for (size_t i = 0; i < dims; ++i) key += (i ? "|" : "") + row[i].value_or("NULL");
    out[key] = row;
  }
  return out;
}

TEST(Suppression, ACellOfThreePeopleIsHiddenWithItsComplementsAndCleanCellsStayExact) {
  PlantedWarehouse w;
  const Request blood_race{{"avg_heart_rate", "readings"}, {"blood_type", "race"}, {}, {}, {}};
  const Answer plain = w.ask(blood_race, 1);
  const Answer safe = w.ask(blood_race);
  EXPECT_EQ(plain.table.columns, (std::vector<std::string>{"blood_type", "race", "avg_heart_rate", "readings"}));
  EXPECT_EQ(safe.table.columns, (std::vector<std::string>{"blood_type", "race", "avg_heart_rate", "readings", "suppressed"}));
  ASSERT_EQ(plain.table.rows.size(), 40u);
  ASSERT_EQ(safe.table.rows.size(), 40u);  // hidden cells stay, with their dimension values
  auto raw = by_key(plain.table, 2);
  auto cells = by_key(safe.table, 2);
  const size_t why = column(safe.table, "suppressed");
  // The three people's cell: measures withheld, the reason given.
  EXPECT_EQ(cells["AB-|O"][why], reason_small(k));
  EXPECT_EQ(cells["AB-|O"][2], std::nullopt);
  EXPECT_EQ(cells["AB-|O"][3], std::nullopt);
  // Complementary suppression: AB-'s row and O's column each get another hidden cell (so neither the
  // total of AB- nor that of O minus the visible cells gives the three people away), and the fourth
  // corner closes the rectangle; nothing else is hidden.
  std::map<std::string, int> hidden_per_blood, hidden_per_race;
  int hidden = 0;
  for (const auto& [key, row] : cells) {
    if (!row[why]) {
      EXPECT_EQ(row[2], raw[key][2]) << key << ": a clean cell keeps its exact value";
      EXPECT_EQ(row[3], raw[key][3]) << key;
      continue;
    }
    ++hidden;
    ++hidden_per_blood[*row[0]];
    ++hidden_per_race[*row[1]];
    if (key != "AB-|O") {
      EXPECT_EQ(row[why], reason_complement()) << key;
    }
    EXPECT_EQ(row[2], std::nullopt) << key;
  }
  EXPECT_EQ(hidden, 4);
  EXPECT_EQ(safe.hidden, 4);
  for (const auto& [line, n] : hidden_per_blood) EXPECT_EQ(n, 2) << "blood type " << line;
  for (const auto& [line, n] : hidden_per_race) EXPECT_EQ(n, 2) << "race " << line;
  EXPECT_EQ(hidden_per_blood.count("AB-"), 1u);
  EXPECT_EQ(hidden_per_race.count("O"), 1u);

  // The totals stay visible: every blood type and race has far more than 11 people, AB- included.
  for (const Request& r : {Request{{"readings"}, {"blood_type"}, {}, {}, {}}, Request{{"readings"}, {"race"}, {}, {}, {}},
                           Request{{"readings", "users"}, {}, {}, {}, {}}}) {
    const Answer a = w.ask(r);
    EXPECT_EQ(a.hidden, 0) << (r.dimensions.empty() ? "total" : r.dimensions[0]);
    EXPECT_EQ(a.table.rows, [&] {
      auto rows = w.ask(r, 1).table.rows;
      for (auto& row : rows) row.push_back(std::nullopt);
      return rows;
    }()) << "clean answers are the exact ones";
  }
}

TEST(Suppression, AFilterThatExcludesAFewPeopleHidesTheCellsItWouldReveal) {
  PlantedWarehouse w;
  // All of race O against race O without blood type AB-: three people apart.
  const Request all{{"readings"}, {"race"}, {}, {}, {}};
  const Request without_ab{{"readings"}, {"race"}, {{"blood_type", FilterOp::kNe, {"AB-"}}}, {}, {}};
  auto plain_all = by_key(w.ask(all, 1).table, 1), plain_without = by_key(w.ask(without_ab, 1).table, 1);
  ASSERT_NE(plain_all["O"][1], plain_without["O"][1]) << "without suppression the difference is the three people's readings";
  const Answer a = w.ask(without_ab);
  auto cells = by_key(a.table, 1);
  const size_t why = column(a.table, "suppressed");
  EXPECT_EQ(cells["O"][why], reason_difference(k));
  EXPECT_EQ(cells["O"][1], std::nullopt);
  // Every other race loses its whole AB- cell (about 35 people, or 70 for W): no small group, visible.
  // One of them is hidden with O all the same, so that the total minus the visible races does not give
  // O's answer back.
  int visible = 0;
  for (const auto& [race, row] : cells) {
    if (race == "O") continue;
    if (!row[why]) {
      ++visible;
      EXPECT_EQ(row[1], plain_without[race][1]) << race;
    } else {
      EXPECT_EQ(row[why], reason_complement()) << race;
    }
  }
  EXPECT_EQ(visible, 3);
  // A filter selecting values that all hold many people of every cell is answered exactly.
  const Request females{{"readings"}, {"blood_type"}, {{"sex", FilterOp::kEq, {"F"}}}, {}, {}};
  EXPECT_EQ(w.ask(females).hidden, 0);
  // Two filters that together remove a few people: sex = F and age group != 70+ from blood type AB-'s
  // readings, with a cell of exactly those few planted.
  ASSERT_TRUE(w.conn.execute("UPDATE serving.dim_users SET sex = 'F', date_of_birth = DATE '1980-05-05' "
                             "WHERE blood_type = 'AB-' AND race = 'A'").ok());
  ASSERT_TRUE(w.conn.execute("UPDATE serving.dim_users SET sex = 'M', date_of_birth = DATE '1940-01-01' WHERE blood_type = 'AB-' "
                             "AND race = 'A' AND user_id IN (SELECT user_id FROM serving.dim_users WHERE blood_type = 'AB-' "
                             "AND race = 'A' ORDER BY user_id LIMIT 2)").ok());
  const Request both{{"readings"}, {"race"}, {{"blood_type", FilterOp::kEq, {"AB-"}}, {"sex", FilterOp::kEq, {"F"}},
                                               {"age_group", FilterOp::kNe, {"70+"}}}, {}, {}};
  auto answered = by_key(w.ask(both).table, 1);
  EXPECT_EQ(answered["A"][2], reason_difference(k)) << "the two old men of AB- x A would be the difference to blood type AB- alone";
}

TEST(Suppression, OrderAndLimitApplyAfterSuppressionWithHiddenCellsLast) {
  PlantedWarehouse w;
  Request r{{"readings"}, {"blood_type", "race"}, {}, {{"readings", false}}, 5};
  const Answer a = w.ask(r);
  ASSERT_EQ(a.table.rows.size(), 5u);
  for (const auto& row : a.table.rows) EXPECT_TRUE(row[2].has_value()) << "hidden cells sort last, whatever their size";
  for (size_t i = 1; i < a.table.rows.size(); ++i) EXPECT_LE(std::stoll(*a.table.rows[i - 1][2]), std::stoll(*a.table.rows[i][2]));
  r.limit = 40;
  const Answer all = w.ask(r);
  for (size_t i = 36; i < 40; ++i) EXPECT_TRUE(all.table.rows[i][3].has_value()) << i;
  // Off (1): the plain answer, no `suppressed` column.
  EXPECT_EQ(w.ask(r, 1).table.columns, (std::vector<std::string>{"blood_type", "race", "readings"}));
}

// The attacker: every visible number of a family of requests (the dashboard's filters, one value at a
// time with = and !=, every date bound, blood type and race with sex or age group), by nothing, race
// and blood type; differences between the answers of the same
// cell, and each line's total minus its visible cells. None may equal what the three people did under
// any of those filters.
struct Family {
  std::vector<std::vector<std::string>> groupings = {{}, {"race"}, {"blood_type"}};
  std::vector<std::vector<Filter>> filters;
  explicit Family(PlantedWarehouse& w) {
    filters.push_back({});
    std::vector<Filter> single;
    for (const char* d : {"blood_type", "race", "sex", "age_group", "region", "activity"}) {
      auto values = w.ask(Request{{"readings"}, {d}, {}, {}, {}}, 1).table.rows;
      for (const auto& v : values) {
        if (!v[0]) continue;
        single.push_back({d, FilterOp::kEq, {*v[0]}});
        single.push_back({d, FilterOp::kNe, {*v[0]}});
      }
    }
    for (const char* day : {"2024-01-02", "2024-01-03", "2024-01-04"}) {
      single.push_back({"date", FilterOp::kGe, {day}});
      single.push_back({"date", FilterOp::kLt, {day}});
    }
    for (const auto& f : single) filters.push_back({f});
    // Pairs: each blood type and race filter with a sex or age-group filter.
    const std::vector<Filter> second = {{"sex", FilterOp::kEq, {"F"}}, {"age_group", FilterOp::kNe, {"70+"}}};
    for (const auto& f : single) {
      if (f.dimension != "blood_type" && f.dimension != "race") continue;
      for (const auto& g : second) filters.push_back({f, g});
    }
  }
};

using Numbers = std::tuple<int64_t, int64_t, int64_t>;  // readings, resting readings, activity minutes
const std::vector<std::string> kNumbers = {"readings", "resting_readings", "activity_minutes"};
Numbers numbers(const std::vector<std::optional<std::string>>& row, size_t at) {
  return {std::stoll(*row[at]), std::stoll(*row[at + 1]), std::stoll(*row[at + 2])};
}
Numbers minus(const Numbers& a, const Numbers& b) {
  return {std::get<0>(a) - std::get<0>(b), std::get<1>(a) - std::get<1>(b), std::get<2>(a) - std::get<2>(b)};
}

// What the attacker can compute from the answers; true when one of them equals a target. `direct`: a
// visible cell equal to a target counts too.
bool reveals(PlantedWarehouse& w, const Family& family, int64_t min_cell_users, const std::set<Numbers>& targets, bool direct,
             std::string& how) {
  std::vector<Table> totals;
  for (const auto& f : family.filters) totals.push_back(w.ask(Request{kNumbers, {}, f, {}, {}}, min_cell_users).table);
  for (const auto& g : family.groupings) {
    std::map<std::string, std::vector<std::pair<Numbers, size_t>>> seen;  // cell -> numbers, filter index
    for (size_t fi = 0; fi < family.filters.size(); ++fi) {
      const Request r{kNumbers, g, family.filters[fi], {}, {}};
      const Answer a = w.ask(r, min_cell_users);
      const Table& total = totals[fi];
      Numbers visible_sum{0, 0, 0};
      for (const auto& row : a.table.rows) {
        const size_t d = g.size();
        if (!row[d]) continue;  // hidden
        const Numbers n = numbers(row, d);
        std::string key;
        for (size_t i = 0; i < d; ++i) key += row[i].value_or("NULL") + "|";
        if (direct && targets.count(n)) {
          how = "visible cell " + key;
          return true;
        }
        seen[key].push_back({n, fi});
        visible_sum = minus(visible_sum, minus({0, 0, 0}, n));
      }
      // The total of the one-dimensional answers minus their visible cells: what the hidden ones hold.
      if (g.size() == 1 && !total.rows.empty() && total.rows[0][0]) {
        if (targets.count(minus(numbers(total.rows[0], 0), visible_sum))) {
          how = "total minus visible cells, by " + g[0] + " filter " + std::to_string(fi);
          return true;
        }
      }
    }
    for (const auto& [key, answers] : seen) {
      for (const auto& [x, fx] : answers) {
        for (const auto& [y, fy] : answers) {
          if (targets.count(minus(x, y))) {
            how = fmt::format("cell {} by {} filters {} and {}", key, g.empty() ? "nothing" : g[0], fx, fy);
            return true;
          }
        }
      }
    }
  }
  return false;
}

TEST(Suppression, NoPairOfFilteredRequestsRevealsTheThreePeople) {
  PlantedWarehouse w;
  const Family family(w);
  // What the three people did, overall and under each filter of the family (non-zero only).
  std::set<Numbers> targets;
  for (const auto& f : family.filters) {
    auto fs = f;
    fs.push_back({"blood_type", FilterOp::kEq, {"AB-"}});
    fs.push_back({"race", FilterOp::kEq, {"O"}});
    auto t = w.ask(Request{kNumbers, {}, fs, {}, {}}, 1).table;
    if (!t.rows.empty() && t.rows[0][0] && *t.rows[0][0] != "0") targets.insert(numbers(t.rows[0], 0));
  }
  ASSERT_FALSE(targets.empty());
  std::string how;
  // Without suppression a pair of the family's answers differs by exactly their numbers (else this check
  // would prove nothing).
  EXPECT_TRUE(reveals(w, family, 1, targets, false, how));
  std::printf("without suppression: revealed by %s (%zu requests per grouping)\n", how.c_str(), family.filters.size());
  how.clear();
  EXPECT_FALSE(reveals(w, family, k, targets, true, how)) << how;
}

TEST(Suppression, LinesOfAHandMadeTableAreCompleted) {
  // One dimension: the 3-person cell and the next smallest are hidden; the largest stays.
  Table one{{"d", "n"}, {false, true}, {{"a", "1"}, {"b", "1"}, {"c", "1"}}};
  std::vector<std::string> hidden;
  apply_cell_rules(one, 1, {3, 20, 30}, 11, hidden);
  EXPECT_EQ(hidden, (std::vector<std::string>{reason_small(11), reason_complement(), ""}));
  // Two small cells whose people add up to fewer than 11: a third is hidden.
  hidden.clear();
  apply_cell_rules(Table{{"d", "n"}, {false, true}, {{"a", "1"}, {"b", "1"}, {"c", "1"}, {"e", "1"}}}, 1, {3, 4, 50, 40}, 11, hidden);
  EXPECT_EQ(hidden, (std::vector<std::string>{reason_small(11), reason_small(11), "", reason_complement()}));
  // A cell hidden for a differencing reason (many people) still needs a second hidden cell in its line.
  hidden = {"", reason_difference(11), ""};
  apply_cell_rules(one, 1, {30, 40, 20}, 11, hidden);
  EXPECT_EQ(hidden, (std::vector<std::string>{"", reason_difference(11), reason_complement()}));
  // No dimension: nothing to complete.
  hidden.clear();
  apply_cell_rules(Table{{"n"}, {true}, {{"5"}}}, 0, {5}, 11, hidden);
  EXPECT_EQ(hidden, (std::vector<std::string>{reason_small(11)}));
}

TEST(Suppression, TheDashboardApiMarksHiddenCellsAndExportsThemAsCsv) {
  PlantedWarehouse w;
  auto d = Dashboard::create(w.db, w.layer);
  ASSERT_TRUE(d.ok());
  auto r = d->handle("POST", "/api/dashboard/query", R"({"metrics":["avg_heart_rate","readings"],"by":["blood_type","race"]})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["columns"].back(), "suppressed");
  EXPECT_EQ(j["suppression"]["min_cell_users"], 11);
  EXPECT_EQ(j["suppression"]["hidden"], 4);
  bool found = false;
  for (const auto& row : j["rows"]) {
    if (row[0] == "AB-" && row[1] == "O") {
      found = true;
      EXPECT_TRUE(row[2].is_null() && row[3].is_null()) << row.dump();
      EXPECT_EQ(row[4], "fewer than 11 people");
    }
  }
  EXPECT_TRUE(found);
  auto csv = d->handle("POST", "/api/dashboard/query", R"({"metrics":["readings"],"by":["blood_type","race"]})", "csv");
  EXPECT_EQ(csv.body.substr(0, csv.body.find('\n')), "blood_type,race,readings,suppressed");
  EXPECT_NE(csv.body.find("\nAB-,O,,fewer than 11 people\n"), std::string::npos) << csv.body;
}

}  // namespace
}  // namespace hrflow::query
