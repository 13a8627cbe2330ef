// Star schemas shaped like the warehouse's serving layer (serving.fct_heart_rates, dim_users type 2,
// dim_activities, dim_dates, dim_times, and the staging.country_regions seed), for the query tests
// and the dashboard benchmark when no pipeline run is at hand:
//   - create_tiny_star_schema: a dozen hand-made readings whose answers are known by heart;
//   - create_synthetic_star_schema: any number of users x days x readings with planted effects
//     (activity intensity, seasons by hemisphere, a night dip, regional schedules), built by DuckDB.
// The column names and types follow warehouse/models/serving (a test of hrflow build's real output
// belongs to the end-to-end pipeline test).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/duckdb.h"
#include "common/status.h"
#include "query/semantic_layer.h"

namespace hrflow::query::testing {

// The seed's CSV in the source tree, loaded as `hrflow build` loads seeds (schema staging).
Status load_country_regions(db::Connection& conn);
Status create_tiny_star_schema(db::Connection& conn);

struct SyntheticOptions {
  int users = 200;
  int days = 60;
  int readings_per_day = 48;
  int64_t first_day = 19723;  // days since 1970-01-01 (2024-01-01)
};
Status create_synthetic_star_schema(db::Connection& conn, const SyntheticOptions& options);

// The requests web/dashboard/src/app.js sends with no filter set, one per chart.
struct NamedRequest {
  std::string name;
  Request request;
};
std::vector<NamedRequest> dashboard_requests();

// Build (or bring up to date) the warehouse project's rollups over the star schema, with the project's
// own models (warehouse/models/serving/agg_heart_rates_*.sql), as `hrflow run -s ...` does.
Status build_rollups(db::Connection& conn, bool full_refresh = false);

}  // namespace hrflow::query::testing
