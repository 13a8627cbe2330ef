// `hrflow serve` as a user and a browser meet it: the real binary on a free loopback port.
#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <fstream>
#include <map>
#include <thread>

#include "common/pg.h"
#include "lake/s3_store.h"
#include "support/fixtures.h"

namespace hrflow::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

class ServeProcess {
 public:
  ServeProcess(const std::filesystem::path& dir, std::vector<std::string> extra = {}, std::string env = "")
      : dir_(dir), port_(free_port()) {
    if (!std::filesystem::exists(dir / "hrflow.yml")) {
      std::ofstream(dir / "hrflow.yml") << "state_dir: " << (dir / ".hrflow").string() << "\n";
    }
    std::vector<std::string> argv;
    if (!env.empty()) argv = {"env", env};
    for (const auto& a : {hrflow_bin(), std::string("-c"), (dir / "hrflow.yml").string(), std::string("serve"),
                          std::string("--port"), std::to_string(port_)}) {
      argv.push_back(a);
    }
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto p = Subprocess::start(argv, (dir / "serve.log").string());
    EXPECT_TRUE(p.ok());
    if (p.ok()) process_ = std::make_unique<Subprocess>(std::move(p).value());
  }
  bool ready(const std::string& token = "") {
    return wait_until([&] { return get("/api/health", token).first == 200; }, seconds(30));
  }
  std::pair<int, std::string> get(const std::string& path, const std::string& token = "") {
    httplib::Client c("127.0.0.1", port_);
    c.set_connection_timeout(2);
    httplib::Headers h;
    if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
    auto r = c.Get(path, h);
    return r ? std::make_pair(r->status, r->body) : std::make_pair(0, std::string());
  }
  std::pair<int, std::string> post(const std::string& path, const json& body) {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(30);
    auto r = c.Post(path, body.dump(), "application/json");
    return r ? std::make_pair(r->status, r->body) : std::make_pair(0, std::string());
  }
  json assets() { return json::parse(get("/api/assets").second); }
  std::string state_of(const std::string& key) {
    for (const auto& a : assets()) {
      if (a["key"] == key) return a["state"];
    }
    return "";
  }
  Subprocess& process() { return *process_; }
  std::string log() {
    std::ifstream in(dir_ / "serve.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  int port() const { return port_; }

 private:
  std::filesystem::path dir_;
  int port_;
  std::unique_ptr<Subprocess> process_;
};

TEST(ServeApi, ShowsTheAssetGraphAndRunsWhatIsAskedFor) {
  TempDir dir;
  ServeProcess serve(dir.path());
  ASSERT_TRUE(serve.ready()) << serve.log();
  auto assets = serve.assets();
  std::set<std::string> keys;
  for (const auto& a : assets) keys.insert(a["key"]);
  for (const char* k : {"lake", "raw.heart_rate_stream", "raw.users", "raw.activities"}) {
    EXPECT_TRUE(keys.count(k)) << k << " missing from " << assets.dump();
  }
  EXPECT_EQ(serve.state_of("raw.heart_rate_stream"), "never built");
  // The UI is served by the binary itself.
  auto [status, html] = serve.get("/");
  EXPECT_EQ(status, 200);
  EXPECT_NE(html.find("<script src=\"app.js\">"), std::string::npos);
  EXPECT_EQ(serve.get("/app.js").first, 200);

  // The lake is empty, so only this request runs raw.heart_rate_stream.
  const std::string target = "raw.heart_rate_stream";
  auto [code, body] = serve.post("/api/materialize", {{"assets", {target}}, {"upstream", false}});
  ASSERT_EQ(code, 200) << body;
  EXPECT_EQ(json::parse(body)["planned"], json({target}));
  ASSERT_TRUE(wait_until([&] { return serve.state_of(target) != "never built"; }, seconds(20)));
  json runs;
  ASSERT_TRUE(wait_until([&] {
    runs = json::parse(serve.get("/api/runs?asset=" + target).second);
    return !runs.empty() && runs[0]["outcome"] != "running";
  }, seconds(20)));
  EXPECT_EQ(runs[0]["asset"], target);
  EXPECT_EQ(runs[0]["trigger"], "manual");
  auto run = json::parse(serve.get("/api/runs/" + std::to_string(runs[0]["id"].get<int>())).second);
  EXPECT_FALSE(run["log"].get<std::string>().empty());
  auto decisions = json::parse(serve.get("/api/decisions").second);
  bool found = false;
  for (const auto& d : decisions) found |= d["asset"] == target && d["launch"] == true && d["trigger"] == "manual";
  EXPECT_TRUE(found) << decisions.dump();
  // Errors name what is wrong.
  EXPECT_EQ(serve.post("/api/materialize", {{"assets", {"nope"}}}).first, 404);
  EXPECT_EQ(serve.post("/api/materialize", {{"assets", {"lake"}}}).first, 400);
  EXPECT_EQ(serve.post("/api/materialize", json("x")).first, 400);

  auto metrics = serve.get("/metrics");
  EXPECT_EQ(metrics.first, 200);
  EXPECT_NE(metrics.second.find("hrflow_runs_total{asset=\"raw.heart_rate_stream\""), std::string::npos)
      << metrics.second;
  EXPECT_NE(metrics.second.find("hrflow_asset_lag_seconds{asset=\"lake\"}"), std::string::npos);

  // `hrflow status` asks the running serve.
  auto st = run_hrflow({"-c", (dir.path() / "hrflow.yml").string(), "status"});
  EXPECT_EQ(st.exit_code, 0) << st.output;
  EXPECT_NE(st.output.find("raw.heart_rate_stream"), std::string::npos) << st.output;
  EXPECT_EQ(st.output.find("not running"), std::string::npos) << st.output;
}

TEST(ServeApi, RefusesPathTraversalAndWhatIsNotItsOwn) {
  TempDir dir;
  std::ofstream(dir.path() / "secret.txt") << "top secret";
  ServeProcess serve(dir.path());
  ASSERT_TRUE(serve.ready()) << serve.log();
  for (const char* path : {"/../secret.txt", "/..%2fsecret.txt", "/%2e%2e/%2e%2e/etc/passwd", "/app.js/../index.html",
                           "/etc/passwd", "/hrflow.yml", "/.hrflow/runs/runs.jsonl", "//etc/passwd",
                           "/static/..\\..\\secret.txt"}) {
    auto [status, body] = serve.get(path);
    EXPECT_TRUE(status == 400 || status == 404) << path << " -> " << status;
    EXPECT_EQ(body.find("top secret"), std::string::npos) << path;
    EXPECT_EQ(body.find("root:"), std::string::npos) << path;
  }
}

TEST(ServeApi, BeyondLoopbackNeedsTheTokenOnEveryRequest) {
  TempDir dir;
  {
    ServeProcess open_to_all(dir.path(), {"--host", "0.0.0.0"});
    ASSERT_TRUE(wait_until([&] { return !open_to_all.process().running(); }, seconds(20)));
    EXPECT_NE(open_to_all.log().find("needs an access token: set HRFLOW_SERVE_TOKEN"), std::string::npos)
        << open_to_all.log();
  }
  ServeProcess serve(dir.path(), {"--host", "0.0.0.0"}, "HRFLOW_SERVE_TOKEN=s3cret-token");
  ASSERT_TRUE(serve.ready("s3cret-token")) << serve.log();
  for (const char* path : {"/", "/api/assets", "/api/runs", "/metrics", "/app.js"}) {
    EXPECT_EQ(serve.get(path).first, 401) << path;
    EXPECT_EQ(serve.get(path, "wrong").first, 401) << path;
    EXPECT_EQ(serve.get(path, "s3cret-token").first, 200) << path;
  }
  EXPECT_EQ(serve.post("/api/materialize", {{"assets", {"raw.users"}}}).first, 401);
  EXPECT_EQ(serve.get("/?token=s3cret-token").first, 200);
  // The address file never holds the token.
  std::ifstream in(dir.path() / ".hrflow/serve.json");
  std::string addr((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(addr.find("s3cret"), std::string::npos);
}

TEST(ServeApi, HistorySurvivesARestartAndAKill) {
  TempDir dir;
  int64_t run_id = 0;
  {
    ServeProcess serve(dir.path());
    ASSERT_TRUE(serve.ready()) << serve.log();
    ASSERT_EQ(serve.post("/api/materialize", {{"assets", {"raw.heart_rate_stream"}}}).first, 200);
    json runs;
    ASSERT_TRUE(wait_until([&] {
      runs = json::parse(serve.get("/api/runs?asset=raw.heart_rate_stream").second);
      return !runs.empty() && runs[0]["outcome"] != "running";
    }, seconds(20)));
    run_id = runs[0]["id"];
    EXPECT_EQ(serve.process().stop(SIGTERM, 20000) , 0) << serve.log();  // graceful
    EXPECT_FALSE(std::filesystem::exists(dir.path() / ".hrflow/serve.json"));
  }
  auto offline = run_hrflow({"-c", (dir.path() / "hrflow.yml").string(), "status"});
  EXPECT_EQ(offline.exit_code, 0) << offline.output;
  EXPECT_NE(offline.output.find("not running"), std::string::npos) << offline.output;
  EXPECT_NE(offline.output.find("raw.heart_rate_stream"), std::string::npos);
  {
    ServeProcess serve(dir.path());
    ASSERT_TRUE(serve.ready()) << serve.log();
    auto runs = json::parse(serve.get("/api/runs?asset=raw.heart_rate_stream").second);
    ASSERT_FALSE(runs.empty());
    EXPECT_EQ(runs[0]["id"], run_id);
    EXPECT_NE(serve.state_of("raw.heart_rate_stream"), "never built");
    serve.process().stop(SIGKILL, 1000);
  }
  // After kill -9: the stale address file is ignored, the warehouse opens, the history is intact.
  ASSERT_TRUE(std::filesystem::exists(dir.path() / ".hrflow/serve.json"));
  ServeProcess serve(dir.path());
  ASSERT_TRUE(serve.ready()) << serve.log();
  auto runs = json::parse(serve.get("/api/runs?asset=raw.heart_rate_stream").second);
  ASSERT_FALSE(runs.empty());
  EXPECT_EQ(runs.back()["id"], run_id);
}

// The "done means": hrflow serve with a live producer; a reading produced shows up in
// serving.fct_heart_rates with no manual step (sink service -> lake -> eager sync -> eager models).
// Meanwhile `hrflow build` and `hrflow sync` hand their work to serve instead of failing on the lock.
TEST(ServeLive, AReadingProducedLiveReachesTheFactTableByItself) {
  HRFLOW_START_OR_SKIP(pg, PostgresInstance::start());
  TempDir dir;
  const std::string cfg = (dir.path() / "hrflow.yml").string();
  // Small event-time files so the sink closes them every couple of seconds at --speed 60. The first
  // readings come from a few of the 20 users: small-cell suppression (query.min_cell_users) off, so that
  // the count of readings is visible from the first one on.
  std::ofstream(cfg) << "state_dir: " << (dir.path() / ".hrflow").string() << "\n"
                     << "oltp:\n  url: " << pg->url() << "\n"
                     << "sink:\n  rotate_interval: 2m\n"
                     << "query:\n  min_cell_users: 1\n"
                     << "serve:\n  sql:\n    port: " << free_port() << "\n";
  auto gen = run_hrflow({"-c", cfg, "oltp", "generate", "--users", "20"});
  ASSERT_EQ(gen.exit_code, 0) << gen.output;

  ServeProcess serve(dir.path());
  ASSERT_TRUE(serve.ready()) << serve.log();
  auto readings = [&]() -> int64_t {
    auto [code, body] = serve.post("/api/dashboard/query", {{"metrics", {"readings"}}});
    if (code != 200) return -1;  // the fact table does not exist yet
    auto j = json::parse(body, nullptr, false);
    return j.is_discarded() || j["rows"].empty() ? -1 : j["rows"][0][0].get<int64_t>();
  };
  EXPECT_EQ(serve.get("/dashboard/").first, 200);
  auto started = std::chrono::steady_clock::now();
  auto produce = Subprocess::start({hrflow_bin(), "-c", cfg, "produce", "--live", "--speed", "60", "--quiet"},
                                   (dir.path() / "produce.log").string());
  ASSERT_TRUE(produce.ok());
  bool visible = wait_until([&] { return readings() > 0; }, seconds(120), milliseconds(250));
  auto latency = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - started);
  ASSERT_TRUE(visible) << serve.log() << "\nruns: " << serve.get("/api/runs").second;
  std::printf("first live reading queryable in serving.fct_heart_rates %.1fs after the producer started\n",
              latency.count() / 1000.0);

  // The CLI commands that write the warehouse hand their work to serve.
  auto build = run_hrflow({"-c", cfg, "build", "--select", "stg_heart_rates"});
  EXPECT_EQ(build.exit_code, 0) << build.output;
  EXPECT_NE(build.output.find("owns the warehouse: handing the work to it"), std::string::npos) << build.output;
  EXPECT_NE(build.output.find("staging.stg_heart_rates"), std::string::npos) << build.output;
  // `hrflow query` asks serve: the metrics through its API, --sql through its SQL endpoint.
  auto metric = run_hrflow({"-c", cfg, "query", "--metric", "readings", "--by", "activity", "--format", "csv"});
  EXPECT_EQ(metric.exit_code, 0) << metric.output;
  EXPECT_NE(metric.output.find("activity,readings"), std::string::npos) << metric.output;
  auto sql = run_hrflow({"-c", cfg, "query", "--format", "csv", "--sql",
                         "SELECT count(*) > 0 AS has_readings FROM serving.fct_heart_rates"});
  EXPECT_EQ(sql.exit_code, 0) << sql.output;
  EXPECT_NE(sql.output.find("has_readings\nt\n"), std::string::npos) << sql.output;
  auto sync = run_hrflow({"-c", cfg, "sync", "lake"});
  EXPECT_EQ(sync.exit_code, 0) << sync.output;
  EXPECT_NE(sync.output.find("raw.heart_rate_stream"), std::string::npos) << sync.output;
  // More readings keep arriving by themselves.
  int64_t before = readings();
  EXPECT_TRUE(wait_until([&] { return readings() > before; }, seconds(60), milliseconds(250))) << serve.log();

  EXPECT_EQ(produce->stop(SIGINT, 20000), 0);
  EXPECT_EQ(serve.process().stop(SIGTERM, 30000), 0) << serve.log();
  // After serve stopped: every fact row is a live reading (the fleet's history starts now), keyed to its user.
  auto q = run_hrflow({"-c", cfg, "query", "--format", "json", "--sql",
                       "SELECT count(*) AS n, count(DISTINCT user_key) AS users FROM serving.fct_heart_rates "
                       "JOIN serving.dim_users USING (user_key)"});
  ASSERT_EQ(q.exit_code, 0) << q.output;
  auto rows = json::parse(q.output.substr(q.output.find('{')))["rows"];
  EXPECT_GE(rows[0][0].get<int64_t>(), before);
  EXPECT_GT(rows[0][1].get<int64_t>(), 0);
}

// The demo's order (sync, produce, sink, sync, build on the command line), then serve: it starts from
// what was built and runs nothing until data arrives. A sync that loads nothing and an incremental
// model with no new rows keep their version, so nothing downstream of them runs, and serve says why.
TEST(ServeIdle, AfterTheCommandLineBuiltEverythingServeRunsOnlyWhereDataChanged) {
  HRFLOW_START_OR_SKIP(pg, PostgresInstance::start());
  TempDir dir;
  const std::string cfg = (dir.path() / "hrflow.yml").string();
  std::ofstream(cfg) << "state_dir: " << (dir.path() / ".hrflow").string() << "\n"
                     << "oltp:\n  url: " << pg->url() << "\n"
                     << "lake:\n  compression: zstd\n"
                     << "serve:\n  sql:\n    port: " << free_port() << "\n";
  for (std::vector<std::string> step : {std::vector<std::string>{"oltp", "generate", "--users", "12", "--as-of", "2026-01-01"},
                                        {"sync", "oltp"},
                                        {"produce", "--from", "2026-01-02", "--to", "2026-01-02T02:00", "--quiet"},
                                        {"sink", "--once"},
                                        {"sync"},
                                        {"build"}}) {
    step.insert(step.begin(), {"-c", cfg});
    auto r = run_hrflow(step);
    ASSERT_EQ(r.exit_code, 0) << step[2] << ": " << r.output;
  }
  ServeProcess serve(dir.path());
  ASSERT_TRUE(serve.ready()) << serve.log();
  auto runs_of = [&](const std::string& asset) {
    return json::parse(serve.get("/api/runs?asset=" + asset).second);
  };
  auto served_runs = [&] {  // runs serve started itself (not the command line's)
    std::vector<std::string> out;
    for (const auto& r : json::parse(serve.get("/api/runs").second)) {
      std::string trigger = r["trigger"];
      if (trigger.rfind("hrflow ", 0) == 0) continue;
      // PostgreSQL is polled every minute (a cron tick may fall into this test): it loads nothing.
      if (trigger == "cron" && r["rows"] == 0) continue;
      out.push_back(r["asset"].get<std::string>() + " (" + trigger + ")");
    }
    return out;
  };
  // Several observations of the lake and automation ticks later, nothing was rebuilt.
  std::this_thread::sleep_for(seconds(4));
  EXPECT_EQ(served_runs(), std::vector<std::string>{}) << serve.get("/api/decisions").second;
  for (const auto& a : serve.assets()) {
    if (a["key"] == "lake") continue;
    EXPECT_EQ(a["state"], "fresh") << a["key"] << ": " << a["why"];
  }
  EXPECT_FALSE(runs_of("serving.fct_heart_rates").empty()) << "the command line's build is in serve's history";

  auto await_run = [&](const std::string& asset, size_t runs_before) {
    return wait_until([&] {
      auto runs = runs_of(asset);
      return runs.size() > runs_before && runs[0]["outcome"] != "running";
    }, seconds(60), milliseconds(200));
  };
  auto decided = [&](const std::string& asset, const std::string& reason) {
    for (const auto& d : json::parse(serve.get("/api/decisions?asset=" + asset).second)) {
      if (d["reason"].get<std::string>().find(reason) != std::string::npos) return true;
    }
    return false;
  };
  // A CDC sync with no changes: raw.users keeps its version, stg_users does not run.
  size_t before = runs_of("raw.users").size();
  ASSERT_EQ(serve.post("/api/materialize", {{"assets", {"raw.users"}}}).first, 200);
  ASSERT_TRUE(await_run("raw.users", before)) << serve.log();
  EXPECT_EQ(runs_of("raw.users")[0]["outcome"], "succeeded");
  EXPECT_TRUE(wait_until([&] { return decided("staging.stg_users", "upstream raw.users ran, no new data"); }, seconds(10)))
      << serve.get("/api/decisions").second;
  // An incremental model with no new rows: the fact table does not run after it.
  before = runs_of("staging.stg_heart_rates").size();
  ASSERT_EQ(serve.post("/api/materialize", {{"assets", {"staging.stg_heart_rates"}}}).first, 200);
  ASSERT_TRUE(await_run("staging.stg_heart_rates", before)) << serve.log();
  EXPECT_TRUE(wait_until([&] {
    return decided("serving.fct_heart_rates", "upstream staging.stg_heart_rates ran, no new data");
  }, seconds(10))) << serve.get("/api/decisions").second;
  std::this_thread::sleep_for(seconds(2));
  EXPECT_EQ(served_runs(), (std::vector<std::string>{"staging.stg_heart_rates (manual)", "raw.users (manual)"}));

  // New data: a changed user reaches the dimension by itself.
  auto c = PgConnection::connect(pg->url());
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_TRUE(c->exec("UPDATE users SET weight = weight + 1, last_update = now() WHERE user_id = (SELECT min(user_id) FROM users)").ok());
  before = runs_of("serving.dim_users").size();
  ASSERT_EQ(serve.post("/api/materialize", {{"assets", {"raw.users"}}}).first, 200);
  EXPECT_TRUE(await_run("serving.dim_users", before)) << serve.get("/api/decisions").second;
  EXPECT_EQ(serve.process().stop(SIGTERM, 30000), 0) << serve.log();
}

// kill -9 of serve during a live run, twice, while the sink cuts files every few seconds and sync
// merges closed hours: after the restarts every produced reading is exactly once in the lake, in raw and
// in the fact table, and the lake holds one file per merged hour and partition.
TEST(ServeLive, KilledTwiceDuringALiveRunEveryReadingEndsUpExactlyOnce) {
  HRFLOW_START_OR_SKIP(pg, PostgresInstance::start());
  TempDir dir;
  const std::string cfg = (dir.path() / "hrflow.yml").string();
  std::ofstream(cfg) << "state_dir: " << (dir.path() / ".hrflow").string() << "\n"
                     << "oltp:\n  url: " << pg->url() << "\n"
                     << "sync:\n  merge_after: 1m\n"
                     << "query:\n  min_cell_users: 1\n"
                     << "serve:\n  sink_max_file_age: 1s\n  sql:\n    port: " << free_port() << "\n";
  auto gen = run_hrflow({"-c", cfg, "oltp", "generate", "--users", "20"});
  ASSERT_EQ(gen.exit_code, 0) << gen.output;
  // 20 minutes of readings a second: hours close (and are merged) within the test.
  auto produce = Subprocess::start({hrflow_bin(), "-c", cfg, "produce", "--live", "--speed", "1200"},
                                   (dir.path() / "produce.log").string());
  ASSERT_TRUE(produce.ok());
  std::unique_ptr<ServeProcess> serve;
  auto readings = [&]() -> int64_t {
    auto [code, body] = serve->post("/api/dashboard/query", {{"metrics", {"readings"}}});
    auto j = json::parse(body, nullptr, false);
    return code != 200 || j.is_discarded() || j["rows"].empty() ? -1 : j["rows"][0][0].get<int64_t>();
  };
  for (int run = 0; run < 3; ++run) {
    serve = std::make_unique<ServeProcess>(dir.path());
    ASSERT_TRUE(serve->ready()) << serve->log();
    if (run == 2) {
      std::this_thread::sleep_for(seconds(6));  // a few more hours of readings after the last restart
      break;
    }
    const int64_t before = readings();
    ASSERT_TRUE(wait_until([&] { return readings() > before; }, seconds(120), milliseconds(200))) << serve->log();
    std::this_thread::sleep_for(milliseconds(run == 0 ? 700 : 2300));  // somewhere in a sink round or a build
    ASSERT_EQ(::kill(serve->process().pid(), SIGKILL), 0);
    serve->process().stop(SIGKILL, 10000);
  }
  EXPECT_EQ(produce->stop(SIGINT, 30000), 0);
  std::ifstream in(dir.path() / "produce.log");
  std::string out((std::istreambuf_iterator<char>(in)), {});
  const auto at = out.find("produced ");
  ASSERT_NE(at, std::string::npos) << out;
  const int64_t sent = std::stoll(out.substr(at + 9));
  EXPECT_TRUE(wait_until([&] { return readings() == sent; }, seconds(120), milliseconds(250)))
      << readings() << " of " << sent << " readings in the fact table\n" << serve->log() << "\nassets: "
      << serve->get("/api/assets").second << "\ndecisions: " << serve->get("/api/decisions").second;
  EXPECT_EQ(serve->process().stop(SIGTERM, 30000), 0) << serve->log();

  // The lake: every reading once (counted by line), and each closed hour (all but the newest two of a
  // partition) merged into one file per partition.
  std::map<std::string, std::map<std::string, int>> files;  // partition -> hour directory -> files
  int64_t lines = 0;
  const auto topics = dir.path() / ".hrflow" / "lake" / "topics";
  for (const auto& e : std::filesystem::recursive_directory_iterator(topics)) {
    if (!e.is_regular_file()) continue;
    std::string name = e.path().filename().string();
    files[name.substr(name.find('+') + 1, name.rfind('+') - name.find('+') - 1)][e.path().parent_path().string()]++;
    std::ifstream f(e.path());
    for (std::string line; std::getline(f, line);) lines++;
  }
  EXPECT_EQ(lines, sent);
  int closed_hours = 0;
  for (const auto& [partition, hours] : files) {
    int left = static_cast<int>(hours.size()) - 2;
    for (const auto& [hour, n] : hours) {
      if (left-- <= 0) break;
      ++closed_hours;
      EXPECT_EQ(n, 1) << "partition " << partition << ", " << hour;
    }
  }
  EXPECT_GT(closed_hours, 0);
  auto q = run_hrflow({"-c", cfg, "query", "--format", "csv", "--sql",
                       "SELECT (SELECT count(*) FROM raw.heart_rate_stream) AS raw_rows, "
                       "(SELECT count(*) FROM serving.fct_heart_rates) AS fact_rows"});
  ASSERT_EQ(q.exit_code, 0) << q.output;
  EXPECT_NE(q.output.find(fmt::format("raw_rows,fact_rows\n{},{}\n", sent, sent)), std::string::npos) << q.output;
}

// Services that heal: under a live serve, S3 stops answering for a while, then the Kafka broker does
// (both processes stopped with SIGSTOP, as a hung server or a network partition). serve keeps running;
// the sink waits and retries; afterwards every produced reading is in the lake, in raw and in the fact
// table exactly once, with no restart of anything.
TEST(ServeHeals, S3AndKafkaStoppedForAWhileUnderALiveServeHealWithoutARestart) {
  HRFLOW_START_OR_SKIP(pg, PostgresInstance::start());
  HRFLOW_START_OR_SKIP(s3, S3Instance::start());
  HRFLOW_START_OR_SKIP(kafka, KafkaInstance::start());
  setenv("AWS_ACCESS_KEY_ID", S3Instance::kAccessKey, 1);
  setenv("AWS_SECRET_ACCESS_KEY", S3Instance::kSecretKey, 1);
  {
    lake::S3Options o;
    o.endpoint = s3->endpoint();
    o.credentials = {S3Instance::kAccessKey, S3Instance::kSecretKey, ""};
    auto store = lake::S3Store::open(o, "s3://heal-bucket/lake");
    ASSERT_TRUE(store.ok()) << store.error().message;
    ASSERT_TRUE((*store)->ensure_bucket().ok());
  }
  TempDir dir;
  const std::string cfg = (dir.path() / "hrflow.yml").string();
  std::ofstream(cfg) << "state_dir: " << (dir.path() / ".hrflow").string() << "\n"
                     << "oltp:\n  url: " << pg->url() << "\n"
                     << "stream:\n  kafka:\n    bootstrap_servers: " << kafka->bootstrap_servers() << "\n"
                     << "lake:\n  url: s3://heal-bucket/lake\n  s3:\n    endpoint: " << s3->endpoint()
                     << "\n    timeout: 3s\n    max_attempts: 2\n"
                     << "sync:\n  merge_after: 1m\n"
                     << "query:\n  min_cell_users: 1\n"
                     << "serve:\n  sql:\n    port: " << free_port() << "\n";
  auto gen = run_hrflow({"-c", cfg, "oltp", "generate", "--users", "20"});
  ASSERT_EQ(gen.exit_code, 0) << gen.output;
  ServeProcess serve(dir.path());
  ASSERT_TRUE(serve.ready()) << serve.log();
  auto readings = [&]() -> int64_t {
    auto [code, body] = serve.post("/api/dashboard/query", {{"metrics", {"readings"}}});
    auto j = json::parse(body, nullptr, false);
    return code != 200 || j.is_discarded() || j["rows"].empty() ? -1 : j["rows"][0][0].get<int64_t>();
  };
  auto produce = Subprocess::start({hrflow_bin(), "-c", cfg, "produce", "--live", "--speed", "600"},
                                   (dir.path() / "produce.log").string());
  ASSERT_TRUE(produce.ok());
  ASSERT_TRUE(wait_until([&] { return readings() > 0; }, seconds(120), milliseconds(250))) << serve.log();

  for (pid_t stopped : {s3->pid(), kafka->pid()}) {
    ASSERT_EQ(::kill(stopped, SIGSTOP), 0);
    std::this_thread::sleep_for(seconds(15));  // longer than every timeout: requests fail and are retried
    ASSERT_EQ(::kill(stopped, SIGCONT), 0);
    const int64_t before = readings();
    EXPECT_TRUE(wait_until([&] { return readings() > before; }, seconds(90), milliseconds(250)))
        << "no new readings after the outage healed\n" << serve.log();
    EXPECT_EQ(serve.get("/api/health").first, 200);
  }
  EXPECT_EQ(produce->stop(SIGINT, 30000), 0);
  std::ifstream in(dir.path() / "produce.log");
  std::string out((std::istreambuf_iterator<char>(in)), {});
  const auto at = out.find("produced ");
  ASSERT_NE(at, std::string::npos) << out;
  const int64_t sent = std::stoll(out.substr(at + 9));
  EXPECT_TRUE(wait_until([&] { return readings() == sent; }, seconds(120), milliseconds(250)))
      << readings() << " of " << sent << " readings in the fact table\n" << serve.log();
  auto sql = [&](const std::string& q) {
    auto r = run_hrflow({"-c", cfg, "query", "--format", "csv", "--sql", q});
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return r.output.substr(r.output.find('\n') + 1, r.output.find('\n', r.output.find('\n') + 1) - r.output.find('\n') - 1);
  };
  EXPECT_EQ(sql("SELECT count(*) FROM raw.heart_rate_stream"), std::to_string(sent));
  EXPECT_EQ(sql("SELECT count(*) FROM (SELECT DISTINCT user_id, \"timestamp\" FROM raw.heart_rate_stream)"),
            std::to_string(sent));
  EXPECT_EQ(serve.process().stop(SIGTERM, 30000), 0) << serve.log();
}

// A lake the sink cannot write (a file where its folder should be) ends the sink with an error that
// retrying at once cannot fix; serve restarts the sink with backoff until the lake works again, and
// then every record arrives exactly once, without restarting serve.
TEST(ServeSink, RestartsAFailedSinkUntilTheLakeWorksAgain) {
  TempDir dir;
  const auto lake = dir.path() / "lake";
  std::filesystem::create_directories(lake);
  std::ofstream(lake / "topics") << "a file where the lake's folder should be\n";
  std::ofstream(dir.path() / "hrflow.yml") << "state_dir: " << (dir.path() / ".hrflow").string() << "\n"
                                           << "lake:\n  url: file://" << lake.string() << "\n"
                                           << "sink:\n  idle_timeout: 1s\n";
  const std::string cfg = (dir.path() / "hrflow.yml").string();
  auto produced = run_hrflow({"-c", cfg, "produce", "--users", "sample:3", "--from", "2026-01-01", "--to",
                              "2026-01-01T00:20", "--quiet"});
  ASSERT_EQ(produced.exit_code, 0) << produced.output;
  const auto at = produced.output.find("produced ");
  ASSERT_NE(at, std::string::npos) << produced.output;
  const int64_t sent = std::stoll(produced.output.substr(at + 9));
  ASSERT_GT(sent, 0);

  ServeProcess serve(dir.path());
  ASSERT_TRUE(serve.ready()) << serve.log();
  auto restarts = [&]() -> int64_t {
    auto [code, body] = serve.get("/metrics");
    auto p = body.find("\nhrflow_sink_restarts_total ");
    return code == 200 && p != std::string::npos ? std::stoll(body.substr(p + 28)) : -1;
  };
  ASSERT_TRUE(wait_until([&] { return restarts() >= 1; }, seconds(30))) << serve.log();
  EXPECT_NE(serve.log().find("restarting the sink service"), std::string::npos) << serve.log();
  for (const auto& a : serve.assets()) {  // the service's state is in the asset graph (and the UI) too
    if (a["key"] != "lake") continue;
    EXPECT_GE(a["service"]["restarts"].get<int64_t>(), 1) << a.dump();
    EXPECT_FALSE(a["service"].value("last_error", "").empty()) << a.dump();
  }

  std::filesystem::remove(lake / "topics");  // the lake works again
  auto lines_in_lake = [&] {
    int64_t n = 0;
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(lake / "topics", ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->path().extension() != ".json") continue;
      std::ifstream in(it->path());
      for (std::string line; std::getline(in, line);) n += !line.empty();
    }
    return n;
  };
  EXPECT_TRUE(wait_until([&] { return lines_in_lake() >= sent; }, seconds(90), milliseconds(250))) << serve.log();
  EXPECT_EQ(serve.process().stop(SIGTERM, 30000), 0) << serve.log();
  EXPECT_EQ(lines_in_lake(), sent) << "every record exactly once";
}

}  // namespace
}  // namespace hrflow::testing
