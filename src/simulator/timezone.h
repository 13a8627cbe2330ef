// Local time for the simulator: the time zone of a home from its address country (and, in countries
// that span several zones, its longitude/latitude), with the daylight-saving rules in force since
// 2020. libstdc++ 12 has no std::chrono time-zone database, so the 14 countries of the fleet are a
// small built-in table (checked against the system's zoneinfo in timezone_test.cpp); any other
// country falls back to solar time (longitude / 15 h, no DST), which the ground truth says.
//
// A Zone is a small value, immutable after creation, safe to share between threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/civil_time.h"

namespace hrflow::sim {

enum class DstRule : uint8_t { kNone, kEu, kUs, kAuSouth };

struct Zone {
  std::string_view iana;      // e.g. "Europe/Madrid"; "" for the solar fallback
  int32_t standard_offset_s = 0;
  DstRule dst = DstRule::kNone;

  // Offset from UTC (seconds) in effect at `utc` (epoch seconds).
  int32_t offset_at(int64_t utc) const;
  // The UTC instant of a local wall-clock time (epoch seconds as if local were UTC). In a gap or
  // overlap of a DST change the earlier offset is used.
  int64_t to_utc(int64_t local) const;
};

// The zone of a home in `country_code` (ISO alpha-2) at latitude/longitude.
Zone zone_for(std::string_view country_code, double latitude, double longitude);

// Days since 1970-01-01 of a civil date, and back (common/civil_time.h); weekday 0 = Monday.
inline int weekday_of_days(int64_t days) { return static_cast<int>(((days % 7) + 7 + 3) % 7); }

}  // namespace hrflow::sim
