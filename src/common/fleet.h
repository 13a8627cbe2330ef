// The people and activities the simulator animates, with the operational history it must follow:
// a user produces readings only while their account exists, from the home of the time.
// Produced by the operational source (src/oltp: from PostgreSQL or its CSV export), consumed by the
// fleet simulator (src/simulator). Plain data; no behaviour.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hrflow {

// Where a user lives from `from_ts` (epoch seconds, UTC) until the next residence begins.
struct Residence {
  int64_t from_ts = 0;
  std::string country_code;  // ISO 3166-1 alpha-2 of the address country (time zone, hemisphere)
  std::string city;
  double latitude = 0, longitude = 0;  // home point
};

// An interval in which the account exists: [from_ts, to_ts); to_ts empty = still exists.
struct AccountSpan {
  int64_t from_ts = 0;
  std::optional<int64_t> to_ts;
};

struct UserProfile {
  int64_t user_id = 0;
  int32_t date_of_birth = 0;  // YYYYMMDD
  char sex = 'F';             // 'M' or 'F'
  int32_t height_cm = 0;
  int32_t weight_kg = 0;
  std::string blood_type;
  char race = 'O';
  std::string origin_country_code;
  std::vector<Residence> residences;  // ordered by from_ts, at least one
  std::vector<AccountSpan> accounts;  // ordered; several after a re-sign-up
};

struct ActivityInfo {
  int64_t activity_id = 0;
  std::string name;  // "Run", "Sleep", ...
  double met = 1.0;  // intensity (Compendium of Physical Activities)
};

struct Fleet {
  std::vector<UserProfile> users;
  std::vector<ActivityInfo> activities;
};

}  // namespace hrflow
