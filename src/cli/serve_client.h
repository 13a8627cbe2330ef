// Talking to a running `hrflow serve` from other commands: find it through {state_dir}/serve.json
// (pid alive and answering), and call its JSON API. `hrflow sync` and `hrflow build` use this to hand
// their work to the process that owns the warehouse instead of failing on its file lock.
// Thread-safety: free functions, no shared state.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/status.h"

namespace hrflow::serve {

struct ServeEndpoint {
  std::string host;
  int port = 0;
  int pid = 0;
  std::string token;
  int sql_port = 0;  // the PostgreSQL-protocol endpoint, 0 when serve runs without one
};

// The running serve of this state directory, if any.
std::optional<ServeEndpoint> find_running_serve(const Config& config);
// GET (body empty) or POST (body given) `path`, returning the parsed JSON answer.
Result<nlohmann::json> call_serve(const ServeEndpoint& endpoint, const std::string& path,
                                  const std::optional<nlohmann::json>& body = std::nullopt, int timeout_s = 10);
// Materialize `assets` (with their upstream when asked) through the running serve and wait for the
// runs to end; prints their outcomes. Returns the exit code for the calling command.
int handoff_materialize(const ServeEndpoint& endpoint, const std::vector<std::string>& assets, bool with_upstream);

}  // namespace hrflow::serve
