// A 5-field cron schedule ("minute hour day-of-month month day-of-week", e.g. "30 2 * * *") in a time
// zone. Fields accept *, lists (1,15), ranges (1-5), steps (*/15, 0-30/10) and names (jan, mon).
// When both day-of-month and day-of-week are restricted, a day matches if either does (Vixie cron).
//
// Daylight saving: the schedule is read in local time. A time that does not exist (spring forward)
// fires at the same wall-clock distance after the change (02:30 -> 03:30); a time that occurs twice
// (fall back) fires once, at its first occurrence.
//
// Immutable after parse(); safe to share between threads.
#pragma once

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"
#include "serve/tz.h"

namespace hrflow::serve {

class CronSchedule {
 public:
  static Result<CronSchedule> parse(const std::string& expression, TimeZone zone = TimeZone::utc());

  // The first firing instant strictly after `after_ms` (ms since the epoch, UTC); nullopt if none
  // within the next eight years (e.g. "0 0 30 2 *").
  std::optional<int64_t> next_after(int64_t after_ms) const;
  // The last firing instant at or before `at_ms`, searching back at most `horizon_ms`.
  std::optional<int64_t> last_at_or_before(int64_t at_ms, int64_t horizon_ms) const;

  const std::string& expression() const { return expression_; }
  const TimeZone& zone() const { return zone_; }

 private:
  bool day_matches(int64_t days_since_epoch) const;
  std::string expression_;
  TimeZone zone_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;     // 1..31
  std::bitset<13> months_;   // 1..12
  std::bitset<7> weekdays_;  // 0 = Sunday
  bool dom_restricted_ = false, dow_restricted_ = false;
};

}  // namespace hrflow::serve
