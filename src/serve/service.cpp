#include "serve/service.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "common/state.h"
#include "common/backoff.h"
#include "lake/sink_runner.h"
#include "query/dashboard.h"
#include "serve/history.h"
#include "serve/pipeline.h"
#include "serve/web_assets.h"
#include "sql/server.h"

namespace hrflow::serve {

namespace fs = std::filesystem;

bool is_loopback(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  in_addr a{};
  return inet_pton(AF_INET, host.c_str(), &a) == 1 && (ntohl(a.s_addr) >> 24) == 127;
}

namespace {

nlohmann::json policy_json(const AssetSpec& spec) {
  nlohmann::json p = {{"describe", spec.policy.describe()}, {"eager", spec.policy.eager}};
  if (spec.policy.cron) p["cron"] = spec.policy.cron->expression();
  if (spec.policy.freshness) p["maximum_lag_ms"] = spec.policy.freshness->maximum_lag_ms;
  return p;
}

std::string prom_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

// How a failed service (the sink) is restarted: after 1 s, doubling up to a minute, with jitter.
constexpr BackoffPolicy kServiceRestartPolicy{1'000, 60'000};
constexpr int64_t kObserveEveryMs = 1'000;

class ServiceImpl final : public Service {
 public:
  ServiceImpl(const Config& config, ServeOptions options) : config_(config), options_(std::move(options)) {}

  Status init() {
    layout_ = StateLayout::from(config_);
    if (!is_loopback(options_.host) && options_.token.empty()) {
      return invalid_argument(
          "serving on {} (beyond loopback) needs an access token: set HRFLOW_SERVE_TOKEN (serve.token)", options_.host);
    }
    HRFLOW_ASSIGN_OR_RETURN(auto database, open_warehouse(config_));
    db_ = std::make_unique<db::Database>(std::move(database));
    HRFLOW_ASSIGN_OR_RETURN(pipeline_, make_warehouse_pipeline(config_, *db_));
    HRFLOW_ASSIGN_OR_RETURN(auto specs, pipeline_->assets());
    const Clock& clock = SystemClock::instance();
    HRFLOW_ASSIGN_OR_RETURN(auto engine, AutomationEngine::create(std::move(specs), clock));
    engine_ = std::make_unique<AutomationEngine>(std::move(engine));
    HRFLOW_ASSIGN_OR_RETURN(history_, RunHistory::open(layout_.runs_dir, clock.now_ms(),
                                                       config_.get_duration_ms("serve.history_retention")));
    if (auto snap = history_->load_automation()) engine_->restore(*snap);
    for (const auto& r : history_->interrupted()) {
      if (engine_->find(r.asset)) {
        spdlog::warn("run {} of {} was interrupted by the last shutdown; retrying it", r.id, r.asset);
        engine_->interrupted(r.asset);
      }
    }
    // The research dashboard reads the warehouse this process owns (its own connection per request).
    const std::string project = config_.get_string("transform.project_dir");
    auto layer = query::SemanticLayer::for_project(project.empty() ? fs::path() : config_.get_path("transform.project_dir"));
    if (layer.ok()) {
      auto dashboard = query::Dashboard::create(*db_, std::move(layer).value(), config_.get_int("query.min_cell_users"));
      if (dashboard.ok()) dashboard_ = std::make_unique<query::Dashboard>(std::move(dashboard).value());
    }
    if (!dashboard_) spdlog::warn("the dashboard is not served: {}", layer.ok() ? "it could not start" : layer.error().message);
    HRFLOW_TRY(start_sql_endpoint());
    setup_http();
    if (!http_.bind_to_port(options_.host, options_.port)) {
      return make_error(ErrorKind::kUnavailable, "cannot listen on {}:{} (in use?); choose another with --port",
                        options_.host, options_.port);
    }
    HRFLOW_TRY(write_address_file());
    http_thread_ = std::thread([this] { http_.listen_after_bind(); });
    if (config_.get_bool("serve.sink")) {
      sink_up_ = true;
      sink_ = std::thread([this] { run_sink_service(); });
    }
    worker_ = std::thread([this] { work(); });
    loop_ = std::thread([this] { automate(); });
    return {};
  }

  ~ServiceImpl() override { shutdown(); }

  std::string url() const override { return fmt::format("http://{}:{}", options_.host, options_.port); }
  std::string sql_url() const override {
    return sql_ ? fmt::format("postgresql://{}:{}/warehouse", config_.get_string("serve.sql.host"), sql_->port()) : "";
  }

  void run_until_stopped() override {
    std::unique_lock lock(mu_);
    while (!stopping_ && !options_.stop.stop_requested()) cv_.wait_for(lock, std::chrono::milliseconds(200));
    lock.unlock();
    shutdown();
  }

  void stop() override {
    std::lock_guard lock(mu_);
    stopping_ = true;
    cv_.notify_all();
  }

 private:
  struct Launch {
    Decision decision;
    int64_t run_id;
  };

  void shutdown() {
    {
      std::lock_guard lock(mu_);
      if (shut_down_) return;
      shut_down_ = stopping_ = true;
      cv_.notify_all();
    }
    run_stop_ = true;   // the current run ends at its next safe point (what it committed stays)
    if (sql_) sql_->stop();  // clients are disconnected, running statements interrupted
    sink_stop_ = true;  // the sink closes its open files and commits before it returns
    if (sink_.joinable()) sink_.join();
    http_.stop();
    if (http_thread_.joinable()) http_thread_.join();
    if (loop_.joinable()) loop_.join();
    if (worker_.joinable()) worker_.join();  // the current run finishes; queued runs stay undone
    std::lock_guard lock(mu_);
    if (!history_ || !engine_) return;  // init() failed before anything ran
    // Queued runs that never started are recorded as interrupted so that a restart retries them.
    for (const auto& l : queue_) {
      (void)history_->end_run(l.run_id, RunOutcome::kInterrupted, SystemClock::instance().now_ms(), 0,
                              "not started: hrflow serve was stopped", "");
    }
    (void)history_->save_automation(engine_->snapshot());
    std::error_code ec;
    if (address_written_) fs::remove(layout_.state_dir / "serve.json", ec);
  }

  Status write_address_file() {
    nlohmann::json j = {{"pid", ::getpid()}, {"host", options_.host}, {"port", options_.port},
                        {"sql_port", sql_ ? sql_->port() : 0}};
    fs::path tmp = layout_.state_dir / "serve.json.tmp";
    std::ofstream(tmp) << j.dump() << "\n";
    std::error_code ec;
    fs::rename(tmp, layout_.state_dir / "serve.json", ec);
    if (ec) return io_error("cannot write {}: {}", (layout_.state_dir / "serve.json").string(), ec.message());
    address_written_ = true;
    return {};
  }

  // The PostgreSQL-protocol endpoint (serve.sql.*) on this process's database. First DuckDB's external
  // access is closed for the whole database (it cannot be reopened while it runs): SQL from clients
  // then cannot read or write files, attach databases or load extensions; the pipeline's own file
  // reads (seed CSVs) stay allowed by directory.
  Status start_sql_endpoint() {
    int64_t port = config_.get_int("serve.sql.port");
    if (port == 0) return {};
    HRFLOW_TRY(sql::restrict_file_access(*db_, pipeline_->directories_read()));
    sql::ServerOptions o;
    o.host = config_.get_string("serve.sql.host");
    o.port = static_cast<int>(port);
    o.users = config_.get_map("serve.sql.users");
    o.token = options_.token;
    o.tls_cert = config_.get_string("serve.sql.tls_cert");
    o.tls_key = config_.get_string("serve.sql.tls_key");
    o.statement_timeout_ms = config_.get_duration_ms("serve.sql.statement_timeout");
    o.max_connections = static_cast<int>(config_.get_int("serve.sql.max_connections"));
    auto server = sql::Server::start(*db_, o);
    if (!server.ok()) {
      // A busy port does not stop the pipeline; a configuration that is unsafe does.
      if (server.error().kind != ErrorKind::kUnavailable) return server.error();
      spdlog::error("{}; hrflow serve runs without it", server.error().message);
      return {};
    }
    sql_ = std::move(server).value();
    spdlog::info("SQL endpoint (PostgreSQL protocol) at postgresql://{}:{}/warehouse", o.host, sql_->port());
    return {};
  }

  // The sink as a supervised service: stream -> lake until hrflow serve stops. The sink retries
  // temporary failures itself; an error it gives up on restarts it after a backoff, so the lake heals
  // without restarting serve. The automation loop sees its new files by observing the lake.
  void run_sink_service() {
    lake::SinkRunOptions o;
    o.records = &sink_records_;
    o.files = &sink_files_;
    o.max_file_age_ms = config_.get_duration_ms("serve.sink_max_file_age");
    const StopToken stop = StopToken::from_flag(sink_stop_);
    Backoff restart(kServiceRestartPolicy);
    spdlog::info("sink: running inside hrflow serve (serve.sink)");
    while (!stop.stop_requested()) {
      sink_up_ = true;
      auto r = lake::run_sink(config_, o, stop);
      sink_up_ = false;
      if (r.ok()) break;
      sink_restarts_++;
      {
        std::lock_guard lock(sink_error_mu_);
        sink_error_ = r.error().message;
      }
      spdlog::error("sink: {}; restarting the sink service (restart {})", r.error().message, sink_restarts_.load());
      if (!restart.wait(stop)) break;
    }
  }

  // The automation loop. Sources are observed once a second (a few small objects, see LakeObserver),
  // and the sink running in this process reports each round of files it stored at once.
  void automate() {
    std::unique_lock lock(mu_);
    std::map<std::string, std::optional<int64_t>> seen;  // newest data already made a version
    std::vector<std::string> sources;
    for (const auto& a : engine_->assets()) {
      if (a.source) sources.push_back(a.key);
      if (a.source) seen[a.key] = engine_->newest_data_time(a.key);
    }
    int64_t observed_at = 0;
    uint64_t sink_files = 0;
    while (!stopping_) {
      const int64_t now = SystemClock::instance().now_ms();
      if (now - observed_at >= kObserveEveryMs) {
        observed_at = now;
        lock.unlock();
        std::map<std::string, std::optional<int64_t>> observed;
        for (const auto& s : sources) observed[s] = pipeline_->observe(s);
        lock.lock();
        for (const auto& [key, t] : observed) {
          if (t && (!seen[key] || *t > *seen[key])) {
            engine_->observe_source(key, *t);
            seen[key] = t;
          }
        }
      }
      if (uint64_t files = sink_files_.load(std::memory_order_acquire); files != sink_files) {
        sink_files = files;
        if (files > 0 && engine_->find("lake")) {
          engine_->observe_source("lake", now);
          seen["lake"] = std::max(seen["lake"].value_or(now), now);
        }
      }
      auto decisions = engine_->tick();
      if (auto st = history_->record_decisions(decisions); !st.ok()) spdlog::error("{}", st.error().message);
      for (const auto& d : decisions) {
        if (!d.launch) continue;
        auto id = history_->start_run(d);
        if (!id.ok()) {
          spdlog::error("{}", id.error().message);
          engine_->finished(d.asset, RunOutcome::kFailed, id.error());
          continue;
        }
        queue_.push_back({d, *id});
      }
      if (!decisions.empty()) {
        (void)history_->save_automation(engine_->snapshot());
        cv_.notify_all();
      }
      cv_.wait_for(lock, std::chrono::milliseconds(options_.tick_ms));
    }
  }

  // The worker: one run at a time, in launch order.
  void work() {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (stopping_) return;
      Launch l = queue_.front();
      queue_.pop_front();
      current_ = l.decision.asset;
      lock.unlock();
      RunContext ctx{l.run_id, [&](const std::string& line) { history_->append_log(l.run_id, line); },
                     StopToken::from_flag(run_stop_)};
      spdlog::info("run {}: {} ({}: {})", l.run_id, l.decision.asset, l.decision.trigger, l.decision.reason);
      RunReport report = pipeline_->materialize(l.decision.asset, ctx);
      if (report.outcome == RunOutcome::kSucceeded && !report.changed) {
        ctx.log("no new data: the asset's version is kept and its downstream does not run");
      }
      int64_t now = SystemClock::instance().now_ms();
      lock.lock();
      current_.clear();
      std::string error = report.error ? report.error->message : "";
      if (auto st = history_->end_run(l.run_id, report.outcome, now, report.rows, error, ""); !st.ok()) {
        spdlog::error("{}", st.error().message);
      }
      engine_->finished(l.decision.asset, report.outcome, report.error, report.changed);
      auto& m = metrics_[l.decision.asset];
      m.runs[outcome_name(report.outcome)]++;
      m.last_duration_ms = now - l.decision.at_ms;
      m.rows += report.rows;
      m.busy_ms += now - l.decision.at_ms;
      (void)history_->save_automation(engine_->snapshot());
      cv_.notify_all();
    }
  }

  bool authorized(const httplib::Request& req) const {
    if (options_.token.empty()) return true;
    std::string auth = req.get_header_value("Authorization");
    if (auth == "Bearer " + options_.token) return true;
    if (req.has_param("token") && req.get_param_value("token") == options_.token) return true;
    // The dashboard's page loads its scripts and calls its API without our header: a same-site cookie
    // set when the token was given in the URL carries it.
    std::string cookies = req.get_header_value("Cookie");
    std::string want = "hrflow_token=" + options_.token;
    for (size_t at = cookies.find(want); at != std::string::npos; at = cookies.find(want, at + 1)) {
      bool starts = at == 0 || cookies[at - 1] == ' ' || cookies[at - 1] == ';';
      bool ends = at + want.size() == cookies.size() || cookies[at + want.size()] == ';';
      if (starts && ends) return true;
    }
    return false;
  }

  nlohmann::json assets_json() {
    std::lock_guard lock(mu_);
    nlohmann::json out = nlohmann::json::array();
    for (const auto& a : engine_->assets()) {
      auto st = engine_->status(a.key);
      nlohmann::json j = {{"key", a.key},
                          {"group", group_name(a.group)},
                          {"deps", a.deps},
                          {"source", a.source},
                          {"description", a.description},
                          {"policy", policy_json(a)},
                          {"state", state_name(st.state)},
                          {"why", st.why},
                          {"lag_ms", st.lag_ms},
                          {"last_success_ms", st.last_success_ms}};
      if (st.next_cron_ms) j["next_cron_ms"] = *st.next_cron_ms;
      if (st.next_deadline_ms) j["next_deadline_ms"] = *st.next_deadline_ms;
      if (a.key == "lake") j["service"] = sink_service_json();
      out.push_back(j);
    }
    return out;
  }

  // The sink service that feeds the lake: running or waiting to be restarted, and why.
  nlohmann::json sink_service_json() {
    if (!config_.get_bool("serve.sink")) return {{"name", "sink"}, {"state", "not run by serve (serve.sink: false)"}};
    std::lock_guard lock(sink_error_mu_);
    nlohmann::json j = {{"name", "sink"},
                        {"state", sink_up_.load() ? "running" : "restarting"},
                        {"restarts", sink_restarts_.load()},
                        {"records", sink_records_.load()}};
    if (!sink_error_.empty()) j["last_error"] = sink_error_;
    return j;
  }

  std::string metrics_text() {
    std::string out;
    auto assets = assets_json();
    out += "# HELP hrflow_asset_lag_seconds How far an asset is behind the newest upstream data.\n"
           "# TYPE hrflow_asset_lag_seconds gauge\n";
    for (const auto& a : assets) {
      out += fmt::format("hrflow_asset_lag_seconds{{asset=\"{}\"}} {:.3f}\n", prom_escape(a["key"]),
                         a["lag_ms"].get<int64_t>() / 1000.0);
    }
    out += "# HELP hrflow_asset_up_to_date 1 when the asset is fresh.\n# TYPE hrflow_asset_up_to_date gauge\n";
    for (const auto& a : assets) {
      out += fmt::format("hrflow_asset_up_to_date{{asset=\"{}\"}} {}\n", prom_escape(a["key"]),
                         a["state"] == "fresh" ? 1 : 0);
    }
    std::lock_guard lock(mu_);
    out += "# HELP hrflow_runs_total Runs ended since start, by outcome.\n# TYPE hrflow_runs_total counter\n";
    for (const auto& [asset, m] : metrics_) {
      for (const auto& [outcome, n] : m.runs) {
        out += fmt::format("hrflow_runs_total{{asset=\"{}\",outcome=\"{}\"}} {}\n", prom_escape(asset), outcome, n);
      }
    }
    out += "# HELP hrflow_run_failures_total Failed runs since start.\n# TYPE hrflow_run_failures_total counter\n";
    for (const auto& [asset, m] : metrics_) {
      int64_t failed = 0;
      for (const auto& [outcome, n] : m.runs) {
        if (outcome != "succeeded") failed += n;
      }
      out += fmt::format("hrflow_run_failures_total{{asset=\"{}\"}} {}\n", prom_escape(asset), failed);
    }
    out += "# HELP hrflow_run_duration_seconds Duration of the last run.\n# TYPE hrflow_run_duration_seconds gauge\n";
    for (const auto& [asset, m] : metrics_) {
      out += fmt::format("hrflow_run_duration_seconds{{asset=\"{}\"}} {:.3f}\n", prom_escape(asset),
                         m.last_duration_ms / 1000.0);
    }
    out += "# HELP hrflow_records_per_second Rows written per second of run time, per asset.\n"
           "# TYPE hrflow_records_per_second gauge\n";
    for (const auto& [asset, m] : metrics_) {
      out += fmt::format("hrflow_records_per_second{{asset=\"{}\"}} {:.1f}\n", prom_escape(asset),
                         m.busy_ms > 0 ? m.rows * 1000.0 / m.busy_ms : 0.0);
    }
    if (config_.get_bool("serve.sink")) {
      out += "# HELP hrflow_sink_up 1 while the sink service of hrflow serve is running.\n"
             "# TYPE hrflow_sink_up gauge\n";
      out += fmt::format("hrflow_sink_up {}\n", sink_up_.load() ? 1 : 0);
      out += "# HELP hrflow_sink_records_total Records the sink service wrote to the lake since start.\n"
             "# TYPE hrflow_sink_records_total counter\n";
      out += fmt::format("hrflow_sink_records_total {}\n", sink_records_.load());
      out += "# HELP hrflow_sink_restarts_total Times the sink service was restarted after an error.\n"
             "# TYPE hrflow_sink_restarts_total counter\n";
      out += fmt::format("hrflow_sink_restarts_total {}\n", sink_restarts_.load());
    }
    out += pipeline_->metrics();
    return out;
  }

  void setup_http() {
    auto json_reply = [](httplib::Response& res, const nlohmann::json& j, int status = 200) {
      res.status = status;
      res.set_content(j.dump(), "application/json");
    };
    http_.set_pre_routing_handler([this, json_reply](const httplib::Request& req, httplib::Response& res) {
      // Only what is ours: no path traversal, no foreign Host (DNS rebinding), the token when set.
      if (req.path.find("..") != std::string::npos || req.path.find("//") != std::string::npos ||
          req.path.find('\\') != std::string::npos || req.target.find("%2e") != std::string::npos ||
          req.target.find("%2E") != std::string::npos) {
        json_reply(res, {{"error", "path not allowed"}}, 400);
        return httplib::Server::HandlerResponse::Handled;
      }
      if (!authorized(req)) {
        res.set_header("WWW-Authenticate", "Bearer");
        json_reply(res, {{"error", "an access token is required (Authorization: Bearer <serve.token>)"}}, 401);
        return httplib::Server::HandlerResponse::Handled;
      }
      return httplib::Server::HandlerResponse::Unhandled;
    });
    http_.set_post_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      if (!options_.token.empty() && req.has_param("token") && req.get_param_value("token") == options_.token) {
        res.set_header("Set-Cookie", "hrflow_token=" + options_.token + "; Path=/; HttpOnly; SameSite=Strict");
      }
      res.set_header("X-Content-Type-Options", "nosniff");
      res.set_header("Cache-Control", "no-store");
    });
    for (const auto& asset : web_files().files) {
      std::string path = asset.path == "index.html" ? "/" : "/" + std::string(asset.path);
      http_.Get(path, [asset](const httplib::Request&, httplib::Response& res) {
        res.set_content(std::string(asset.bytes), std::string(content_type_of(asset.path)));
      });
    }
    http_.Get("/api/health", [json_reply](const httplib::Request&, httplib::Response& res) {
      json_reply(res, {{"ok", true}, {"pid", ::getpid()}});
    });
    http_.Get("/api/assets", [this, json_reply](const httplib::Request&, httplib::Response& res) {
      json_reply(res, assets_json());
    });
    http_.Get("/api/runs", [this, json_reply](const httplib::Request& req, httplib::Response& res) {
      size_t limit = req.has_param("limit") ? std::stoul(req.get_param_value("limit")) : 100;
      nlohmann::json out = nlohmann::json::array();
      for (const auto& r : history_->runs(limit, req.get_param_value("asset"))) out.push_back(r.to_json(false));
      json_reply(res, out);
    });
    http_.Get(R"(/api/runs/(\d+))", [this, json_reply](const httplib::Request& req, httplib::Response& res) {
      auto r = history_->run(std::stoll(req.matches[1]));
      if (!r) return json_reply(res, {{"error", "no such run"}}, 404);
      json_reply(res, r->to_json(true));
    });
    http_.Get("/api/decisions", [this, json_reply](const httplib::Request& req, httplib::Response& res) {
      size_t limit = req.has_param("limit") ? std::stoul(req.get_param_value("limit")) : 200;
      nlohmann::json out = nlohmann::json::array();
      for (const auto& d : history_->decisions(limit, req.get_param_value("asset"))) out.push_back(decision_json(d));
      json_reply(res, out);
    });
    http_.Post("/api/materialize", [this, json_reply](const httplib::Request& req, httplib::Response& res) {
      auto body = nlohmann::json::parse(req.body, nullptr, false);
      if (body.is_discarded() || !body.is_object() || !body.contains("assets") || !body["assets"].is_array()) {
        return json_reply(res, {{"error", R"(expected {"assets": ["<key>", ...], "upstream": false})"}}, 400);
      }
      bool upstream = body.value("upstream", false);
      std::lock_guard lock(mu_);
      nlohmann::json planned = nlohmann::json::array();
      for (const auto& a : body["assets"]) {
        if (!a.is_string()) return json_reply(res, {{"error", "asset keys are strings"}}, 400);
        auto r = engine_->request(a.get<std::string>(), upstream);
        if (!r.ok()) return json_reply(res, {{"error", r.error().message}}, r.error().kind == ErrorKind::kNotFound ? 404 : 400);
        for (const auto& k : *r) planned.push_back(k);
      }
      cv_.notify_all();
      json_reply(res, {{"planned", planned}, {"requested_ms", SystemClock::instance().now_ms()}});
    });
    if (dashboard_) dashboard_->mount(http_);
    http_.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(metrics_text(), "text/plain; version=0.0.4");
    });
    http_.set_error_handler([json_reply](const httplib::Request&, httplib::Response& res) {
      if (res.status == 404) json_reply(res, {{"error", "not found"}}, 404);
    });
  }

  struct AssetMetrics {
    std::map<std::string, int64_t> runs;
    int64_t last_duration_ms = 0, rows = 0, busy_ms = 0;
  };

  const Config& config_;
  ServeOptions options_;
  StateLayout layout_;
  std::unique_ptr<db::Database> db_;
  std::unique_ptr<Pipeline> pipeline_;
  std::unique_ptr<query::Dashboard> dashboard_;
  std::unique_ptr<sql::Server> sql_;
  std::unique_ptr<AutomationEngine> engine_;
  std::unique_ptr<RunHistory> history_;
  httplib::Server http_;
  std::thread http_thread_, worker_, loop_, sink_;
  std::atomic<bool> sink_stop_{false}, sink_up_{false}, run_stop_{false};
  std::atomic<uint64_t> sink_records_{0}, sink_restarts_{0};
  std::atomic<uint64_t> sink_files_{0};  // files the sink service stored (in its current run)
  std::mutex sink_error_mu_;
  std::string sink_error_;  // the last error that restarted the sink
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Launch> queue_;
  std::string current_;
  std::map<std::string, AssetMetrics> metrics_;
  bool stopping_ = false, shut_down_ = false, address_written_ = false;
};

}  // namespace

Result<std::unique_ptr<Service>> Service::start(const Config& config, ServeOptions options) {
  auto s = std::make_unique<ServiceImpl>(config, std::move(options));
  HRFLOW_TRY(s->init());
  return std::unique_ptr<Service>(std::move(s));
}

}  // namespace hrflow::serve
