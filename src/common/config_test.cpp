#include "common/config.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "support/fixtures.h"

namespace hrflow {
namespace {

TEST(Config, DefaultsWhenEmpty) {
  auto c = Config::parse("", "hrflow.yml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->get_string("stream.topic"), "hr-data-topic");
  EXPECT_EQ(c->get_int("stream.partitions"), 6);
  EXPECT_EQ(c->get_duration_ms("stream.retention"), 7LL * 24 * 3600 * 1000);
  EXPECT_EQ(c->get_bytes("stream.log.segment_bytes"), 128LL * 1024 * 1024);
  EXPECT_EQ(c->get_string("warehouse.path"), ".hrflow/warehouse.duckdb");
  EXPECT_EQ(c->source("stream.topic"), SettingSource::kDefault);
}

TEST(Config, NestedValuesAndStateDirExpansion) {
  auto c = Config::parse("state_dir: /data/hr\nstream:\n  partitions: 12\n  kafka:\n    bootstrap_servers: b:9092\n"
                         "    properties:\n      security.protocol: SASL_SSL\n",
                         "hrflow.yml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->get_int("stream.partitions"), 12);
  EXPECT_EQ(c->get_string("stream.kafka.bootstrap_servers"), "b:9092");
  EXPECT_EQ(c->get_map("stream.kafka.properties").at("security.protocol"), "SASL_SSL");
  EXPECT_EQ(c->get_string("warehouse.path"), "/data/hr/warehouse.duckdb");
  EXPECT_EQ(c->source("stream.partitions"), SettingSource::kFile);
}

TEST(Config, UnknownKeyNamesFileLineAndValidKeys) {
  auto c = Config::parse("stream:\n  topic: x\n  partitons: 3\n", "conf/hrflow.yml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("conf/hrflow.yml:3:3"), std::string::npos) << c.error().message;
  EXPECT_NE(c.error().message.find("unknown setting 'stream.partitons'"), std::string::npos);
  EXPECT_NE(c.error().message.find("stream.partitions"), std::string::npos) << "lists the valid keys";
}

TEST(Config, UnknownTopLevelKey) {
  auto c = Config::parse("lakes:\n  url: x\n", "hrflow.yml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("hrflow.yml:1:1"), std::string::npos) << c.error().message;
}

TEST(Config, WrongTypeIsRejectedWithPlace) {
  auto c = Config::parse("stream:\n  partitions: six\n", "hrflow.yml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("hrflow.yml:2:15"), std::string::npos) << c.error().message;
  EXPECT_NE(c.error().message.find("must be an integer"), std::string::npos);

  auto b = Config::parse("stream:\n  kafka:\n    create_topic: maybe\n", "hrflow.yml");
  ASSERT_FALSE(b.ok());
  EXPECT_NE(b.error().message.find("true or false"), std::string::npos);

  auto m = Config::parse("stream:\n  partitions: [1, 2]\n", "hrflow.yml");
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().message.find("not a list"), std::string::npos) << m.error().message;
}

TEST(Config, OutOfRangeAndBadChoice) {
  auto c = Config::parse("stream:\n  partitions: 0\n", "hrflow.yml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("between 1 and 1024"), std::string::npos) << c.error().message;

  auto e = Config::parse("lake:\n  compression: lz4\n", "hrflow.yml");
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message.find("one of: none, gzip, zstd"), std::string::npos) << e.error().message;

  auto d = Config::parse("sink:\n  idle_timeout: soon\n", "hrflow.yml");
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.error().message.find("30s"), std::string::npos) << d.error().message;
}

TEST(Config, InvalidYamlSyntax) {
  auto c = Config::parse("stream:\n  topic: [unclosed\n", "hrflow.yml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("not valid YAML"), std::string::npos) << c.error().message;
}

TEST(Config, SecretsOnlyFromEnvironmentAndMasked) {
  auto inFile = Config::parse("lake:\n  s3:\n    secret_access_key: abc\n", "hrflow.yml");
  ASSERT_FALSE(inFile.ok());
  EXPECT_NE(inFile.error().message.find("AWS_SECRET_ACCESS_KEY"), std::string::npos) << inFile.error().message;

  setenv("AWS_SECRET_ACCESS_KEY", "very-secret-value", 1);
  setenv("HRFLOW_OLTP_URL", "postgresql://app:hunter2@db.example.com:5432/prod", 1);
  auto c = Config::parse("", "hrflow.yml");
  unsetenv("AWS_SECRET_ACCESS_KEY");
  unsetenv("HRFLOW_OLTP_URL");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->get_string("lake.s3.secret_access_key"), "very-secret-value");
  EXPECT_EQ(c->source("lake.s3.secret_access_key"), SettingSource::kEnvironment);
  std::string shown = c->to_display_yaml();
  EXPECT_EQ(shown.find("very-secret-value"), std::string::npos);
  EXPECT_EQ(shown.find("hunter2"), std::string::npos);
  EXPECT_NE(shown.find("postgresql://app:****@db.example.com"), std::string::npos) << shown;
}

TEST(Config, MissingFile) {
  auto implicit = Config::load("/nonexistent/hrflow.yml", false);
  EXPECT_TRUE(implicit.ok());
  auto explicit_path = Config::load("/nonexistent/hrflow.yml", true);
  ASSERT_FALSE(explicit_path.ok());
  EXPECT_NE(explicit_path.error().message.find("does not exist"), std::string::npos);
}

TEST(Config, DurationAndSizeParsers) {
  EXPECT_EQ(*parse_duration_ms("250ms"), 250);
  EXPECT_EQ(*parse_duration_ms("1.5s"), 1500);
  EXPECT_EQ(*parse_duration_ms("2h"), 7200000);
  EXPECT_FALSE(parse_duration_ms("5 fortnights").ok());
  EXPECT_EQ(*parse_bytes("64KiB"), 65536);
  EXPECT_EQ(*parse_bytes("1GB"), 1000000000);
  EXPECT_FALSE(parse_bytes("lots").ok());
}

// The generated reference must match the table: regenerate with
// `build/hrflow config --reference > docs/configuration.md`.
TEST(Config, ReferenceDocIsInSync) {
  std::ifstream in(testing::source_dir() / "docs" / "configuration.md");
  ASSERT_TRUE(in) << "docs/configuration.md is missing";
  std::string doc((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(doc, Config::reference_markdown())
      << "docs/configuration.md is stale: run `build/hrflow config --reference > docs/configuration.md`";
}

}  // namespace
}  // namespace hrflow
