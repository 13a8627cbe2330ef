// The format comparison measures what it claims: real encoders, sizes that order as expected, and
// the one-record effect of the original experiment.
#include "simulator/formats.h"

#include <gtest/gtest.h>

#include <map>

#include "simulator/produce.h"
#include "simulator/sample_fleet.h"
#include "simulator/timezone.h"

namespace hrflow::sim {
namespace {

std::vector<Reading> readings(size_t n) {
  Fleet fleet = sample_fleet(300, 3);
  int64_t from = days_from_civil(2025, 3, 3) * 86400;
  auto sim = FleetSimulator::create(fleet, {3, from, from + 3 * 86400});
  EXPECT_TRUE(sim.ok());
  std::vector<Reading> out(n);
  out.resize(sim->next_batch(out.data(), n));
  return out;
}

TEST(Formats, SizesOrderAsExpectedAndOneRecordFilesMislead) {
  auto rs = readings(5000);
  ASSERT_EQ(rs.size(), 5000u);
  char tmpl[] = "/tmp/hrflow-formats-test-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  auto report = measure_formats(rs, tmpl);
  std::filesystem::remove_all(tmpl);
  ASSERT_TRUE(report.ok()) << report.error().message;
  std::map<std::string, FormatRow> by;
  for (const auto& r : report->rows) by[r.format] = r;
  const auto& json = by.at("JSON (integers)");
  const auto& strings = by.at("JSON, all strings");
  const auto& avro = by.at("Avro binary, schema once");
  const auto& container = by.at("Avro container file");
  const auto& parquet = by.at("Parquet (zstd)");
  // The contract record is ~140 bytes; quoting every value costs 2 bytes per value (6 values).
  EXPECT_NEAR(static_cast<double>(json.raw_bytes) / 5000, 141, 8);
  EXPECT_EQ(strings.raw_bytes - json.raw_bytes, 5000u * 12);
  // Avro drops the field names: a fraction of JSON, and its container only adds headers and markers.
  EXPECT_LT(avro.raw_bytes * 3, json.raw_bytes);
  EXPECT_LT(container.raw_bytes, avro.raw_bytes + 5000 / 10 + 2000);
  for (const auto& r : report->rows) {
    if (r.zstd_bytes) {
      EXPECT_LT(r.zstd_bytes, r.raw_bytes) << r.format;
    }
    if (r.gzip_bytes) {
      EXPECT_LT(r.gzip_bytes, r.raw_bytes) << r.format;
    }
  }
  EXPECT_LT(parquet.raw_bytes, json.zstd_bytes) << "columns of sorted times and repeated homes compress best";
  // The original experiment: with one record, the container formats are bigger than JSON.
  EXPECT_GT(container.one_record_bytes, 2 * json.one_record_bytes);
  EXPECT_GT(parquet.one_record_bytes, 2 * json.one_record_bytes);
  EXPECT_NE(format_report(*report).find("one-record file misleads"), std::string::npos);
}

TEST(Cli, ParsesUtcDatesAndTimes) {
  EXPECT_EQ(*parse_utc_time("2025-01-01"), 1735689600);
  EXPECT_EQ(*parse_utc_time("2025-01-01T06:30"), 1735689600 + 6 * 3600 + 1800);
  EXPECT_EQ(*parse_utc_time("2025-01-01T06:30:15Z"), 1735689600 + 6 * 3600 + 1815);
  EXPECT_FALSE(parse_utc_time("2025-02-30").ok());
  EXPECT_FALSE(parse_utc_time("yesterday").ok());
  EXPECT_FALSE(parse_utc_time("2025-01-01T25:00").ok());
  EXPECT_FALSE(parse_utc_time("2025-01-01x").ok());
}

}  // namespace
}  // namespace hrflow::sim
