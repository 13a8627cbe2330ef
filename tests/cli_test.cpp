// The hrflow binary as a user meets it: help, version, configuration errors, exit codes.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "support/fixtures.h"

namespace hrflow::testing {
namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// The subcommands `hrflow --help` lists: the names at the start of each entry of its "Subcommands:"
// section (aliases such as "ls, list" count for each name), not words anywhere in the text.
std::set<std::string> listed_subcommands(const std::string& help) {
  std::set<std::string> names;
  std::istringstream in(help);
  std::string line;
  bool in_section = false;
  while (std::getline(in, line)) {
    if (line == "Subcommands:" || line == "SUBCOMMANDS:") {
      in_section = true;
      continue;
    }
    if (!in_section) continue;
    if (!line.empty() && line[0] != ' ') break;  // the next section
    if (line.size() < 3 || line[2] == ' ') continue;  // a description's continuation line
    std::string entry = line.substr(2, line.find("  ", 2) - 2);
    std::istringstream words(entry);
    for (std::string w; std::getline(words, w, ',');) {
      w.erase(0, w.find_first_not_of(' '));
      names.insert(w);
    }
  }
  return names;
}

TEST(Cli, HelpListsEveryStage) {
  auto out = run_hrflow({"--help"});
  EXPECT_EQ(out.exit_code, 0);
  const std::set<std::string> expected = {"oltp", "produce", "sink", "sync",    "build", "run",    "test",
                                          "seed", "ls",      "list", "compile", "source", "init",  "serve",
                                          "status", "query", "dev",  "bench",   "config", "demo"};
  EXPECT_EQ(listed_subcommands(out.output), expected) << out.output;
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
