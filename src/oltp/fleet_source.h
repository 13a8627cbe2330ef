// The fleet the simulator animates, read from the operational source: users with where they lived
// over time and when their accounts existed, and the activities with their intensity (MET).
//
// From PostgreSQL (users + the change history written by `hrflow oltp mutate`):
//  - a generated user's account exists from the generation's as-of time; a sign-up's from its time;
//    a deletion closes the open span and a re-sign-up opens a new one;
//  - the first home is the city of the address the user had first, at a small deterministic offset
//    from the city centre; every move starts a new residence at the point the history recorded.
// From an export directory (users.csv, activities.csv; no history): every user's account and home
// exist from the epoch, the home being their address's city.
// Activities carry the MET of the embedded reference data (by id; by name for unknown ids).
// Stateless functions; safe to call from any thread with separate connections.
#pragma once

#include <filesystem>

#include "common/config.h"
#include "common/fleet.h"
#include "common/status.h"
#include "common/pg.h"

namespace hrflow::oltp {

// The configured operational database (oltp.url, or the managed server, started if needed).
Result<Fleet> load_fleet(const Config& config);
Result<Fleet> load_fleet(PgConnection& conn);
// users.csv and activities.csv as written by `hrflow oltp export`.
Result<Fleet> load_fleet_from_csv(const std::filesystem::path& dir);

}  // namespace hrflow::oltp
