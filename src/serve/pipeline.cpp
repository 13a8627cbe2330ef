#include "serve/pipeline.h"

#include <sys/stat.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "common/state.h"

namespace hrflow::serve {

namespace fs = std::filesystem;

namespace {

nlohmann::json yaml_to_json(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      nlohmann::json j = nlohmann::json::object();
      for (auto it = n.begin(); it != n.end(); ++it) j[it->first.as<std::string>()] = yaml_to_json(it->second);
      return j;
    }
    case YAML::NodeType::Sequence: {
      nlohmann::json j = nlohmann::json::array();
      for (auto it = n.begin(); it != n.end(); ++it) j.push_back(yaml_to_json(*it));
      return j;
    }
    case YAML::NodeType::Scalar: return n.as<std::string>();
    default: return nullptr;
  }
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Sources land in raw through `hrflow sync`: the stream's lake load, and CDC of the operational tables.
std::vector<AssetSpec> raw_assets() {
  AutomationPolicy eager;
  eager.eager = true;
  AutomationPolicy cdc;  // PostgreSQL changes are polled every minute
  cdc.cron = *CronSchedule::parse("* * * * *");
  return {
      {"lake", AssetGroup::kLake, {}, {}, true, "heart-rate readings in the lake, written by the sink"},
      {"raw.heart_rate_stream", AssetGroup::kRaw, {"lake"}, eager, false, "new lake files, loaded by hrflow sync"},
      {"raw.users", AssetGroup::kRaw, {}, cdc, false, "users from PostgreSQL (CDC), by hrflow sync"},
      {"raw.activities", AssetGroup::kRaw, {}, cdc, false, "activities from PostgreSQL (CDC), by hrflow sync"},
  };
}

}  // namespace

Result<std::vector<AssetSpec>> read_project_graph(const fs::path& dir) {
  std::vector<AssetSpec> assets = raw_assets();
  if (!fs::is_directory(dir / "models")) return assets;
  std::map<std::string, nlohmann::json> automation;  // model name -> meta.automation
  std::map<std::string, std::string> key_of;         // model/seed name -> asset key
  struct Model {
    std::string name, key, sql;
    AssetGroup group;
  };
  std::vector<Model> models;
  for (const auto& e : fs::recursive_directory_iterator(dir / "models")) {
    const auto& p = e.path();
    if (p.extension() == ".yml" || p.extension() == ".yaml") {
      YAML::Node doc;
      try {
        doc = YAML::LoadFile(p.string());
      } catch (const YAML::Exception& ex) {
        return invalid_argument("{}:{}: {}", p.string(), ex.mark.line + 1, ex.msg);
      }
      for (const auto& m : doc["models"]) {
        auto meta = m["config"] && m["config"]["meta"] ? m["config"]["meta"] : m["meta"];
        if (meta && meta["automation"]) automation[m["name"].as<std::string>()] = yaml_to_json(meta["automation"]);
      }
    } else if (p.extension() == ".sql") {
      std::string folder = p.parent_path().filename().string();
      AssetGroup group = folder == "staging" ? AssetGroup::kStaging : AssetGroup::kServing;
      std::string name = p.stem().string();
      std::string schema = group == AssetGroup::kStaging ? "staging" : "serving";
      models.push_back({name, schema + "." + name, read_file(p), group});
      key_of[name] = schema + "." + name;
    }
  }
  if (fs::is_directory(dir / "seeds")) {
    for (const auto& e : fs::directory_iterator(dir / "seeds")) {
      if (e.path().extension() != ".csv") continue;
      std::string name = e.path().stem().string();
      key_of[name] = "seeds." + name;
      assets.push_back({"seeds." + name, AssetGroup::kSeeds, {}, {}, false, "seed loaded from " + e.path().filename().string()});
    }
  }
  static const std::regex ref_re(R"(\{\{\s*ref\(\s*['"]([A-Za-z0-9_]+)['"]\s*\)\s*\}\})");
  static const std::regex source_re(R"(\{\{\s*source\(\s*['"]([A-Za-z0-9_]+)['"]\s*,\s*['"]([A-Za-z0-9_]+)['"]\s*\)\s*\}\})");
  std::sort(models.begin(), models.end(), [](const Model& a, const Model& b) { return a.key < b.key; });
  for (const auto& m : models) {
    AssetSpec spec{m.key, m.group, {}, {}, false, "model " + m.name};
    std::set<std::string> deps;
    for (std::sregex_iterator it(m.sql.begin(), m.sql.end(), ref_re), end; it != end; ++it) {
      auto k = key_of.find((*it)[1]);
      if (k == key_of.end()) return invalid_argument("model {} refers to unknown model or seed '{}'", m.name, (*it)[1].str());
      deps.insert(k->second);
    }
    for (std::sregex_iterator it(m.sql.begin(), m.sql.end(), source_re), end; it != end; ++it) {
      deps.insert((*it)[1].str() + "." + (*it)[2].str());
    }
    spec.deps.assign(deps.begin(), deps.end());
    if (auto a = automation.find(m.name); a != automation.end()) {
      auto policy = AutomationPolicy::from_meta(a->second);
      if (!policy.ok()) return policy.error().with_context(fmt::format("model {}", m.name));
      spec.policy = std::move(policy).value();
    }
    assets.push_back(std::move(spec));
  }
  // A source table the project reads that sync does not land yet still shows in the graph.
  std::set<std::string> known;
  for (const auto& a : assets) known.insert(a.key);
  std::vector<AssetSpec> extra;
  for (const auto& a : assets) {
    for (const auto& d : a.deps) {
      if (!known.count(d)) {
        known.insert(d);
        extra.push_back({d, AssetGroup::kRaw, {}, {}, false, "source table"});
      }
    }
  }
  assets.insert(assets.end(), extra.begin(), extra.end());
  return assets;
}

namespace {

// The warehouse pipeline. The lake is observed on the file system (file:// lakes); the sync and build
// stages are called through their public APIs once they are part of the build.
class WarehousePipeline final : public Pipeline {
 public:
  WarehousePipeline(const Config& config, db::Database& db) : config_(config), db_(db) {}

  Result<std::vector<AssetSpec>> assets() override {
    fs::path project = config_.get_string("transform.project_dir").empty()
                           ? fs::path(HRFLOW_DEFAULT_PROJECT_DIR)
                           : config_.get_path("transform.project_dir");
    return read_project_graph(project);
  }

  RunReport materialize(const std::string& asset, RunContext& ctx) override {
    std::string stage = asset.rfind("raw.", 0) == 0 ? "sync" : "build";
    ctx.log(fmt::format("materializing {} with hrflow {}", asset, stage));
    (void)db_;
    RunReport r;
    r.outcome = RunOutcome::kFailed;
    r.error = make_error(ErrorKind::kNotFound,
                         "the {} stage is not part of this build of hrflow; `hrflow {}` is needed to materialize {}",
                         stage, stage, asset);
    r.error->retriable = false;
    ctx.log(r.error->message);
    return r;
  }

  std::optional<int64_t> observe(const std::string& key) override {
    if (key != "lake") return std::nullopt;
    std::string url = config_.get_string("lake.url");
    if (url.rfind("file://", 0) != 0) return std::nullopt;
    fs::path root = url.substr(7);
    std::error_code ec;
    if (!fs::is_directory(root, ec)) return std::nullopt;
    std::optional<int64_t> newest;
    for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
      if (!it->is_regular_file(ec) || it->path().extension() != ".json") continue;
      struct stat sb {};
      if (::stat(it->path().c_str(), &sb) != 0) continue;
      int64_t ms = int64_t{sb.st_mtim.tv_sec} * 1000 + sb.st_mtim.tv_nsec / 1'000'000;
      newest = newest ? std::max(*newest, ms) : ms;
    }
    return newest;
  }

 private:
  const Config& config_;
  db::Database& db_;
};

}  // namespace

Result<std::unique_ptr<Pipeline>> make_warehouse_pipeline(const Config& config, db::Database& db) {
  return std::unique_ptr<Pipeline>(new WarehousePipeline(config, db));
}

}  // namespace hrflow::serve
