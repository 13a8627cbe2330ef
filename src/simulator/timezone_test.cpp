// The built-in zone rules agree with the system's time-zone database (zoneinfo) for every zone the
// simulator uses, every half hour of 2022-2026 (DST changes happen on the hour or half hour).
#include "simulator/timezone.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>

namespace hrflow::sim {
namespace {

struct Point {
  const char* cc;
  double lat, lon;
};

class SystemTz {
 public:
  explicit SystemTz(std::string_view name) {
    if (const char* old = std::getenv("TZ")) saved_ = old;
    setenv("TZ", std::string(name).c_str(), 1);
    tzset();
  }
  ~SystemTz() {
    if (saved_.empty()) unsetenv("TZ");
    else setenv("TZ", saved_.c_str(), 1);
    tzset();
  }
  static long offset(int64_t utc) {
    time_t t = static_cast<time_t>(utc);
    struct tm tm {};
    localtime_r(&t, &tm);
    return tm.tm_gmtoff;
  }

 private:
  std::string saved_;
};

TEST(Timezone, MatchesSystemZoneinfoForEveryZoneUsed) {
  const Point points[] = {{"GB", 51.5, -0.1},   {"ES", 40.4, -3.7},   {"ES", 28.1, -15.4}, {"FR", 48.9, 2.35},
                          {"DE", 52.5, 13.4},   {"IT", 41.9, 12.5},   {"NL", 52.4, 4.9},   {"SE", 59.3, 18.1},
                          {"NO", 59.9, 10.8},   {"FI", 60.2, 24.9},   {"DK", 55.7, 12.6},  {"PL", 52.2, 21.0},
                          {"US", 40.7, -74.0},  {"US", 41.9, -87.6},  {"US", 39.7, -105.0}, {"US", 33.4, -112.1},
                          {"US", 34.1, -118.2}, {"US", 61.2, -149.9}, {"US", 21.3, -157.9}, {"AU", -33.9, 151.2},
                          {"AU", -37.8, 145.0}, {"AU", -27.5, 153.0}, {"AU", -34.9, 138.6}, {"AU", -12.5, 130.8},
                          {"AU", -31.95, 115.9}, {"BR", -23.55, -46.6}, {"BR", -3.1, -60.0}, {"BR", -9.97, -67.8}};
  const int64_t from = days_from_civil(2022, 1, 1) * 86400, to = days_from_civil(2027, 1, 1) * 86400;
  for (const auto& p : points) {
    Zone z = zone_for(p.cc, p.lat, p.lon);
    ASSERT_FALSE(z.iana.empty()) << p.cc;
    if (!std::filesystem::exists(std::filesystem::path("/usr/share/zoneinfo") / std::string(z.iana))) {
      GTEST_SKIP() << "no system zoneinfo for " << z.iana << " (install tzdata)";
    }
    SystemTz tz(z.iana);
    int mismatches = 0;
    for (int64_t t = from; t < to; t += 1800) {
      if (z.offset_at(t) != SystemTz::offset(t) && ++mismatches <= 3) {
        ADD_FAILURE() << z.iana << " at " << t << ": ours " << z.offset_at(t) << ", zoneinfo " << SystemTz::offset(t);
      }
    }
    EXPECT_EQ(mismatches, 0) << z.iana;
  }
}

TEST(Timezone, LocalToUtcRoundTripsOutsideChanges) {
  Zone madrid = zone_for("ES", 40.4, -3.7);
  int64_t local = days_from_civil(2025, 7, 1) * 86400 + 4 * 3600;  // 04:00 CEST = 02:00 UTC
  EXPECT_EQ(madrid.to_utc(local), local - 7200);
  int64_t winter = days_from_civil(2025, 1, 15) * 86400 + 4 * 3600;
  EXPECT_EQ(madrid.to_utc(winter), winter - 3600);
  Zone sydney = zone_for("AU", -33.9, 151.2);
  EXPECT_EQ(sydney.to_utc(winter), winter - 11 * 3600);  // January = daylight time in the south
}

TEST(Timezone, CivilDaysRoundTrip) {
  for (int64_t d = -800000; d < 800000; d += 37) {
    int y;
    unsigned m, dd;
    civil_from_days(d, y, m, dd);
    ASSERT_EQ(days_from_civil(y, m, dd), d);
  }
  EXPECT_EQ(weekday_of_days(days_from_civil(2026, 11, 27)), 4);  // a Friday
  EXPECT_EQ(weekday_of_days(0), 3);                               // 1970-01-01 was a Thursday
}

TEST(Timezone, UnknownCountryFallsBackToSolarTime) {
  Zone z = zone_for("JP", 35.7, 139.7);
  EXPECT_TRUE(z.iana.empty());
  EXPECT_EQ(z.offset_at(0), 9 * 3600);
}

}  // namespace
}  // namespace hrflow::sim
