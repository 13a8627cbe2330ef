// The hrflow binary as a user meets it: help, version, configuration errors, exit codes, the demo, an
// installed copy without the source tree, and `init`.
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
                                          "seed", "ls",      "list", "compile", "source", "init",  "import", "export", "serve",
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

// An installed hrflow: the binary and libduckdb.so copied into a folder of their own and run from a
// directory with no warehouse/ (nor any other part of the source tree). The demo must build the
// warehouse from the project embedded in the binary, written out to {state_dir}/builtin-project.
TEST(Cli, InstalledBinaryRunsTheDemoWithoutTheSourceTree) {
  TempDir dir;
  namespace fs = std::filesystem;
  const fs::path bin = dir.path() / "bin", work = dir.path() / "work";
  fs::create_directories(bin);
  fs::create_directories(work);
  fs::copy_file(hrflow_bin(), bin / "hrflow");
  const fs::path duckdb = source_dir() / "third_party/duckdb/lib/libduckdb.so";
  ASSERT_TRUE(fs::exists(duckdb)) << duckdb;
  fs::copy_file(duckdb, bin / "libduckdb.so");
  std::ofstream(work / "hrflow.yml") << "oltp:\n  port: " << free_port() << "\n";
  ASSERT_FALSE(fs::exists(work / "warehouse"));
  // LD_LIBRARY_PATH wins over the build's runpath, so the copied libduckdb.so is the one loaded.
  auto installed = [&](const std::string& args) {
    auto r = run_command({"/bin/sh", "-c", "cd '" + work.string() + "' && LD_LIBRARY_PATH='" + bin.string() +
                                               "' exec '" + (bin / "hrflow").string() + "' " + args});
    return r.ok() ? *r : CommandOutput{-1, r.error().message};
  };
  auto libs = run_command({"/bin/sh", "-c", "LD_LIBRARY_PATH='" + bin.string() + "' ldd '" + (bin / "hrflow").string() + "'"});
  ASSERT_TRUE(libs.ok());
  EXPECT_TRUE(contains(libs->output, (bin / "libduckdb.so").string())) << libs->output;

  auto out = installed("demo --no-serve --users 3 --days 1");
  EXPECT_EQ(out.exit_code, 0) << out.output;
  EXPECT_TRUE(contains(out.output, "[8/8] build and test the warehouse")) << out.output;
  EXPECT_TRUE(contains(out.output, "ERROR=0")) << out.output;
  EXPECT_TRUE(contains(out.output, "serving.fct_heart_rates")) << out.output;
  const fs::path builtin = work / ".hrflow/builtin-project";
  EXPECT_TRUE(fs::exists(builtin / "dbt_project.yml"));
  EXPECT_TRUE(fs::exists(builtin / "GENERATED.txt"));
  EXPECT_TRUE(fs::exists(builtin / "models/staging"));
  // The compiled SQL came from that project, not from a source checkout.
  auto compiled = installed("compile -s stg_heart_rates");
  EXPECT_EQ(compiled.exit_code, 0) << compiled.output;
  EXPECT_TRUE(contains(compiled.output, "heart_rate_stream")) << compiled.output;
  installed("oltp down");
  EXPECT_FALSE(fs::exists(work / "warehouse")) << "nothing of the source tree was written out next to it";
}

// `hrflow init DIR` writes the project for editing: `ls --project-dir DIR` lists it, including a model
// the user added; a second init refuses to overwrite the user's changes unless --force.
TEST(Cli, InitWritesAnEditableProjectAndRefusesToOverwrite) {
  TempDir dir;
  namespace fs = std::filesystem;
  auto out = run_hrflow({"init", "mine"}, dir.path());
  ASSERT_EQ(out.exit_code, 0) << out.output;
  EXPECT_TRUE(contains(out.output, "wrote the warehouse project")) << out.output;
  const fs::path project = dir.path() / "mine";
  ASSERT_TRUE(fs::exists(project / "dbt_project.yml"));
  EXPECT_FALSE(fs::exists(project / "GENERATED.txt")) << "an init'ed project is the user's, not regenerated";

  std::ofstream(project / "models/staging/my_extra.sql") << "select 1 as id\n";
  auto listed = run_hrflow({"ls", "--project-dir", "mine"}, dir.path());
  ASSERT_EQ(listed.exit_code, 0) << listed.output;
  for (const char* node : {"my_extra", "stg_heart_rates", "fct_heart_rates", "dim_users"}) {
    EXPECT_TRUE(contains(listed.output, node)) << node << " missing from:\n" << listed.output;
  }

  std::string edited;
  {
    std::ifstream in(project / "dbt_project.yml");
    edited.assign(std::istreambuf_iterator<char>(in), {});
  }
  edited += "# my change\n";
  std::ofstream(project / "dbt_project.yml") << edited;
  auto again = run_hrflow({"init", "mine"}, dir.path());
  EXPECT_NE(again.exit_code, 0) << again.output;
  EXPECT_TRUE(contains(again.output, "exists")) << again.output;
  EXPECT_TRUE(contains(again.output, "--force")) << again.output;
  auto read = [&](const fs::path& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  EXPECT_EQ(read(project / "dbt_project.yml"), edited) << "a refused init changes nothing";

  auto forced = run_hrflow({"init", "mine", "--force"}, dir.path());
  EXPECT_EQ(forced.exit_code, 0) << forced.output;
  EXPECT_FALSE(contains(read(project / "dbt_project.yml"), "# my change")) << "--force writes the project's files";
  EXPECT_TRUE(fs::exists(project / "models/staging/my_extra.sql")) << "files of the user's own are kept";
}

}  // namespace
}  // namespace hrflow::testing
