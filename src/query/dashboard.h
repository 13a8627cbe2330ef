// The research dashboard's back end: the page and its assets (compiled into the binary: our
// sources from web/dashboard/src plus Vega, Vega-Lite, vega-embed and the world-atlas map from npm,
// pinned in web/dashboard/package-lock.json) and a small JSON API over the semantic layer:
//
//   GET  /dashboard/                the page; /dashboard/<asset> its scripts, styles and map
//   GET  /api/dashboard/meta        metrics, dimensions and the values the filters offer
//   POST /api/dashboard/query       {"metrics":[..],"by":[..],"filters":[{"dimension","op","values"}],
//                                    "order":[{"field","desc"}],"limit":N} -> {"columns","rows",
//                                   "suppression":{"min_cell_users","hidden"}}: cells of fewer than
//                                   min_cell_users people are hidden (suppression.h): NULL measures
//                                   and the reason in the last column, "suppressed"
//                                   (?format=csv -> the same rows as CSV)
//   POST /api/dashboard/predictor   {"filters":[..]} -> the activity predictor of question 3:
//                                   P(activity | subregion, local weekday, local hour) learned on
//                                   training days and its accuracy on held-out days vs a baseline
//
// `hrflow serve` owns the warehouse and mounts these routes on its web server (mount()); the
// dashboard only reads. Every request value reaches SQL as a bound parameter (semantic_layer.h).
//
// Lifecycle: create() with the warehouse Database, which must outlive the Dashboard (and the
// server it is mounted on). Thread-safety: handle() may run on many threads at once; each request
// uses its own Connection.
#pragma once

#include <string>
#include <string_view>

#include "common/embedded.h"
#include "common/duckdb.h"
#include "common/status.h"
#include "query/semantic_layer.h"
#include "query/suppression.h"

namespace httplib {
class Server;
}

namespace hrflow::query {

struct HttpReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

// The page's embedded files, by path relative to /dashboard/ ("index.html", "vendor/vega.min.js").
const EmbeddedFiles& dashboard_files();
inline const EmbeddedFile* find_asset(std::string_view path) { return dashboard_files().find(path); }

class Dashboard {
 public:
  // `min_cell_users`: the setting query.min_cell_users (1 = no suppression, for tests on tiny data).
  static Result<Dashboard> create(const db::Database& warehouse, SemanticLayer layer,
                                  int64_t min_cell_users = kDefaultMinCellUsers);

  // Answer one request; `query_format` is the ?format= parameter ("" or "csv").
  HttpReply handle(std::string_view method, std::string_view path, std::string_view body,
                   std::string_view query_format = "") const;
  // Register the routes above on `server`; `this` must outlive it.
  void mount(httplib::Server& server) const;

  const SemanticLayer& layer() const { return layer_; }

 private:
  Dashboard(const db::Database& db, SemanticLayer layer, int64_t k) : db_(&db), layer_(std::move(layer)), min_cell_users_(k) {}
  Result<std::string> meta() const;
  Result<std::string> run_query(std::string_view body, bool csv) const;
  Result<std::string> predictor(std::string_view body) const;
  const db::Database* db_;
  SemanticLayer layer_;
  int64_t min_cell_users_;
};

// The activity predictor for `filters`, from the fact table or one of `rollups` (see
// SemanticLayer::compile), as one statement taking `params`: per subregion, local weekday and hour,
// each activity's minutes, probability and rank learned on training days, and on every row the same
// evaluation on held-out days (held_out_minutes, accuracy, top3_accuracy, baseline_activity,
// baseline_accuracy), each accuracy the share of held-out activity time the prediction got right.
// A local date is held out when hash(date) % 5 = 0: about one day in five, every weekday alike. Time
// in an activity counts distinct (user, 10-minute slot) pairs, so a watch's faster sampling during
// workouts does not inflate it.
struct PredictorQueries {
  std::string sql;
  std::vector<Param> params;
  std::string source;  // the table it reads
};
Result<PredictorQueries> predictor_queries(const SemanticLayer& layer, const std::vector<Filter>& filters,
                                           const std::set<std::string>& rollups = {});
// Parse the request JSON of /api/dashboard/query.
Result<Request> parse_request_json(std::string_view body);

}  // namespace hrflow::query
