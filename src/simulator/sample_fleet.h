// A synthetic fleet built in code: users spread over the 14 countries of the operational source
// (capital or large-city homes, ages 18-100, both sexes), the 23 activities with their MET, accounts
// open for the whole period. For `hrflow bench formats`, `hrflow produce --users sample:N` and tests,
// when no operational database is at hand; the real fleet comes from src/oltp.
//
// Pure function; thread-safe.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "common/fleet.h"

namespace hrflow::sim {

// The standard activities (ids 20001.. in the original's order) with Compendium METs.
std::vector<ActivityInfo> standard_activities();

// `users` users with ids 10001.., homes cycling through `countries` (default: all 14).
Fleet sample_fleet(int users, uint64_t seed, const std::vector<std::string_view>& countries = {});

}  // namespace hrflow::sim
