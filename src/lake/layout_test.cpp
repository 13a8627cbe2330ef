#include "lake/layout.h"

#include <gtest/gtest.h>

#include <random>

namespace hrflow::lake {
namespace {

TEST(LakeLayout, FormatsTheConfluentHourlyLayout) {
  FileKey k{"hr-data-topic", 3, 42, false, 1711943972 / 3600, Compression::kNone};
  EXPECT_EQ(format_key(k),
            "topics/hr-data-topic/year=2024/month=04/day=01/hour=03/hr-data-topic+3+0000000042.json");
  k.compression = Compression::kGzip;
  EXPECT_EQ(format_key(k),
            "topics/hr-data-topic/year=2024/month=04/day=01/hour=03/hr-data-topic+3+0000000042.json.gz");
  k.compression = Compression::kZstd;
  k.error_file = true;
  EXPECT_EQ(format_key(k), "errors/hr-data-topic/partition=3/hr-data-topic+3+0000000042.json.zst");
  FileKey epoch{"t", 0, 0, false, 0, Compression::kNone};
  EXPECT_EQ(format_key(epoch), "topics/t/year=1970/month=01/day=01/hour=00/t+0+0000000000.json");
  FileKey leap{"t", 0, 0, false, (951782400 + 23 * 3600) / 3600, Compression::kNone};  // 2000-02-29 23:00
  EXPECT_EQ(format_key(leap), "topics/t/year=2000/month=02/day=29/hour=23/t+0+0000000000.json");
}

TEST(LakeLayout, ParseIsTheInverseOfFormat) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 20000; ++i) {
    FileKey k;
    k.topic = i % 3 == 0 ? "hr-data-topic" : (i % 3 == 1 ? "t" : "a.b_c-d");
    k.partition = static_cast<int32_t>(rng() % 1024);
    k.start_offset = static_cast<int64_t>(rng() % 10000000000ULL);
    k.error_file = i % 7 == 0;
    k.hour_epoch = k.error_file ? 0 : static_cast<int64_t>(rng() % (24LL * 365 * 200));  // 1970..2169
    k.compression = static_cast<Compression>(i % 3);
    auto key = format_key(k);
    auto parsed = parse_key(key);
    ASSERT_TRUE(parsed.ok()) << key << ": " << parsed.error().message;
    EXPECT_EQ(*parsed, k) << key;
  }
}

TEST(LakeLayout, ParseRejectsWhatFormatDoesNotProduce) {
  for (const char* bad : {
           "", "topics/", "topics/t/t+0+0000000000.json",
           "topics/t/year=2024/month=13/day=01/hour=00/t+0+0000000000.json",
           "topics/t/year=2024/month=01/day=01/hour=24/t+0+0000000000.json",
           "topics/t/year=2024/month=01/day=01/hour=00/t+0+123.json",
           "topics/t/year=2024/month=01/day=01/hour=00/u+0+0000000000.json",
           "topics/t/year=2024/month=01/day=01/hour=00/t+0+0000000000.csv",
           "topics/t/year=2024/month=02/day=31/hour=00/t+0+0000000000.json",
           "other/t/year=2024/month=01/day=01/hour=00/t+0+0000000000.json",
           "errors/t/t+0+0000000000.json",
       }) {
    EXPECT_FALSE(parse_key(bad).ok()) << bad;
  }
  auto err = parse_key("topics/t/nope");
  ASSERT_FALSE(err.ok());
  EXPECT_NE(err.error().message.find("topics/t/nope"), std::string::npos);
}

TEST(LakeLayout, CompressionNames) {
  EXPECT_EQ(*parse_compression("gzip"), Compression::kGzip);
  EXPECT_EQ(*parse_compression("zstd"), Compression::kZstd);
  EXPECT_EQ(*parse_compression("none"), Compression::kNone);
  EXPECT_FALSE(parse_compression("lz4").ok());
}

}  // namespace
}  // namespace hrflow::lake
