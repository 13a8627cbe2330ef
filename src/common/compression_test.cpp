#include "common/compression.h"

#include <gtest/gtest.h>

namespace hrflow {
namespace {

std::string lines(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += fmt::format("{{\"user_id\":{},\"heart_rate\":{},\"timestamp\":{}}}\n", 10001 + i % 50, 60 + i % 90, 1711943972 + i);
  return s;
}

TEST(Compression, RoundTripsAndIsDeterministic) {
  const std::string text = lines(2000);
  for (Codec c : {Codec::kNone, Codec::kGzip, Codec::kZstd}) {
    auto a = compress(text, c), b = compress(text, c);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(*a, *b) << "the same bytes compress to the same file";
    if (c != Codec::kNone) {
      EXPECT_LT(a->size(), text.size() / 4);
    }
    Decompressed d = decompress(*a, c);
    EXPECT_FALSE(d.damaged());
    EXPECT_EQ(d.data, text);
  }
}

TEST(Compression, ConcatenatedMembersAndFramesAreReadInSequence) {
  const std::string x = lines(10), y = lines(20);
  for (Codec c : {Codec::kGzip, Codec::kZstd}) {
    std::string both = *compress(x, c) + *compress(y, c);
    EXPECT_EQ(*decompress_all(both, c), x + y);
  }
}

TEST(Compression, ATruncatedStreamKeepsWhatCouldBeReadAndSaysSo) {
  const std::string text = lines(20000);
  for (Codec c : {Codec::kGzip, Codec::kZstd}) {
    std::string z = *compress(text, c);
    Decompressed d = decompress(std::string_view(z).substr(0, z.size() / 2), c);
    ASSERT_TRUE(d.damaged());
    EXPECT_NE(d.damage->find("truncated"), std::string::npos) << *d.damage;
    EXPECT_GT(d.data.size(), 0u);
    EXPECT_LT(d.data.size(), text.size());
    EXPECT_EQ(text.compare(0, d.data.size(), d.data), 0) << "what was read is a prefix of the original";
    auto all = decompress_all(std::string_view(z).substr(0, z.size() / 2), c);
    ASSERT_FALSE(all.ok());
    EXPECT_EQ(all.error().kind, ErrorKind::kCorrupt);
  }
}

TEST(Compression, GarbageIsDamageNotACrash) {
  for (Codec c : {Codec::kGzip, Codec::kZstd}) {
    Decompressed d = decompress("this is not compressed at all", c);
    EXPECT_TRUE(d.damaged());
    EXPECT_TRUE(d.data.empty());
  }
}

}  // namespace
}  // namespace hrflow
