#include "query/dashboard.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <map>

#include "query/table.h"

namespace hrflow::query {

namespace {

using nlohmann::json;

std::string error_json(const std::string& message) { return json{{"error", message}}.dump(); }

Result<std::vector<std::string>> string_array(const json& j, const char* key) {
  std::vector<std::string> out;
  if (!j.contains(key) || j[key].is_null()) return out;
  if (!j[key].is_array()) return invalid_argument("'{}' must be an array of strings", key);
  for (const auto& v : j[key]) {
    if (!v.is_string()) return invalid_argument("'{}' must be an array of strings", key);
    out.push_back(v.get<std::string>());
  }
  return out;
}

Result<std::vector<Filter>> parse_filters(const json& j) {
  std::vector<Filter> out;
  if (!j.contains("filters") || j["filters"].is_null()) return out;
  if (!j["filters"].is_array()) return invalid_argument("'filters' must be an array");
  for (const auto& f : j["filters"]) {
    if (!f.is_object() || !f.contains("dimension") || !f["dimension"].is_string()) {
      return invalid_argument("each filter needs {{\"dimension\": name, \"op\": \"=\", \"values\": [..]}}");
    }
    Filter filter;
    filter.dimension = f["dimension"].get<std::string>();
    std::string op = f.contains("op") && f["op"].is_string() ? f["op"].get<std::string>() : "=";
    HRFLOW_ASSIGN_OR_RETURN(filter.op, parse_filter_op(op));
    if (!f.contains("values") || !f["values"].is_array()) return invalid_argument("filter on '{}' needs \"values\": [..]", filter.dimension);
    for (const auto& v : f["values"]) {
      if (v.is_string()) {
        filter.values.push_back(v.get<std::string>());
      } else if (v.is_number_integer()) {
        filter.values.push_back(std::to_string(v.get<int64_t>()));
      } else {
        return invalid_argument("filter values of '{}' must be strings or integers", filter.dimension);
      }
    }
    if (filter.values.empty()) continue;  // "any value": no condition
    out.push_back(std::move(filter));
  }
  return out;
}

Result<json> parse_body(std::string_view body) {
  json j = json::parse(body.empty() ? std::string_view("{}") : body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return invalid_argument("request body must be a JSON object");
  return j;
}

Result<Table> run(db::Connection& conn, const std::string& sql, const std::vector<Param>& params) {
  return execute(conn, CompiledQuery{sql, params, {}});
}

json table_json(const Table& t) { return json::parse(to_json(t)); }

}  // namespace

Result<Request> parse_request_json(std::string_view body) {
  HRFLOW_ASSIGN_OR_RETURN(json j, parse_body(body));
  Request r;
  HRFLOW_ASSIGN_OR_RETURN(r.metrics, string_array(j, "metrics"));
  HRFLOW_ASSIGN_OR_RETURN(r.dimensions, string_array(j, "by"));
  HRFLOW_ASSIGN_OR_RETURN(r.filters, parse_filters(j));
  if (j.contains("order") && !j["order"].is_null()) {
    if (!j["order"].is_array()) return invalid_argument("'order' must be an array of {{\"field\", \"desc\"}}");
    for (const auto& o : j["order"]) {
      if (!o.is_object() || !o.contains("field") || !o["field"].is_string()) return invalid_argument("each order item needs \"field\"");
      r.order.push_back({o["field"].get<std::string>(), o.value("desc", false)});
    }
  }
  if (j.contains("limit") && !j["limit"].is_null()) {
    if (!j["limit"].is_number_integer()) return invalid_argument("'limit' must be an integer");
    r.limit = j["limit"].get<int64_t>();
  }
  return r;
}

constexpr size_t kPredictorColumns = 7;  // subregion .. rank of PredictorQueries::sql

Result<PredictorQueries> predictor_queries(const SemanticLayer& layer, const std::vector<Filter>& filters,
                                           const std::set<std::string>& rollups) {
  // Activity time per region, local weekday, hour, date and activity, through the layer (so from a
  // rollup when one is fresh); held-out local dates are the test set.
  Request time_spent{{"activity_minutes"}, {"subregion", "local_weekday", "local_hour", "local_date", "activity"}, filters, {}, {}};
  HRFLOW_ASSIGN_OR_RETURN(CompiledQuery spent, layer.compile(time_spent, rollups));
  const std::string base = fmt::format(
      "WITH spent AS (\n{}\n),\n"
      "split AS (SELECT coalesce(subregion, 'Unknown') AS subregion, local_weekday, local_hour, activity,\n"
      "                 activity_minutes // 10 AS slots, hash(local_date) % 5 = 0 AS held_out FROM spent),\n"
      "train AS (SELECT subregion, local_weekday, local_hour, activity, sum(slots) AS slots FROM split\n"
      "          WHERE NOT held_out GROUP BY ALL)\n",
      spent.sql);
  PredictorQueries q;
  q.params = spent.params;
  q.source = spent.source;
  // Evaluation: scored per held-out 10-minute slot of a user, the share of held-out time in which the
  // predicted activity (top 1, top 3) was the one being done, against always predicting the most
  // common one. One statement, so the activity time is read once; every row carries the evaluation.
  q.sql = base +
      ", ranked AS (SELECT *, row_number() OVER (PARTITION BY subregion, local_weekday, local_hour\n"
      "                                             ORDER BY slots DESC, activity) AS rank,\n"
      "                       round(slots / sum(slots) OVER (PARTITION BY subregion, local_weekday, local_hour), 4) AS probability\n"
      "                FROM train),\n"
      "overall AS (SELECT activity AS baseline FROM train GROUP BY activity ORDER BY sum(slots) DESC, activity LIMIT 1),\n"
      "test AS (SELECT subregion, local_weekday, local_hour, activity, sum(slots) AS slots FROM split WHERE held_out GROUP BY ALL),\n"
      "evaluation AS (\n"
      "  SELECT sum(t.slots) * 10 AS held_out_minutes,\n"
      "         round(coalesce(sum(t.slots) FILTER (WHERE r.rank = 1), 0) / sum(t.slots), 4) AS accuracy,\n"
      "         round(coalesce(sum(t.slots) FILTER (WHERE r.rank <= 3), 0) / sum(t.slots), 4) AS top3_accuracy,\n"
      "         any_value(o.baseline) AS baseline_activity,\n"
      "         round(coalesce(sum(t.slots) FILTER (WHERE t.activity = o.baseline), 0) / sum(t.slots), 4) AS baseline_accuracy\n"
      "  FROM test t\n"
      "  LEFT JOIN ranked r ON r.subregion = t.subregion AND r.local_weekday = t.local_weekday\n"
      "                    AND r.local_hour = t.local_hour AND r.activity = t.activity\n"
      "  CROSS JOIN overall o)\n"
      "SELECT r.subregion, r.local_weekday, r.local_hour, r.activity, r.slots * 10 AS minutes, r.probability, r.rank, e.*\n"
      "FROM ranked r CROSS JOIN evaluation e\n"
      "ORDER BY r.subregion, r.local_weekday, r.local_hour, r.rank";
  return q;
}

Result<Dashboard> Dashboard::create(const db::Database& warehouse, SemanticLayer layer, int64_t min_cell_users) {
  return Dashboard(warehouse, std::move(layer), min_cell_users);
}

Result<std::string> Dashboard::meta() const {
  HRFLOW_ASSIGN_OR_RETURN(auto conn, db::Connection::connect(*db_));
  json j;
  auto measures = json::array();
  for (const auto& m : layer_.measures()) measures.push_back({{"name", m.name}, {"description", m.description}});
  auto dims = json::array();
  for (const auto& d : layer_.dimensions()) {
    dims.push_back({{"name", d.name}, {"description", d.description}, {"type", value_type_name(d.type)}, {"values", d.values}});
  }
  j["measures"] = measures;
  j["dimensions"] = dims;
  // Filter choices come from the small dimension tables, not from scanning the readings.
  HRFLOW_ASSIGN_OR_RETURN(Table acts, run_read_only_sql(conn, "SELECT DISTINCT activity_name FROM serving.dim_activities ORDER BY 1"));
  HRFLOW_ASSIGN_OR_RETURN(Table countries, run_read_only_sql(conn,
      "SELECT DISTINCT u.address_country_code AS code, any_value(u.address_country_name) AS name,\n"
      "       any_value(c.region) AS region, any_value(c.subregion) AS subregion\n"
      "FROM serving.dim_users u LEFT JOIN staging.country_regions c ON c.alpha2 = u.address_country_code\n"
      "WHERE u.address_country_code IS NOT NULL GROUP BY 1 ORDER BY 2"));
  HRFLOW_ASSIGN_OR_RETURN(Table range, run_read_only_sql(conn,
      "SELECT CAST(min(event_date) AS VARCHAR), CAST(max(event_date) AS VARCHAR) FROM serving.fct_heart_rates"));
  auto options = json::object();
  auto list = json::array();
  for (const auto& r : acts.rows) if (r[0]) list.push_back(*r[0]);
  options["activity"] = list;
  options["countries"] = table_json(countries);
  options["date_min"] = range.rows.empty() || !range.rows[0][0] ? json() : json(*range.rows[0][0]);
  options["date_max"] = range.rows.empty() || !range.rows[0][1] ? json() : json(*range.rows[0][1]);
  j["options"] = options;
  return j.dump();
}

Result<std::string> Dashboard::run_query(std::string_view body, bool csv) const {
  HRFLOW_ASSIGN_OR_RETURN(Request req, parse_request_json(body));
  HRFLOW_TRY(layer_.compile(req));  // a bad request is an error before the warehouse is touched
  HRFLOW_ASSIGN_OR_RETURN(auto conn, db::Connection::connect(*db_));
  const auto start = std::chrono::steady_clock::now();
  HRFLOW_ASSIGN_OR_RETURN(auto fresh, layer_.fresh_rollups(conn));
  HRFLOW_ASSIGN_OR_RETURN(Answer a, answer(conn, layer_, req, fresh, min_cell_users_));
  if (csv) return to_csv(a.table);
  json j = table_json(a.table);
  j["source"] = a.source;
  if (min_cell_users_ > 1) j["suppression"] = {{"min_cell_users", min_cell_users_}, {"hidden", a.hidden}};
  j["elapsed_ms"] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return j.dump();
}

Result<std::string> Dashboard::predictor(std::string_view body) const {
  HRFLOW_ASSIGN_OR_RETURN(json j, parse_body(body));
  HRFLOW_ASSIGN_OR_RETURN(auto filters, parse_filters(j));
  HRFLOW_TRY(predictor_queries(layer_, filters));
  HRFLOW_ASSIGN_OR_RETURN(auto conn, db::Connection::connect(*db_));
  const auto start = std::chrono::steady_clock::now();
  HRFLOW_ASSIGN_OR_RETURN(auto fresh, layer_.fresh_rollups(conn));
  HRFLOW_ASSIGN_OR_RETURN(PredictorQueries q, predictor_queries(layer_, filters, fresh));
  HRFLOW_ASSIGN_OR_RETURN(Table t, run(conn, q.sql, q.params));
  // The first kPredictorColumns columns are the probabilities; the rest, the same on every row, the evaluation.
  Table probs{{t.columns.begin(), t.columns.begin() + kPredictorColumns}, {t.numeric.begin(), t.numeric.begin() + kPredictorColumns}, {}};
  json e = json::object();
  for (const auto& row : t.rows) probs.rows.emplace_back(row.begin(), row.begin() + kPredictorColumns);
  // Small-cell suppression: a (subregion, weekday, hour, activity) cell of too few people, and the cells
  // hidden with it so that the probabilities of a slot (they add up to one) do not give it away, keep
  // their activity but not their minutes, probability or rank.
  if (min_cell_users_ > 1) {
    Request cells{{"people"}, {"subregion", "local_weekday", "local_hour", "activity"}, filters, {}, {}};
    HRFLOW_ASSIGN_OR_RETURN(Answer a, answer(conn, layer_, cells, fresh, min_cell_users_));
    std::map<std::string, std::string> hidden;
    for (const auto& row : a.table.rows) {
      if (!row.back()) continue;
      hidden[row[0].value_or("Unknown") + "\x1f" + row[1].value_or("") + "\x1f" + row[2].value_or("") + "\x1f" + row[3].value_or("")] = *row.back();
    }
    probs.columns.push_back(kSuppressedColumn);
    probs.numeric.push_back(false);
    for (auto& row : probs.rows) {
      auto it = hidden.find(row[0].value_or("") + "\x1f" + row[1].value_or("") + "\x1f" + row[2].value_or("") + "\x1f" + row[3].value_or(""));
      if (it != hidden.end()) {
        for (size_t c = 4; c < kPredictorColumns; ++c) row[c].reset();
      }
      row.push_back(it == hidden.end() ? std::nullopt : std::optional<std::string>(it->second));
    }
  }
  if (!t.rows.empty()) {
    json first = table_json(Table{t.columns, t.numeric, {t.rows[0]}})["rows"][0];
    for (size_t c = kPredictorColumns; c < t.columns.size(); ++c) e[t.columns[c]] = first[c];
  }
  json out;
  out["probabilities"] = table_json(probs);
  out["evaluation"] = e;
  out["elapsed_ms"] = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return out.dump();
}

HttpReply Dashboard::handle(std::string_view method, std::string_view path, std::string_view body,
                            std::string_view query_format) const {
  auto reply = [](const Result<std::string>& r, std::string_view type = "application/json") {
    if (r.ok()) return HttpReply{200, std::string(type), *r};
    int status = r.error().kind == ErrorKind::kInvalidArgument ? 400 : 500;
    return HttpReply{status, "application/json", error_json(r.error().message)};
  };
  if (path == "/dashboard" || path == "/dashboard/") path = "/dashboard/index.html";
  if (method == "GET" && path.starts_with("/dashboard/")) {
    if (const EmbeddedFile* a = find_asset(path.substr(11))) return {200, std::string(content_type_of(a->path)), std::string(a->bytes)};
    return {404, "text/plain", "not found"};
  }
  if (method == "GET" && path == "/api/dashboard/meta") return reply(meta());
  if (method == "POST" && path == "/api/dashboard/query") {
    bool csv = query_format == "csv";
    return reply(run_query(body, csv), csv ? "text/csv; charset=utf-8" : "application/json");
  }
  if (method == "POST" && path == "/api/dashboard/predictor") return reply(predictor(body));
  return {404, "application/json", error_json("no such endpoint")};
}

void Dashboard::mount(httplib::Server& server) const {
  auto serve = [this](const httplib::Request& req, httplib::Response& res) {
    HttpReply r = handle(req.method, req.path, req.body, req.has_param("format") ? req.get_param_value("format") : "");
    res.status = r.status;
    res.set_content(r.body, r.content_type.c_str());
  };
  server.Get("/dashboard", [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/dashboard/"); });
  server.Get(R"(/dashboard/.*)", serve);
  server.Get("/api/dashboard/meta", serve);
  server.Post("/api/dashboard/query", serve);
  server.Post("/api/dashboard/predictor", serve);
}

}  // namespace hrflow::query
