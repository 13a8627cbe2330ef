#include <gtest/gtest.h>

#include "serve/cron.h"

namespace hrflow::serve {
namespace {

// 2024-01-01 00:00:00 UTC
constexpr int64_t kJan1 = 1704067200000;
constexpr int64_t kMin = 60'000, kHour = 3'600'000, kDay = 86'400'000;

TEST(CronTest, DailyScheduleFiresAtItsMinuteInUtc) {
  auto cron = CronSchedule::parse("30 2 * * *");
  ASSERT_TRUE(cron.ok()) << cron.error().message;
  EXPECT_EQ(cron->next_after(kJan1), kJan1 + 2 * kHour + 30 * kMin);
  EXPECT_EQ(cron->next_after(kJan1 + 2 * kHour + 30 * kMin), kJan1 + kDay + 2 * kHour + 30 * kMin);
}

TEST(CronTest, ListsRangesStepsAndNames) {
  auto cron = CronSchedule::parse("*/15 9-17 * jan mon-fri");
  ASSERT_TRUE(cron.ok()) << cron.error().message;
  // 2024-01-01 is a Monday.
  EXPECT_EQ(cron->next_after(kJan1), kJan1 + 9 * kHour);
  EXPECT_EQ(cron->next_after(kJan1 + 9 * kHour), kJan1 + 9 * kHour + 15 * kMin);
  EXPECT_EQ(cron->next_after(kJan1 + 17 * kHour + 45 * kMin), kJan1 + kDay + 9 * kHour);
  // Saturday 2024-01-06 is skipped: Friday 17:45 -> Monday 09:00.
  EXPECT_EQ(cron->next_after(kJan1 + 4 * kDay + 17 * kHour + 45 * kMin), kJan1 + 7 * kDay + 9 * kHour);
}

TEST(CronTest, DayOfMonthOrDayOfWeekWhenBothRestricted) {
  auto cron = CronSchedule::parse("0 0 15 * sun");
  ASSERT_TRUE(cron.ok());
  // From Jan 1 (Mon): Sunday Jan 7 comes before the 15th.
  EXPECT_EQ(cron->next_after(kJan1), kJan1 + 6 * kDay);
  EXPECT_EQ(cron->next_after(kJan1 + 7 * kDay), kJan1 + 13 * kDay);   // Sunday Jan 14
  EXPECT_EQ(cron->next_after(kJan1 + 13 * kDay), kJan1 + 14 * kDay);  // Monday Jan 15, the 15th
}

TEST(CronTest, RejectsMalformedExpressionsWithTheField) {
  auto e1 = CronSchedule::parse("61 * * * *");
  ASSERT_FALSE(e1.ok());
  EXPECT_NE(e1.error().message.find("minute 61 is out of range 0..59"), std::string::npos) << e1.error().message;
  auto e2 = CronSchedule::parse("* * *");
  ASSERT_FALSE(e2.ok());
  EXPECT_NE(e2.error().message.find("expected 5 fields"), std::string::npos);
  EXPECT_FALSE(CronSchedule::parse("* * * foo *").ok());
  EXPECT_FALSE(CronSchedule::parse("5-1 * * * *").ok());
  EXPECT_FALSE(CronSchedule::parse("*/0 * * * *").ok());
}

TEST(CronTest, SpringForwardGapFiresOnceAfterTheChange) {
  auto berlin = TimeZone::load("Europe/Berlin");
  ASSERT_TRUE(berlin.ok()) << berlin.error().message;
  auto cron = CronSchedule::parse("30 2 * * *", *berlin);
  ASSERT_TRUE(cron.ok());
  // 2024-03-31: clocks go 02:00 CET -> 03:00 CEST (01:00 UTC). 02:30 does not exist: it runs at 03:30
  // CEST = 01:30 UTC.
  int64_t mar30_noon_utc = 1711800000000;  // 2024-03-30 12:00 UTC
  auto t = cron->next_after(mar30_noon_utc);
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, 1711848600000);  // 2024-03-31 01:30 UTC
  // The next day it is back at 02:30 CEST = 00:30 UTC.
  EXPECT_EQ(cron->next_after(*t), 1711931400000);  // 2024-04-01 00:30 UTC
}

TEST(CronTest, FallBackHourFiresOnlyOnce) {
  auto berlin = TimeZone::load("Europe/Berlin");
  ASSERT_TRUE(berlin.ok());
  auto cron = CronSchedule::parse("30 2 * * *", *berlin);
  ASSERT_TRUE(cron.ok());
  // 2024-10-27: 03:00 CEST -> 02:00 CET (01:00 UTC): 02:30 happens twice; it runs at the first, 00:30 UTC.
  int64_t oct26_noon_utc = 1729944000000;
  auto first = cron->next_after(oct26_noon_utc);
  ASSERT_TRUE(first);
  EXPECT_EQ(*first, 1729989000000);  // 2024-10-27 00:30 UTC
  // Not again at the second 02:30 (01:30 UTC): the next run is 2024-10-28 02:30 CET = 01:30 UTC.
  EXPECT_EQ(cron->next_after(*first), 1730079000000);
  // Hourly schedules: the repeated wall-clock hour runs once, like the daily schedule above.
  auto hourly = CronSchedule::parse("15 * * * *", *berlin);
  ASSERT_TRUE(hourly.ok());
  int64_t t = 1729983600000;  // 2024-10-26 23:00 UTC = 01:00 CEST
  std::vector<int64_t> fires;
  for (int i = 0; i < 4; ++i) fires.push_back(t = *hourly->next_after(t));
  // 01:15 CEST, 02:15 CEST, then 03:15 CET: 02:15 CET is the same wall-clock time again.
  EXPECT_EQ(fires[0], 1729984500000);  // 23:15 UTC
  EXPECT_EQ(fires[1], 1729988100000);  // 00:15 UTC
  EXPECT_EQ(fires[2], 1729995300000);  // 02:15 UTC = 03:15 CET
  EXPECT_EQ(fires[3], 1729998900000);
}

TEST(CronTest, UnknownTimeZoneIsAClearError) {
  auto tz = TimeZone::load("Mars/Olympus");
  ASSERT_FALSE(tz.ok());
  EXPECT_NE(tz.error().message.find("unknown time zone 'Mars/Olympus'"), std::string::npos);
  EXPECT_FALSE(TimeZone::load("../../etc/passwd").ok());
}

TEST(CronTest, TimeZoneOffsets) {
  auto ny = TimeZone::load("America/New_York");
  ASSERT_TRUE(ny.ok());
  EXPECT_EQ(ny->offset_at(kJan1 / 1000), -5 * 3600);
  EXPECT_EQ(ny->offset_at(kJan1 / 1000 + 180 * 86400), -4 * 3600);
}

}  // namespace
}  // namespace hrflow::serve
