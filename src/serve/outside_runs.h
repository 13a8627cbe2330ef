// Materializations done outside `hrflow serve` (`hrflow sync`, `hrflow build`, so also `hrflow demo`)
// are recorded in serve's run history and automation state, so that a serve started later begins from
// what is already built instead of rebuilding everything as "never materialized". Only called when no
// serve is running (otherwise the commands hand their work to it).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/status.h"
#include "serve/automation.h"

namespace hrflow::serve {

struct OutsideRun {
  std::string asset;  // "raw.users", "serving.fct_heart_rates"
  RunOutcome outcome = RunOutcome::kSucceeded;
  bool changed = true;  // false: the run left the asset as it was (its version stays)
  int64_t rows = 0;
  std::string error;
};

// `command` names the trigger shown in the history ("hrflow build"). Assets the project graph does not
// know are ignored. `lake_data_ms`: the lake's newest data as serve observes it (LakeObserver), taken
// before the sync listed the lake; it is recorded first, so raw.heart_rate_stream counts as holding it.
Status record_outside_runs(const Config& config, const std::string& command, const std::vector<OutsideRun>& runs,
                           std::optional<int64_t> lake_data_ms = std::nullopt);

}  // namespace hrflow::serve
