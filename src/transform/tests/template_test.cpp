// The template language on its own, data-driven: every file under templates/ holds cases of a
// template and what it renders to, or the error it stops with. Format:
//   === what the case shows            starts a case; the following lines are the template
//   --- renders                         the following lines are the exact rendered text
//   --- error                           the next line is the start of the error message
//                                       (file:line:column: message), the file being t.sql
// Lines are joined with '\n' and nothing is trimmed: a blank line is part of the text (the last line
// of a template or expectation has no newline unless a blank line follows it). Lines starting with
// '#' before the first case are comments.
// Globals every case sees: items = ['a', 'b', 'c'], conf = {'k': 1, 'name': 'x'},
// people = [{'name': 'ann', 'age': 30}, {'name': 'bob', 'age': 25}].
#include "transform/template.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "support/fixtures.h"

namespace hrflow::transform {
namespace {

namespace fs = std::filesystem;

struct TemplateCase {
  std::string title;
  int line = 0;  // of the "===" line
  std::vector<std::string> source, expected;
  bool expects_error = false;
};

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (size_t k = 0; k < lines.size(); ++k) out += (k ? "\n" : "") + lines[k];
  return out;
}

// Parse one .case file; a malformed file is a test failure naming its line.
std::vector<TemplateCase> parse_cases(const fs::path& file) {
  std::ifstream in(file);
  EXPECT_TRUE(in.good()) << file;
  std::vector<TemplateCase> out;
  enum { kPreamble, kSource, kExpected } state = kPreamble;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.rfind("=== ", 0) == 0) {
      if (!out.empty() && state != kExpected) ADD_FAILURE() << file.filename() << ":" << out.back().line << ": case has no '--- renders' or '--- error'";
      out.push_back({line.substr(4), n, {}, {}, false});
      state = kSource;
    } else if (state == kSource && (line == "--- renders" || line == "--- error")) {
      out.back().expects_error = line == "--- error";
      state = kExpected;
    } else if (state == kSource) {
      out.back().source.push_back(line);
    } else if (state == kExpected) {
      out.back().expected.push_back(line);
    } else if (!line.empty() && line[0] != '#') {
      ADD_FAILURE() << file.filename() << ":" << n << ": text before the first '=== ' case";
    }
  }
  if (!out.empty() && state != kExpected) ADD_FAILURE() << file.filename() << ":" << out.back().line << ": case has no expectation";
  return out;
}

fs::path cases_dir() { return hrflow::testing::source_dir() / "src/transform/tests/templates"; }

std::vector<std::string> list_files() {
  std::vector<std::string> out;
  if (!fs::is_directory(cases_dir())) return out;
  for (const auto& e : fs::directory_iterator(cases_dir())) {
    if (e.path().extension() == ".case") out.push_back(e.path().stem().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// What the case's template gives: its rendering, or "ERROR:" + the message.
std::string render(const std::string& source) {
  Environment env;
  env.set_global("items", Value::of_list({Value::str("a"), Value::str("b"), Value::str("c")}));
  env.set_global("conf", Value::of_dict({{"k", Value::integer(1)}, {"name", Value::str("x")}}));
  env.set_global("people", Value::of_list({Value::of_dict({{"name", Value::str("ann")}, {"age", Value::integer(30)}}),
                                           Value::of_dict({{"name", Value::str("bob")}, {"age", Value::integer(25)}})}));
  auto t = Template::parse(source, "t.sql");
  if (!t.ok()) return "ERROR:" + t.error().message;
  auto r = t->render(env);
  if (!r.ok()) return "ERROR:" + r.error().message;
  return *r;
}

class TemplateCases : public ::testing::TestWithParam<std::string> {};

TEST_P(TemplateCases, RenderAsExpected) {
  const fs::path file = cases_dir() / (GetParam() + ".case");
  auto cases = parse_cases(file);
  ASSERT_FALSE(cases.empty()) << file << " has no cases";
  for (const auto& c : cases) {
    const std::string where = fmt::format("{}.case:{}: {}", GetParam(), c.line, c.title);
    const std::string source = join_lines(c.source);
    const std::string got = render(source);
    if (c.expects_error) {
      ASSERT_EQ(c.expected.size(), 1u) << where << ": '--- error' takes one line";
      const std::string want = "ERROR:" + c.expected[0];
      EXPECT_EQ(got.rfind(want, 0), 0u) << where << "\ntemplate:\n" << source << "\n     got: " << got << "\nexpected: " << want << "...";
    } else {
      EXPECT_EQ(got, join_lines(c.expected)) << where << "\ntemplate:\n" << source;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Template, TemplateCases, ::testing::ValuesIn(list_files()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string n = info.param;
                           std::replace_if(n.begin(), n.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
                           return n;
                         });

// A case file that the harness did not find would silently test nothing.
TEST(TemplateCases, EveryTopicHasAFile) {
  auto files = list_files();
  for (const char* topic : {"expressions", "filters", "loops", "macros", "set", "whitespace", "comments", "methods", "errors"}) {
    EXPECT_NE(std::find(files.begin(), files.end(), topic), files.end()) << "missing templates/" << topic << ".case";
  }
}

}  // namespace
}  // namespace hrflow::transform
