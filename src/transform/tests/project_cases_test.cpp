// SQL-logic-style tests of the transformation engine: each file under cases/ is a tiny project and a
// script run against the real `hrflow` binary and warehouse file. Sections, in order:
//   --- file: models/a.sql        the following lines become that file of the project (rewrites it)
//   --- delete: models/a.sql      remove a file of the project
//   --- sql: <statement>          run SQL on the warehouse (following lines continue the statement)
//   --- hrflow: build -s a        run the binary in the test directory (quotes group words)
//   --- exit: 1                   exit code of the last hrflow run (default expectation: 0)
//   --- output:                   each following line must be a whole line of the last output, in order
//                                 ('...' in a line stands for any text: timings, absolute paths)
//   --- sql-error: <node>         the last run failed, and the model, seed or test named <node> ended
//                                 in error (run_results.json) with each following line in its message
//   --- no-output:                none of the following lines may appear in the last output
//   --- query: <select>           following lines are the expected rows, columns joined by '|', NULL as NULL
//   --- file-contains: <path>     each following line must appear in that file (relative to the test dir)
//   --- note: <text>              a comment
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "common/duckdb.h"
#include "support/fixtures.h"

namespace hrflow::testing {
namespace {

namespace fs = std::filesystem;

struct Section {
  std::string kind, arg;
  std::vector<std::string> lines;
  int line = 0;
};

std::vector<std::string> list_cases() {
  std::vector<std::string> out;
  fs::path dir = source_dir() / "src/transform/tests/cases";
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".case") out.push_back(e.path().stem().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<Section> parse_case(const fs::path& file) {
  std::ifstream in(file);
  std::vector<Section> out;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.rfind("--- ", 0) == 0) {
      Section s;
      std::string rest = line.substr(4);
      auto colon = rest.find(':');
      s.kind = rest.substr(0, colon);
      s.arg = colon == std::string::npos ? "" : rest.substr(colon + 1);
      s.arg.erase(0, s.arg.find_first_not_of(' '));
      s.line = n;
      out.push_back(s);
    } else if (!out.empty()) {
      out.back().lines.push_back(line);
    }
  }
  for (auto& s : out) {  // trailing blank lines separate sections
    while (!s.lines.empty() && s.lines.back().empty()) s.lines.pop_back();
  }
  return out;
}

std::vector<std::string> shell_words(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  bool in_word = false;
  char quote = 0;
  for (char c : s) {
    if (quote) {
      if (c == quote) quote = 0; else cur += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_word = true;
    } else if (std::isspace(static_cast<unsigned char>(c))) {
      if (in_word) out.push_back(cur);
      cur.clear();
      in_word = false;
    } else {
      cur += c;
      in_word = true;
    }
  }
  if (in_word) out.push_back(cur);
  return out;
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// A whole output line against an expected one, where '...' matches any text (possibly none).
bool line_matches(const std::string& line, const std::string& pattern) {
  std::vector<std::string> parts;
  for (size_t k = 0;;) {
    size_t dots = pattern.find("...", k);
    parts.push_back(pattern.substr(k, dots == std::string::npos ? std::string::npos : dots - k));
    if (dots == std::string::npos) break;
    k = dots + 3;
  }
  if (parts.size() == 1) return line == pattern;
  if (line.rfind(parts.front(), 0) != 0) return false;
  size_t pos = parts.front().size();
  for (size_t k = 1; k + 1 < parts.size(); ++k) {
    size_t found = line.find(parts[k], pos);
    if (found == std::string::npos) return false;
    pos = found + parts[k].size();
  }
  const std::string& last = parts.back();
  return line.size() >= pos + last.size() && line.compare(line.size() - last.size(), last.size(), last) == 0;
}

class ProjectCase : public ::testing::TestWithParam<std::string> {};

TEST_P(ProjectCase, Runs) {
  fs::path file = source_dir() / "src/transform/tests/cases" / (GetParam() + ".case");
  TempDir dir;
  fs::create_directories(dir.path() / "project");
  fs::create_directories(dir.path() / ".hrflow");
  std::ofstream(dir.path() / "hrflow.yml") << "transform:\n  project_dir: project\nwarehouse:\n  threads: 2\n";
  fs::path warehouse = dir.path() / ".hrflow/warehouse.duckdb";
  CommandOutput last;
  bool ran = false, exit_checked = true;
  std::string where;
  auto check_exit = [&] {
    if (ran && !exit_checked) {
      EXPECT_EQ(last.exit_code, 0) << where << ": hrflow failed:\n" << last.output;
    }
    exit_checked = true;
  };
  for (const auto& s : parse_case(file)) {
    where = fmt::format("{}.case:{}", GetParam(), s.line);
    if (s.kind == "file") {
      fs::path p = dir.path() / "project" / s.arg;
      fs::create_directories(p.parent_path());
      std::ofstream(p) << join_lines(s.lines);
    } else if (s.kind == "note") {
    } else if (s.kind == "delete") {
      fs::remove(dir.path() / "project" / s.arg);
    } else if (s.kind == "hrflow") {
      check_exit();
      last = run_hrflow(shell_words(s.arg), dir.path());
      ran = true;
      exit_checked = false;
    } else if (s.kind == "exit") {
      EXPECT_EQ(last.exit_code, std::stoi(s.arg)) << where << "\n" << last.output;
      exit_checked = true;
    } else if (s.kind == "output") {
      const auto lines = split_lines(last.output);
      size_t next = 0;
      for (const auto& l : s.lines) {
        size_t k = next;
        while (k < lines.size() && !line_matches(lines[k], l)) ++k;
        EXPECT_LT(k, lines.size()) << where << ": expected (in order) the line '" << l << "' in:\n" << last.output;
        if (k < lines.size()) next = k + 1;
      }
    } else if (s.kind == "sql-error") {
      if (!exit_checked) {
        EXPECT_NE(last.exit_code, 0) << where << ": expected the run to fail:\n" << last.output;
        exit_checked = true;
      }
      std::ifstream in(dir.path() / ".hrflow/target/run_results.json");
      ASSERT_TRUE(in.good()) << where << ": no run_results.json";
      auto results = nlohmann::json::parse(in, nullptr, false);
      ASSERT_FALSE(results.is_discarded()) << where << ": run_results.json is not JSON";
      const nlohmann::json* node = nullptr;
      for (const auto& r : results["results"]) {
        std::string id = r.value("unique_id", "");
        if (id.size() > s.arg.size() && id.compare(id.size() - s.arg.size() - 1, std::string::npos, "." + s.arg) == 0) node = &r;
      }
      ASSERT_NE(node, nullptr) << where << ": no result for '" << s.arg << "' in run_results.json";
      EXPECT_EQ((*node)["status"], "error") << where << ": " << s.arg << " did not end in error";
      const std::string message = node->value("message", "");
      size_t pos = 0;
      for (const auto& l : s.lines) {
        size_t found = message.find(l, pos);
        EXPECT_NE(found, std::string::npos) << where << ": expected (in order) '" << l << "' in the error of " << s.arg << ":\n" << message;
        if (found != std::string::npos) pos = found + l.size();
      }
    } else if (s.kind == "no-output") {
      for (const auto& l : s.lines) {
        EXPECT_EQ(last.output.find(l), std::string::npos) << where << ": did not expect '" << l << "' in:\n" << last.output;
      }
    } else if (s.kind == "sql" || s.kind == "query") {
      check_exit();
      auto database = db::Database::open(warehouse.string());
      ASSERT_TRUE(database.ok()) << where << ": " << database.error().message;
      auto conn = db::Connection::connect(*database);
      ASSERT_TRUE(conn.ok());
      if (s.kind == "sql") {
        std::string sql = s.arg + "\n" + join_lines(s.lines);
        auto st = conn->execute(sql);
        ASSERT_TRUE(st.ok()) << where << ": " << st.error().message;
        continue;
      }
      auto r = conn->query(s.arg);
      ASSERT_TRUE(r.ok()) << where << ": " << r.error().message;
      std::vector<std::string> rows;
      for (uint64_t row = 0; row < r->row_count(); ++row) {
        std::string text;
        for (uint64_t col = 0; col < r->column_count(); ++col) {
          auto v = r->get_string(row, col);
          text += (col ? "|" : "") + v.value_or("NULL");
        }
        rows.push_back(text);
      }
      EXPECT_EQ(join_lines(rows), join_lines(s.lines)) << where << ": " << s.arg;
    } else if (s.kind == "file-contains") {
      std::ifstream in(dir.path() / s.arg);
      ASSERT_TRUE(in.good()) << where << ": missing " << s.arg;
      std::stringstream ss;
      ss << in.rdbuf();
      for (const auto& l : s.lines) EXPECT_NE(ss.str().find(l), std::string::npos) << where << ": '" << l << "' not in " << s.arg << ":\n" << ss.str();
    } else {
      FAIL() << where << ": unknown section '" << s.kind << "'";
    }
  }
  check_exit();
}

INSTANTIATE_TEST_SUITE_P(Transform, ProjectCase, ::testing::ValuesIn(list_cases()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string n = info.param;
                           std::replace_if(n.begin(), n.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
                           return n;
                         });

}  // namespace
}  // namespace hrflow::testing
