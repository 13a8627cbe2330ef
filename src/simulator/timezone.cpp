#include "simulator/timezone.h"

#include <cmath>

namespace hrflow::sim {



namespace {

constexpr int64_t kDay = 86400;

// Day number of the n-th (1-based) Sunday of a month, or the last one when n == 0.
int64_t sunday(int y, unsigned m, int n) {
  if (n == 0) {
    int ny = m == 12 ? y + 1 : y;
    unsigned nm = m == 12 ? 1 : m + 1;
    int64_t last = days_from_civil(ny, nm, 1) - 1;
    return last - (weekday_of_days(last) + 1) % 7;  // weekday 6 = Sunday
  }
  int64_t first = days_from_civil(y, m, 1);
  int64_t first_sunday = first + (6 - weekday_of_days(first) + 7) % 7;
  return first_sunday + 7 * (n - 1);
}

bool in_dst(const Zone& z, int64_t utc) {
  int y;
  unsigned m, d;
  civil_from_days(utc >= 0 ? utc / kDay : (utc - kDay + 1) / kDay, y, m, d);
  const int64_t std_off = z.standard_offset_s;
  switch (z.dst) {
    case DstRule::kNone:
      return false;
    case DstRule::kEu: {  // last Sunday of March 01:00 UTC .. last Sunday of October 01:00 UTC
      int64_t start = sunday(y, 3, 0) * kDay + 3600;
      int64_t end = sunday(y, 10, 0) * kDay + 3600;
      return utc >= start && utc < end;
    }
    case DstRule::kUs: {  // second Sunday of March 02:00 local standard .. first Sunday of Nov 02:00 local daylight
      int64_t start = sunday(y, 3, 2) * kDay + 2 * 3600 - std_off;
      int64_t end = sunday(y, 11, 1) * kDay + 2 * 3600 - (std_off + 3600);
      return utc >= start && utc < end;
    }
    case DstRule::kAuSouth: {  // first Sunday of October 02:00 standard .. first Sunday of April 03:00 daylight
      int64_t end = sunday(y, 4, 1) * kDay + 3 * 3600 - (std_off + 3600);
      int64_t start = sunday(y, 10, 1) * kDay + 2 * 3600 - std_off;
      return utc < end || utc >= start;
    }
  }
  return false;
}

}  // namespace

int32_t Zone::offset_at(int64_t utc) const { return standard_offset_s + (in_dst(*this, utc) ? 3600 : 0); }

int64_t Zone::to_utc(int64_t local) const {
  int64_t guess = local - standard_offset_s;
  int32_t off = offset_at(guess);
  int64_t utc = local - off;
  // Across a change the first guess may sit on the other side; one refinement settles it.
  if (offset_at(utc) != off) utc = local - offset_at(utc);
  return utc;
}

Zone zone_for(std::string_view cc, double lat, double lon) {
  constexpr int32_t h = 3600;
  if (cc == "GB") return {"Europe/London", 0, DstRule::kEu};
  if (cc == "ES") {
    if (lat < 30.5 && lon < -12) return {"Atlantic/Canary", 0, DstRule::kEu};
    return {"Europe/Madrid", h, DstRule::kEu};
  }
  if (cc == "FR") return {"Europe/Paris", h, DstRule::kEu};
  if (cc == "DE") return {"Europe/Berlin", h, DstRule::kEu};
  if (cc == "IT") return {"Europe/Rome", h, DstRule::kEu};
  if (cc == "NL") return {"Europe/Amsterdam", h, DstRule::kEu};
  if (cc == "SE") return {"Europe/Stockholm", h, DstRule::kEu};
  if (cc == "NO") return {"Europe/Oslo", h, DstRule::kEu};
  if (cc == "DK") return {"Europe/Copenhagen", h, DstRule::kEu};
  if (cc == "PL") return {"Europe/Warsaw", h, DstRule::kEu};
  if (cc == "FI") return {"Europe/Helsinki", 2 * h, DstRule::kEu};
  if (cc == "US") {
    if (lon < -150) return {"Pacific/Honolulu", -10 * h, DstRule::kNone};
    if (lon < -130) return {"America/Anchorage", -9 * h, DstRule::kUs};
    if (lon < -114.5) return {"America/Los_Angeles", -8 * h, DstRule::kUs};
    if (lon < -109 && lat < 37.1 && lat > 31) return {"America/Phoenix", -7 * h, DstRule::kNone};
    if (lon < -102) return {"America/Denver", -7 * h, DstRule::kUs};
    if (lon < -87.5) return {"America/Chicago", -6 * h, DstRule::kUs};
    return {"America/New_York", -5 * h, DstRule::kUs};
  }
  if (cc == "AU") {
    if (lon < 129) return {"Australia/Perth", 8 * h, DstRule::kNone};
    if (lon < 138 && lat > -26) return {"Australia/Darwin", 9 * h + 1800, DstRule::kNone};
    if (lon < 141) return {"Australia/Adelaide", 9 * h + 1800, DstRule::kAuSouth};
    if (lat > -28.2) return {"Australia/Brisbane", 10 * h, DstRule::kNone};
    return {"Australia/Sydney", 10 * h, DstRule::kAuSouth};
  }
  if (cc == "BR") {  // no DST since 2019
    if (lon < -66) return {"America/Rio_Branco", -5 * h, DstRule::kNone};
    if (lon < -50 && lat > -18) return {"America/Manaus", -4 * h, DstRule::kNone};
    return {"America/Sao_Paulo", -3 * h, DstRule::kNone};
  }
  // Solar time, rounded to the hour.
  return {"", static_cast<int32_t>(std::lround(lon / 15.0)) * h, DstRule::kNone};
}

}  // namespace hrflow::sim
