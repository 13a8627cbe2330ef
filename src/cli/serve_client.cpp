#include "cli/serve_client.h"

#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <thread>

#include "cli/cli.h"
#include "common/state.h"

namespace hrflow::serve {

std::optional<ServeEndpoint> find_running_serve(const Config& config) {
  auto path = StateLayout::from(config).state_dir / "serve.json";
  std::ifstream in(path);
  if (!in) return std::nullopt;
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  ServeEndpoint e{j.value("host", "127.0.0.1"), j.value("port", 0), j.value("pid", 0), config.get_string("serve.token"),
                  j.value("sql_port", 0)};
  if (e.pid <= 0 || ::kill(e.pid, 0) != 0) return std::nullopt;  // a stale file of a killed serve
  if (!call_serve(e, "/api/health", std::nullopt, 2).ok()) return std::nullopt;
  return e;
}

Result<nlohmann::json> call_serve(const ServeEndpoint& e, const std::string& path,
                                  const std::optional<nlohmann::json>& body, int timeout_s) {
  std::string host = e.host == "0.0.0.0" ? "127.0.0.1" : e.host;
  httplib::Client client(host, e.port);
  client.set_connection_timeout(timeout_s);
  client.set_read_timeout(timeout_s);
  httplib::Headers headers;
  if (!e.token.empty()) headers.emplace("Authorization", "Bearer " + e.token);
  auto res = body ? client.Post(path, headers, body->dump(), "application/json") : client.Get(path, headers);
  if (!res) {
    return make_error(ErrorKind::kUnavailable, "hrflow serve at {}:{} did not answer {}: {}", host, e.port, path,
                      httplib::to_string(res.error()));
  }
  auto j = nlohmann::json::parse(res->body, nullptr, false);
  if (res->status != 200) {
    std::string msg = !j.is_discarded() && j.is_object() ? j.value("error", res->body) : res->body;
    return invalid_argument("hrflow serve refused {}: {} (HTTP {})", path, msg, res->status);
  }
  if (j.is_discarded()) return corrupt("hrflow serve answered {} with something that is not JSON", path);
  return j;
}

int handoff_materialize(const ServeEndpoint& e, const std::vector<std::string>& assets, bool with_upstream) {
  std::printf("hrflow serve (pid %d) owns the warehouse: handing the work to it\n", e.pid);
  auto planned = call_serve(e, "/api/materialize", nlohmann::json{{"assets", assets}, {"upstream", with_upstream}});
  if (!planned.ok()) return report_error(planned.error());
  int64_t since = (*planned)["requested_ms"];
  std::set<std::string> waiting;
  for (const auto& k : (*planned)["planned"]) waiting.insert(k.get<std::string>());
  bool failed = false;
  std::set<int64_t> reported;
  while (!waiting.empty()) {
    if (stop_requested()) return kExitInterrupted;
    auto runs = call_serve(e, "/api/runs?limit=500");
    if (!runs.ok()) return report_error(runs.error());
    for (const auto& r : *runs) {
      if (r["started_ms"].get<int64_t>() < since || r["outcome"] == "running" || reported.count(r["id"])) continue;
      std::string asset = r["asset"];
      if (!waiting.count(asset)) continue;
      reported.insert(r["id"].get<int64_t>());
      waiting.erase(asset);
      std::string outcome = r["outcome"];
      failed |= outcome != "succeeded";
      std::printf("  %-32s %-12s %s\n", asset.c_str(), outcome.c_str(), r["error"].get<std::string>().c_str());
    }
    // Requests skipped because an upstream failed never start a run.
    auto decisions = call_serve(e, "/api/decisions?limit=500");
    if (decisions.ok()) {
      for (const auto& d : *decisions) {
        std::string asset = d["asset"];
        if (d["at_ms"].get<int64_t>() >= since && !d["launch"].get<bool>() && waiting.count(asset) &&
            d["reason"].get<std::string>().rfind("requested run skipped", 0) == 0) {
          waiting.erase(asset);
          failed = true;
          std::printf("  %-32s %-12s %s\n", asset.c_str(), "skipped", d["reason"].get<std::string>().c_str());
        }
      }
    }
    if (!waiting.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return failed ? kExitFailure : kExitOk;
}

}  // namespace hrflow::serve
