#include "serve/outside_runs.h"

#include "common/clock.h"
#include "common/state.h"
#include "serve/history.h"
#include "serve/pipeline.h"
#include "transform/project.h"

namespace hrflow::serve {

Status record_outside_runs(const Config& config, const std::string& command, const std::vector<OutsideRun>& runs,
                           std::optional<int64_t> lake_data_ms) {
  if (runs.empty()) return {};
  const auto layout = StateLayout::from(config);
  HRFLOW_ASSIGN_OR_RETURN(auto project_dir, transform::resolve_project_dir(config, ""));
  HRFLOW_ASSIGN_OR_RETURN(auto specs, read_project_graph(project_dir));
  const Clock& clock = SystemClock::instance();
  HRFLOW_ASSIGN_OR_RETURN(auto engine, AutomationEngine::create(std::move(specs), clock));
  HRFLOW_ASSIGN_OR_RETURN(auto history, RunHistory::open(layout.runs_dir, clock.now_ms(),
                                                         config.get_duration_ms("serve.history_retention")));
  if (auto snapshot = history->load_automation()) engine.restore(*snapshot);
  if (lake_data_ms && engine.find("lake")) {
    auto known = engine.newest_data_time("lake");
    if (!known || *lake_data_ms > *known) engine.observe_source("lake", *lake_data_ms);
  }
  for (const auto& r : runs) {
    if (!engine.find(r.asset) || engine.find(r.asset)->source) continue;
    Decision d{clock.now_ms(), r.asset, true, command, "run outside hrflow serve", 1};
    HRFLOW_ASSIGN_OR_RETURN(int64_t id, history->start_run(d));
    HRFLOW_TRY(history->end_run(id, r.outcome, clock.now_ms(), r.rows, r.error,
                                r.changed ? "" : "no new data: the asset's version is kept"));
    engine.materialized_outside(r.asset, r.outcome, r.changed);
  }
  return history->save_automation(engine.snapshot());
}

}  // namespace hrflow::serve
