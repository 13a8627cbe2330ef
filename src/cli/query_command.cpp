// `hrflow query`: the semantic layer and read-only SQL from the command line.
#include "cli/commands.h"
#include "cli/serve_client.h"

#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "common/state.h"
#include "query/semantic_layer.h"
#include "query/suppression.h"
#include "query/table.h"
#include "sql/client.h"

namespace hrflow::query {

namespace {

std::vector<std::string> split_commas(const std::vector<std::string>& items) {
  std::vector<std::string> out;
  for (const auto& item : items) {
    size_t start = 0;
    while (start <= item.size()) {
      size_t comma = item.find(',', start);
      std::string part = item.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!part.empty()) out.push_back(part);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return out;
}

// Errors from DuckDB about missing warehouse tables get the fix appended.
Error with_hint(Error e) {
  if (e.message.find("does not exist") != std::string::npos && e.message.find("Table") != std::string::npos) {
    e.message += "\n(the warehouse has no such table yet: run `hrflow build` to build the serving models and seeds)";
  }
  return e;
}

// The request as the dashboard API takes it (POST /api/dashboard/query).
nlohmann::json request_json(const Request& r) {
  nlohmann::json j{{"metrics", r.metrics}, {"by", r.dimensions}, {"filters", nlohmann::json::array()}, {"order", nlohmann::json::array()}};
  for (const auto& f : r.filters) j["filters"].push_back({{"dimension", f.dimension}, {"op", filter_op_text(f.op)}, {"values", f.values}});
  for (const auto& o : r.order) j["order"].push_back({{"field", o.field}, {"desc", o.descending}});
  if (r.limit) j["limit"] = *r.limit;
  return j;
}

// The API's {"columns": [...], "rows": [[...]]} back into a Table (JSON numbers are numeric columns).
Table table_from_json(const nlohmann::json& j) {
  Table t;
  for (const auto& c : j.value("columns", nlohmann::json::array())) t.columns.push_back(c.get<std::string>());
  t.numeric.assign(t.columns.size(), false);
  for (const auto& row : j.value("rows", nlohmann::json::array())) {
    std::vector<std::optional<std::string>> out;
    for (size_t c = 0; c < row.size() && c < t.columns.size(); ++c) {
      const auto& v = row[c];
      if (v.is_null()) out.emplace_back();
      else if (v.is_string()) out.emplace_back(v.get<std::string>());
      else {
        if (v.is_number()) t.numeric[c] = true;
        out.emplace_back(v.dump());
      }
    }
    t.rows.push_back(std::move(out));
  }
  return t;
}

struct Options {
  std::vector<std::string> metrics, by, where;
  std::vector<std::string> order;
  int64_t limit = 0;
  std::string format = "table";
  std::string sql;
  bool show_sql = false;
};

int run(const CliContext& ctx, const Options& o) {
  std::string text;
  if (!o.sql.empty()) {
    if (!o.metrics.empty() || !o.by.empty() || !o.where.empty()) {
      std::fprintf(stderr, "hrflow query: --sql cannot be combined with --metric/--by/--where\n");
      return kExitUsage;
    }
  } else if (o.metrics.empty()) {
    std::fprintf(stderr, "hrflow query: name a metric (--metric avg_heart_rate) or give --sql; see `hrflow query --help`\n");
    return kExitUsage;
  }
  CompiledQuery compiled;
  Request req;
  std::optional<SemanticLayer> layer_used;
  if (o.sql.empty()) {
    const std::string project = ctx.config.get_string("transform.project_dir");
    auto layer = SemanticLayer::for_project(project.empty() ? std::filesystem::path() : ctx.config.get_path("transform.project_dir"));
    if (!layer.ok()) return report_error(layer.error());
    req.metrics = split_commas(o.metrics);
    req.dimensions = split_commas(o.by);
    for (const auto& w : o.where) {
      auto f = parse_filter(w);
      if (!f.ok()) return report_error(f.error());
      req.filters.push_back(*f);
    }
    for (const auto& ord : split_commas(o.order)) {
      auto parsed = parse_order(ord);
      if (!parsed.ok()) return report_error(parsed.error());
      req.order.push_back(*parsed);
    }
    if (o.limit != 0) req.limit = o.limit;
    auto c = layer->compile(req);  // checks the request before anything is opened
    if (!c.ok()) return report_error(c.error());
    compiled = std::move(c).value();
    layer_used = std::move(layer).value();
  }
  auto show_sql = [&] {
    if (!o.show_sql || !o.sql.empty()) return;
    std::fprintf(stderr, "%s\n", compiled.sql.c_str());
    for (size_t i = 0; i < compiled.params.size(); ++i) {
      std::fprintf(stderr, "-- ?%zu = %s\n", i + 1, compiled.params[i].text.c_str());
    }
  };
  Result<Table> table = Table{};
  if (auto serve = serve::find_running_serve(ctx.config)) {
    // serve owns the warehouse file (one process at a time): ask it, SQL through its PostgreSQL-protocol
    // endpoint, metrics through the dashboard's API.
    if (!o.sql.empty()) {
      if (serve->sql_port == 0) {
        std::fprintf(stderr, "hrflow query: hrflow serve (pid %d) owns the warehouse and runs without its SQL endpoint "
                             "(serve.sql.port = 0), so --sql cannot reach it; use the metrics or stop serve first\n",
                     serve->pid);
        return kExitFailure;
      }
      std::string host = ctx.config.get_string("serve.sql.host");
      if (host == "0.0.0.0" || host == "::") host = "127.0.0.1";
      auto rows = sql::query_endpoint(ctx.config, host, serve->sql_port, o.sql);
      if (!rows.ok()) return report_error(with_hint(rows.error()));
      table = Table{rows->columns, rows->numeric, std::move(rows->rows)};
    } else {
      show_sql();  // serve may answer from a rollup instead (its reply does not say which)
      auto answer = serve::call_serve(*serve, "/api/dashboard/query", request_json(req), 300);
      if (!answer.ok()) return report_error(answer.error());
      table = table_from_json(*answer);
    }
  } else {
    auto database = open_warehouse_read_only(ctx.config);
    if (!database.ok()) return report_error(database.error());
    auto conn = db::Connection::connect(*database);
    if (!conn.ok()) return report_error(conn.error());
    if (layer_used) {
      // Answer from an up-to-date rollup when one has everything the request names.
      auto fresh = layer_used->fresh_rollups(*conn);
      if (!fresh.ok()) return report_error(fresh.error());
      auto c = layer_used->compile(req, *fresh);
      if (!c.ok()) return report_error(c.error());
      compiled = std::move(c).value();
      show_sql();
      // Small-cell suppression, as the dashboard's API applies it (query.min_cell_users).
      auto a = answer(*conn, *layer_used, req, *fresh, ctx.config.get_int("query.min_cell_users"));
      if (!a.ok()) return report_error(with_hint(a.error()));
      table = std::move(a->table);
    } else {
      table = run_read_only_sql(*conn, o.sql);
    }
    if (!table.ok()) return report_error(with_hint(table.error()));
  }
  if (o.format == "csv") {
    text = to_csv(*table);
  } else if (o.format == "json") {
    text = to_json(*table) + "\n";
  } else {
    text = to_text(*table);
  }
  std::fwrite(text.data(), 1, text.size(), stdout);
  return kExitOk;
}

}  // namespace

void add_query_command(CLI::App& app, CliContext& ctx) {
  auto* cmd = app.add_subcommand("query", "Query the warehouse through the semantic layer or with read-only SQL");
  auto o = std::make_shared<Options>();
  cmd->add_option("-m,--metric", o->metrics, "Metric(s) to compute, comma-separated (e.g. avg_heart_rate,readings)");
  cmd->add_option("-b,--by", o->by, "Dimension(s) to group by, comma-separated (e.g. activity,sex)");
  cmd->add_option("-w,--where", o->where,
                  "Filter DIMENSION=VALUE (also !=, <, <=, >, >=; VALUE1,VALUE2 for any of them); repeat to AND");
  cmd->add_option("--order", o->order, "Order by a requested metric or dimension: FIELD [asc|desc] (default: the dimensions)");
  cmd->add_option("--limit", o->limit, "At most this many rows")->check(CLI::Range(int64_t{1}, kMaxLimit));
  cmd->add_option("-f,--format", o->format, "Output: table, csv or json")->check(CLI::IsMember({"table", "csv", "json"}));
  cmd->add_option("--sql", o->sql, "Run read-only SQL (SELECT only) instead of the semantic layer");
  cmd->add_flag("--show-sql", o->show_sql, "Print the compiled SQL and its parameters on stderr");
  std::string footer =
      "\nExamples:\n"
      "  hrflow query --metric avg_heart_rate --by activity,sex --where region=Europe\n"
      "  hrflow query -m resting_heart_rate -b hemisphere,month --where date>=2024-01-01 --format csv\n"
      "  hrflow query -m readings -b local_hour,activity --where subregion=Nordic --order readings desc --limit 10\n"
      "  hrflow query --sql \"SELECT activity_name, count(*) FROM serving.fct_heart_rates JOIN serving.dim_activities "
      "USING (activity_key) GROUP BY 1\"\n\n"
      "Filter values are bound as parameters (never pasted into SQL). The warehouse is opened read-only;\n"
      "while `hrflow serve` owns it, serve answers: the metrics through its API, --sql through its\n"
      "PostgreSQL-protocol endpoint (serve.sql.port; psql and BI tools can connect there too).\n"
      "De-identified answers: cells of fewer than query.min_cell_users (default 11) distinct people are\n"
      "hidden (NULL measures, the reason in a last column `suppressed`), and so are cells that would reveal\n"
      "such a group through a total or by difference with another filter (src/query/README.md).\n"
      "--sql reads the warehouse file directly and is not suppressed: it is for the warehouse's operators.\n\n";
  auto layer = SemanticLayer::builtin();
  footer += layer.ok() ? layer->describe() : "(semantic layer unavailable: " + layer.error().message + ")\n";
  cmd->footer(footer);
  on_run(cmd, ctx, [&ctx, o] { return run(ctx, *o); });
}

}  // namespace hrflow::query
