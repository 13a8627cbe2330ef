// The template language on its own: every construct renders as Jinja would, and every error names
// file:line:column with what to write instead.
#include "transform/template.h"

#include <gtest/gtest.h>

namespace hrflow::transform {
namespace {

struct Case {
  const char* source;
  const char* expected;  // rendered text, or the start of "ERROR:" + a part of the message
};

std::string render(const std::string& source) {
  Environment env;
  env.set_global("items", Value::of_list({Value::str("a"), Value::str("b"), Value::str("c")}));
  env.set_global("conf", Value::of_dict({{"k", Value::integer(1)}, {"name", Value::str("x")}}));
  auto t = Template::parse(source, "models/t.sql");
  if (!t.ok()) return "ERROR:" + t.error().message;
  auto r = t->render(env);
  if (!r.ok()) return "ERROR:" + r.error().message;
  return *r;
}

TEST(Template, RendersEveryConstruct) {
  const Case cases[] = {
      {"select 1", "select 1"},
      {"{{ 1 + 2 * 3 }}|{{ (1 + 2) * 3 }}|{{ 7 // 2 }}|{{ 7 % 3 }}|{{ 2 ** 3 }}|{{ 7 / 2 }}|{{ -3 }}", "7|9|3|1|8|3.5|-3"},
      {"{{ 'a' ~ 1 }}|{{ \"x\" + 'y' }}|{{ 'it''s' }}", "a1|xy|its"},
      {"{{ [1, 'a', none] }}|{{ {'a': 1} }}|{{ true }}|{{ none }}", "[1, 'a', None]|{'a': 1}|True|None"},
      {"{# a comment #}x{# another\nline #}", "x"},
      {"{% if 1 > 2 %}a{% elif 2 > 1 %}b{% else %}c{% endif %}", "b"},
      {"{% if not false and (1 == 1 or 0) %}yes{% endif %}", "yes"},
      {"{% for x in items %}{{ loop.index }}{{ x }}{% if not loop.last %},{% endif %}{% endfor %}", "1a,2b,3c"},
      {"{% for x in [] %}a{% else %}empty{% endfor %}", "empty"},
      {"{% for k, v in conf.items() %}{{ k }}={{ v }};{% endfor %}", "k=1;name=x;"},
      {"{% set x = 5 %}{% set a, b = [1, 2] %}{{ x + a + b }}", "8"},
      {"{% set block %}select {{ 1 }}{% endset %}[{{ block }}]", "[select 1]"},
      {"{% for x in items %}{% set y = x %}{% endfor %}{{ y is defined }}", "False"},
      {"{% macro m(a, b=2) %}{{ a }}+{{ b }}{% endmacro %}{{ m(1) }} {{ m(1, b=3) }} {{ m(b=4, a=0) }}", "1+2 1+3 0+4"},
      {"{% macro r() %}{{ return([1, 2]) }}{% endmacro %}{{ r() | length }}", "2"},
      {"a  {%- if true -%}  b  {%- endif -%}  c", "abc"},
      {"x\n  {{- ' y' }}", "x y"},
      {"{{ items | join(', ') }}|{{ items | length }}|{{ 'Ab' | upper }}{{ 'Ab' | lower }}|{{ items | first }}{{ items | last }}",
       "a, b, c|3|ABab|ac"},
      {"{{ undefined_thing | default('d') }}|{{ ' s ' | trim }}|{{ 'a-b' | replace('-', '_') }}|{{ [3, 1, 2] | sort }}",
       "d|s|a_b|[1, 2, 3]"},
      {"{{ '5' | int + 1 }}|{{ 2 | float }}|{{ -2 | abs }}|{{ 2.567 | round(1) }}|{{ [1, 1, 2] | unique | list }}",
       "6|2.0|2|2.6|[1, 2]"},
      {"{{ 'a,b'.split(',') }}|{{ '-'.join(['x', 'y']) }}|{{ 'abc'.upper() }}|{{ 'abc'.startswith('ab') }}", "['a', 'b']|x-y|ABC|True"},
      {"{{ conf.name }}|{{ conf['k'] }}|{{ conf.get('zz', 9) }}|{{ items[0] }}{{ items[-1] }}|{{ items[1:] }}", "x|1|9|ac|['b', 'c']"},
      {"{{ 'b' in items }}|{{ 'z' not in items }}|{{ 'k' in conf }}|{{ none is none }}|{{ 3 is number }}|{{ 'x' is string }}",
       "True|True|True|True|True|True"},
      {"{{ 'yes' if 1 else 'no' }}|{{ 'yes' if 0 }}|{{ 4 is divisibleby 2 }}", "yes||True"},
      {"{% set l = [] %}{% do l.append(1) %}{% do l.append(2) %}{{ l }}", "[1, 2]"},
      {"{% set d = {} %}{% do d.update({'a': 1}) %}{{ d }}", "{'a': 1}"},
      {"{{ conf | tojson }}", "{\"k\": 1, \"name\": \"x\"}"},
      {"{% test my_test(model, column_name) %}select {{ column_name }} from {{ model }}{% endtest %}x", "x"},
  };
  for (const auto& c : cases) EXPECT_EQ(render(c.source), c.expected) << "template: " << c.source;
}

TEST(Template, ErrorsNameFileLineColumnAndTheFix) {
  const Case cases[] = {
      {"select\n  {{ nope }}", "ERROR:models/t.sql:2:3: 'nope' is undefined"},
      {"{% include 'x.sql' %}", "ERROR:models/t.sql:1:1: '{% include %}' is not supported: put shared SQL in a macro"},
      {"{% call m() %}{% endcall %}", "ERROR:models/t.sql:1:1: '{% call %}' is not supported"},
      {"{% if x %}\nselect", "ERROR:models/t.sql:1:1: '{% if %}' is never closed: add '{% endif %}'"},
      {"{% for x in items %}{% endif %}", "ERROR:models/t.sql:1:21: unexpected '{% endif %}'"},
      {"x {{ 1 + }}", "ERROR:models/t.sql:1:10: expected a value but found 'end of tag'"},
      {"\n\n  {{ 'abc }}", "ERROR:models/t.sql:3:6: unterminated string literal"},
      {"{{ items | frobnicate }}", "ERROR:models/t.sql:1:10: unknown filter 'frobnicate'"},
      {"{{ 1 + 'a' }}", "ERROR:models/t.sql:1:6: '+' needs numbers"},
      {"{{ missing_macro(1) }}", "ERROR:models/t.sql:1:4: 'missing_macro' is undefined: define it with {% macro"},
      {"{{ 1", "ERROR:models/t.sql:1:1: '{{' is never closed"},
      {"{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1, zz=2) }}", "ERROR:models/t.sql:1:1: macro 'm' has no parameter 'zz'"},
      {"{{ is_incremental }}", "ERROR:models/t.sql:1:1: 'is_incremental' is undefined"},
  };
  for (const auto& c : cases) {
    std::string got = render(c.source);
    EXPECT_EQ(got.rfind(c.expected, 0), 0u) << "template: " << c.source << "\n got: " << got << "\nwant: " << c.expected;
  }
}

}  // namespace
}  // namespace hrflow::transform
