// The hrflow binary as a user meets it: help, version, configuration errors, exit codes.
#include <gtest/gtest.h>

#include <fstream>

#include "support/fixtures.h"

namespace hrflow::testing {
namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(Cli, HelpListsEveryStage) {
  auto out = run_hrflow({"--help"});
  EXPECT_EQ(out.exit_code, 0);
  for (const char* cmd : {"demo", "oltp", "produce", "sink", "sync", "build", "serve", "query", "status", "config"}) {
    EXPECT_TRUE(contains(out.output, cmd)) << cmd << " missing from --help:\n" << out.output;
  }
}

TEST(Cli, VersionNamesDuckDbAndLibrdkafka) {
  auto out = run_hrflow({"--version"});
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_TRUE(contains(out.output, "hrflow 0.1.0")) << out.output;
  EXPECT_TRUE(contains(out.output, "DuckDB v1.4.4")) << out.output;
  EXPECT_TRUE(contains(out.output, "librdkafka 2.")) << out.output;
}

TEST(Cli, UnknownCommandIsAUsageError) {
  auto out = run_hrflow({"frobnicate"});
  EXPECT_EQ(out.exit_code, 2) << out.output;
}

TEST(Cli, ConfigErrorsNameTheFileAndLine) {
  TempDir dir;
  std::ofstream(dir.path() / "hrflow.yml") << "stream:\n  partitions: 6\n  topik: x\n";
  auto out = run_hrflow({"config"}, dir.path());
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_TRUE(contains(out.output, "hrflow.yml:3:3: unknown setting 'stream.topik'")) << out.output;

  auto missing = run_hrflow({"--config", "nope.yml", "config"}, dir.path());
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(contains(missing.output, "nope.yml' does not exist")) << missing.output;
}

TEST(Cli, ConfigPrintsEffectiveValuesWithSecretsMasked) {
  TempDir dir;
  std::ofstream(dir.path() / "hrflow.yml") << "stream:\n  partitions: 3\n";
  auto out = run_hrflow({"config"}, dir.path());
  EXPECT_EQ(out.exit_code, 0) << out.output;
  EXPECT_TRUE(contains(out.output, "partitions: 3  # file")) << out.output;
  EXPECT_TRUE(contains(out.output, "topic: hr-data-topic  # default")) << out.output;
}

// The whole pipeline as `hrflow demo` runs it: every stage, a built and tested warehouse, and a second
// run that finds everything done.
TEST(Cli, DemoRunsEveryStageIntoATestedWarehouseAndResumes) {
  TempDir dir;
  std::ofstream(dir.path() / "hrflow.yml") << "oltp:\n  port: " << free_port() << "\n";
  auto out = run_hrflow({"demo", "--no-serve", "--users", "40", "--days", "2"}, dir.path());
  EXPECT_EQ(out.exit_code, 0) << out.output;
  for (const char* step : {"[1/8]", "[8/8] build and test the warehouse", "ERROR=0"}) {
    EXPECT_TRUE(contains(out.output, step)) << step << "\n" << out.output;
  }
  for (const char* table : {"raw.heart_rate_stream", "staging.stg_heart_rates", "serving.dim_users",
                            "serving.fct_heart_rates"}) {
    EXPECT_TRUE(contains(out.output, table)) << table << "\n" << out.output;
  }
  EXPECT_TRUE(contains(out.output, " 0 failed, 0 errored")) << out.output;

  auto again = run_hrflow({"demo", "--no-serve", "--users", "40", "--days", "2"}, dir.path());
  EXPECT_EQ(again.exit_code, 0) << again.output;
  EXPECT_TRUE(contains(again.output, "[8/8] build and test the warehouse: done in an earlier run")) << again.output;
  run_hrflow({"oltp", "down"}, dir.path());
}

}  // namespace
}  // namespace hrflow::testing
