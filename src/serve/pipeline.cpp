#include "serve/pipeline.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "common/state.h"
#include "ingest/sync.h"
#include "transform/project.h"
#include "transform/runner.h"

namespace hrflow::serve {

namespace fs = std::filesystem;

namespace {

// Sources land in raw through the ingest stage: the stream's lake load, and CDC of the operational tables.
std::vector<AssetSpec> raw_assets() {
  AutomationPolicy eager;
  eager.eager = true;
  AutomationPolicy cdc;  // PostgreSQL changes are polled every minute (and at once when never synced)
  cdc.eager = true;
  cdc.cron = *CronSchedule::parse("* * * * *");
  return {
      {"lake", AssetGroup::kLake, {}, {}, true, "heart-rate readings in the lake, written by the sink"},
      {"raw.heart_rate_stream", AssetGroup::kRaw, {"lake"}, eager, false, "new lake files, loaded by hrflow sync"},
      {"raw.users", AssetGroup::kRaw, {}, cdc, false, "users from PostgreSQL (CDC), by hrflow sync"},
      {"raw.activities", AssetGroup::kRaw, {}, cdc, false, "activities from PostgreSQL (CDC), by hrflow sync"},
  };
}

// The asset key of a project node: the relation it writes ("staging.stg_users", "raw.users").
std::string key_of(const transform::Node& n) { return n.schema() + "." + n.alias(); }

Result<std::vector<AssetSpec>> project_graph(const transform::Project& project) {
  std::vector<AssetSpec> assets = raw_assets();
  std::set<std::string> known;
  for (const auto& a : assets) known.insert(a.key);
  auto graph = transform::graph_json(project, "");
  AutomationPolicy eager;  // seeds load when never loaded (and when built on request)
  eager.eager = true;
  for (const auto& id : project.topological_order()) {
    const transform::Node& n = *project.find(id);
    if (n.type != transform::NodeType::kModel && n.type != transform::NodeType::kSeed) continue;
    if (n.materialized() == "ephemeral") continue;  // inlined where used: nothing to materialize
    AssetSpec spec;
    spec.key = key_of(n);
    if (n.type == transform::NodeType::kSeed) {
      spec.group = AssetGroup::kSeeds;
      spec.policy = eager;
      spec.description = "seed loaded from " + n.path;
    } else {
      spec.group = n.schema() == "staging" ? AssetGroup::kStaging : AssetGroup::kServing;
      spec.description = n.description.empty() ? "model " + n.name : n.description;
      const auto& meta = graph["nodes"][id]["meta"];
      if (meta.is_object() && meta.contains("automation")) {
        auto policy = AutomationPolicy::from_meta(meta["automation"]);
        if (!policy.ok()) return policy.error().with_context(fmt::format("model {} ({})", n.name, n.path));
        spec.policy = std::move(policy).value();
      }
    }
    std::set<std::string> deps;
    for (const auto& d : n.depends_on) {
      const transform::Node* up = project.find(d);
      if (!up || up->type == transform::NodeType::kTest) continue;
      if (up->type == transform::NodeType::kModel && up->materialized() == "ephemeral") continue;
      deps.insert(key_of(*up));
    }
    spec.deps.assign(deps.begin(), deps.end());
    known.insert(spec.key);
    assets.push_back(std::move(spec));
  }
  // A source table the project reads that sync does not land still shows in the graph.
  std::vector<AssetSpec> extra;
  for (const auto& a : assets) {
    for (const auto& d : a.deps) {
      if (known.insert(d).second) extra.push_back({d, AssetGroup::kRaw, {}, {}, false, "source table"});
    }
  }
  assets.insert(assets.end(), extra.begin(), extra.end());
  return assets;
}

}  // namespace

LakeObserver::LakeObserver(const Config& config)
    : config_(config), settle_ms_(config.get_string("lake.url").rfind("s3://", 0) == 0 ? 5'000 : 250) {}

std::optional<int64_t> LakeObserver::newest_marker_ms() {
  if (!store_) {
    auto store = lake::open_lake(config_);
    if (!store.ok()) return std::nullopt;
    store_ = std::move(store).value();
  }
  auto markers = store_->list("_hrflow/sink/");
  if (!markers.ok()) return std::nullopt;
  std::optional<int64_t> newest;
  for (const auto& m : *markers) newest = std::max(newest.value_or(m.last_modified_ms), m.last_modified_ms);
  return newest;
}

std::optional<int64_t> LakeObserver::newest_ms(int64_t now_ms) {
  if (auto newest = newest_marker_ms()) return now_ms >= *newest + settle_ms_ ? *newest + settle_ms_ : *newest;
  if (!store_ || now_ms - last_walk_ms_ < kLakeWalkEveryMs) return walked_;
  last_walk_ms_ = now_ms;
  auto files = store_->list("topics/");
  if (!files.ok()) return walked_;
  for (const auto& f : *files) walked_ = std::max(walked_.value_or(f.last_modified_ms), f.last_modified_ms);
  return walked_;
}

void LakeObserver::wait_until_settled(const StopToken& stop) {
  auto newest = newest_marker_ms();
  if (!newest) return;
  const int64_t until = *newest + settle_ms_;
  if (until - SystemClock::instance().now_ms() > settle_ms_) return;  // a clock step: do not wait long
  while (!stop.stop_requested() && SystemClock::instance().now_ms() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

Result<std::vector<AssetSpec>> read_project_graph(const fs::path& dir) {
  transform::ProjectOptions po;
  po.dir = dir;
  HRFLOW_ASSIGN_OR_RETURN(auto project, transform::Project::load(po));
  return project_graph(*project);
}

namespace {

// The warehouse pipeline: raw.* through the ingest stage, seeds and models through the transform
// runner, both in this process on the warehouse it owns. The lake is observed on the file system.
class WarehousePipeline final : public Pipeline {
 public:
  WarehousePipeline(const Config& config, db::Database& db, std::unique_ptr<transform::Project> project)
      : config_(config), db_(db), project_(std::move(project)) {
    for (const auto& [id, n] : project_->nodes()) {
      if (n.type == transform::NodeType::kModel || n.type == transform::NodeType::kSeed ||
          n.type == transform::NodeType::kSource) {
        node_of_[key_of(n)] = id;
      }
    }
  }

  Result<std::vector<AssetSpec>> assets() override { return project_graph(*project_); }

  std::vector<std::filesystem::path> directories_read() const override {
    std::set<std::filesystem::path> dirs;
    for (const auto& [id, n] : project_->nodes()) {
      if (n.type == transform::NodeType::kSeed) dirs.insert(std::filesystem::absolute(project_->dir() / n.path).parent_path());
    }
    return {dirs.begin(), dirs.end()};
  }

  RunReport materialize(const std::string& asset, RunContext& ctx) override {
    RunReport r;
    if (asset.rfind("raw.", 0) == 0) {
      r = sync(asset, ctx);
      if (r.outcome != RunOutcome::kSucceeded) return r;
      if (!r.changed) {  // nothing new landed: the source tests would only repeat their last answer
        ctx.log(fmt::format("{} unchanged: no new data, so its tests and downstream do not run", asset));
        return r;
      }
    }
    auto it = node_of_.find(asset);
    if (it == node_of_.end()) {
      if (asset.rfind("raw.", 0) == 0) return r;  // landed, and the project declares no tests on it
      r.outcome = RunOutcome::kFailed;
      r.error = make_error(ErrorKind::kNotFound, "{} is neither landed by sync nor a model or seed of the project", asset);
      r.error->retriable = false;
      ctx.log(r.error->message);
      return r;
    }
    const RunReport synced = r;
    r = build(*project_->find(it->second), ctx);
    if (asset.rfind("raw.", 0) == 0) {
      r.rows = synced.rows;
      r.changed = synced.changed;
    }
    return r;
  }

  std::optional<int64_t> observe(const std::string& key) override {
    if (key != "lake") return std::nullopt;
    return lake_.newest_ms(SystemClock::instance().now_ms());
  }

 private:
  // raw.heart_rate_stream: the lake load; raw.users / raw.activities: CDC (one sync lands both).
  RunReport sync(const std::string& asset, RunContext& ctx) {
    RunReport r;
    ingest::SyncRequest request;
    request.source = asset == "raw.heart_rate_stream" ? ingest::SyncSource::kLake : ingest::SyncSource::kOltp;
    request.progress = false;
    request.stop = ctx.stop;
    ctx.log(fmt::format("hrflow sync {}", request.source == ingest::SyncSource::kLake ? "lake" : "oltp"));
    auto result = ingest::sync(config_, db_, request, ctx.log);
    if (!result.ok()) {
      r.outcome = RunOutcome::kFailed;
      r.error = result.error();
      ctx.log(r.error->message);
      return r;
    }
    r.rows = static_cast<int64_t>(result->rows());
    if (request.source == ingest::SyncSource::kLake) {
      r.changed = result->changed();
      return r;
    }
    // One CDC sync lands every published table: a table it changed while syncing another asset is
    // still new data for that table's own asset when that one runs next.
    const std::string table = asset.substr(4);
    for (const auto& [name, n] : result->oltp_rows_by_table) {
      if (n > 0 && name != table) cdc_landed_.insert("raw." + name);
    }
    auto by = result->oltp_rows_by_table.find(table);
    const bool landed_before = cdc_landed_.erase(asset) > 0;
    r.changed = landed_before || (by != result->oltp_rows_by_table.end() && by->second > 0);
    return r;
  }

  // Build one model or seed, or test one source, with the data tests that belong to it: those whose
  // other parents are sources or its own ancestors (so every relation they read exists).
  RunReport build(const transform::Node& node, RunContext& ctx) {
    RunReport r;
    std::set<std::string> ancestors{node.unique_id};
    std::vector<std::string> todo{node.unique_id};
    while (!todo.empty()) {
      const transform::Node* n = project_->find(todo.back());
      todo.pop_back();
      for (const auto& d : n->depends_on) {
        if (ancestors.insert(d).second) todo.push_back(d);
      }
    }
    transform::RunOptions ro;
    ro.command = transform::Command::kBuild;
    ro.stop = ctx.stop;
    ro.select = {node.type == transform::NodeType::kSource ? "source:" + node.source_name + "." + node.name
                                                           : node.name};
    for (const auto& [id, n] : project_->nodes()) {
      if (n.type != transform::NodeType::kTest) continue;
      bool mine = false, ready = true;
      for (const auto& d : n.depends_on) {
        mine |= d == node.unique_id;
        const transform::Node* up = project_->find(d);
        ready &= ancestors.count(d) > 0 || (up && up->type == transform::NodeType::kSource);
      }
      if (mine && !ready) ro.exclude.push_back(n.name);
    }
    ctx.log(fmt::format("hrflow build --select {}", ro.select[0]));
    char* buf = nullptr;
    size_t len = 0;
    std::FILE* out = ::open_memstream(&buf, &len);
    if (!out) {
      r.outcome = RunOutcome::kFailed;
      r.error = io_error("cannot capture the build output: {}", std::strerror(errno));
      return r;
    }
    ro.out = out;
    auto conn = db::Connection::connect(db_);
    Result<std::vector<transform::NodeResult>> results =
        conn.ok() ? transform::Runner(*project_, *conn, StateLayout::from(config_).state_dir / "target").run(ro)
                  : Result<std::vector<transform::NodeResult>>(conn.error());
    std::fclose(out);
    std::string text(buf ? buf : "", len);
    std::free(buf);
    for (size_t start = 0; start < text.size();) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      if (end > start) ctx.log(text.substr(start, end - start));
      start = end + 1;
    }
    if (!results.ok()) {
      r.outcome = RunOutcome::kFailed;
      r.error = results.error();
      ctx.log(r.error->message);
      return r;
    }
    std::vector<std::string> failed_tests;
    for (const auto& nr : *results) {
      if (nr.unique_id == node.unique_id && nr.rows_affected > 0) r.rows = nr.rows_affected;
      if (nr.unique_id == node.unique_id && nr.status == "success") r.changed = nr.changed;
      if (nr.status == "error" && nr.unique_id.rfind("test.", 0) != 0) {
        r.outcome = RunOutcome::kFailed;
        r.error = make_error(ErrorKind::kInvalidArgument, "{}: {}", nr.unique_id, nr.message);
        r.error->retriable = false;
        return r;
      }
      if (nr.status == "fail" || nr.status == "error") failed_tests.push_back(nr.unique_id);
    }
    if (!failed_tests.empty()) {
      r.outcome = RunOutcome::kTestsFailed;
      std::string list;
      for (const auto& t : failed_tests) list += (list.empty() ? "" : ", ") + t;
      r.error = make_error(ErrorKind::kInvalidArgument, "{} data test{} failed: {}", failed_tests.size(),
                           failed_tests.size() == 1 ? "" : "s", list);
      r.error->retriable = false;
    }
    return r;
  }

  const Config& config_;
  db::Database& db_;
  std::unique_ptr<transform::Project> project_;
  std::map<std::string, std::string> node_of_;  // asset key -> project node id
  std::set<std::string> cdc_landed_;  // raw.* assets another asset's CDC sync changed since they last ran
  LakeObserver lake_{config_};
};

}  // namespace

Result<std::unique_ptr<Pipeline>> make_warehouse_pipeline(const Config& config, db::Database& db) {
  transform::ProjectOptions po;
  HRFLOW_ASSIGN_OR_RETURN(po.dir, transform::resolve_project_dir(config, ""));
  HRFLOW_ASSIGN_OR_RETURN(auto project, transform::Project::load(po));
  return std::unique_ptr<Pipeline>(new WarehousePipeline(config, db, std::move(project)));
}

}  // namespace hrflow::serve
