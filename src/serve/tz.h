// A time zone read from the system zoneinfo database (TZif files under /usr/share/zoneinfo), for
// cron schedules and freshness deadlines that are written in local time and must stay right across
// daylight-saving changes. (GCC 12's <chrono> has no time-zone database yet.)
//
// Lifecycle: TimeZone::load("Europe/Berlin") once; the object is immutable afterwards and safe to
// share between threads. Beyond the last transition recorded in the file (2037 in Debian's "fat"
// files) the last offset applies.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace hrflow::serve {

class TimeZone {
 public:
  // "UTC", "Europe/Berlin", ... Fails with kNotFound naming the file when the zone is unknown.
  static Result<TimeZone> load(const std::string& name, const std::string& zoneinfo_dir = "/usr/share/zoneinfo");
  static TimeZone utc();

  const std::string& name() const { return name_; }
  // Offset from UTC, in seconds, in force at the instant `utc_s` (seconds since the epoch).
  int32_t offset_at(int64_t utc_s) const;
  // Local wall-clock seconds (as if the local time were UTC) at the instant `utc_s`.
  int64_t to_local(int64_t utc_s) const { return utc_s + offset_at(utc_s); }
  // The instant of local wall-clock time `local_s`. A time skipped by a spring-forward gap maps to the
  // instant it would have been under the offset before the change (02:30 in a 02:00->03:00 gap runs at
  // 03:30); an ambiguous time of a fall-back hour maps to its first occurrence.
  int64_t to_utc(int64_t local_s) const;

 private:
  std::string name_;
  std::vector<int64_t> transitions_;  // UTC seconds, ascending
  std::vector<int32_t> offsets_;      // offset in force from transitions_[i]
  int32_t initial_offset_ = 0;        // before the first transition
};

}  // namespace hrflow::serve
