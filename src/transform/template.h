// The subset of Jinja that dbt projects use, compiled and evaluated natively.
//
// Supported: {{ expr }}, {% if/elif/else %}, {% for a[, b] in x %} (loop.index/first/last, else),
// {% set x = e %} / {% set x %}..{% endset %}, {% macro m(a, b=1) %}, {% test name(model, ...) %},
// {% do e %}, {# comments #}, whitespace control ({%- -%}, {{- -}}), string/number/list/dict literals,
// arithmetic, comparison, `in`, `is [not] test`, `x if c else y`, filters and string/list/dict methods.
// Anything else (include, extends, call, raw, ...) is an error at file:line:column that says what
// to write instead: a template never renders into silently wrong SQL.
//
// Lifecycle: Template::parse() once per file; render() many times with an Environment that holds the
// globals (ref, source, config, var, ...) and the project's macros. Values are shared by reference
// counting; a Template is immutable and may be rendered from several threads, an Environment not.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace hrflow::transform {

struct Value;
using List = std::vector<Value>;
using Dict = std::vector<std::pair<std::string, Value>>;  // insertion-ordered, like Python dicts

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keywords;
  // The named argument, else the positional at `index` (if any), else nullptr.
  const Value* get(std::string_view name, size_t index = SIZE_MAX) const;
};

using NativeFn = std::function<Result<Value>(const CallArgs&)>;

struct Value {
  enum Kind { kUndefined, kNone, kBool, kInt, kFloat, kStr, kList, kDict, kFunc, kObject };
  Kind kind = kNone;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;                 // kStr; for kObject its rendering; for kUndefined the missing name
  std::shared_ptr<List> list;    // kList
  std::shared_ptr<Dict> dict;    // kDict, and the attributes of kObject
  std::shared_ptr<NativeFn> fn;  // kFunc

  static Value undefined(std::string name) { Value v; v.kind = kUndefined; v.s = std::move(name); return v; }
  static Value none() { return {}; }
  static Value boolean(bool x) { Value v; v.kind = kBool; v.b = x; return v; }
  static Value integer(int64_t x) { Value v; v.kind = kInt; v.i = x; return v; }
  static Value number(double x) { Value v; v.kind = kFloat; v.f = x; return v; }
  static Value str(std::string x) { Value v; v.kind = kStr; v.s = std::move(x); return v; }
  static Value of_list(List x) { Value v; v.kind = kList; v.list = std::make_shared<List>(std::move(x)); return v; }
  static Value of_dict(Dict x) { Value v; v.kind = kDict; v.dict = std::make_shared<Dict>(std::move(x)); return v; }
  static Value func(NativeFn f) { Value v; v.kind = kFunc; v.fn = std::make_shared<NativeFn>(std::move(f)); return v; }
  // An object with attributes that renders as `rendering` (relations, target, namespaces).
  static Value object(std::string rendering, Dict attrs) {
    Value v; v.kind = kObject; v.s = std::move(rendering); v.dict = std::make_shared<Dict>(std::move(attrs)); return v;
  }

  bool truthy() const;
  bool is_undefined() const { return kind == kUndefined; }
  const Value* attr(std::string_view name) const;  // dict key or object attribute
  std::string type_name() const;
};

// Python-like string form ("None", "True", "['a', 'b']") — what {{ }} prints.
std::string to_display(const Value& v);
bool values_equal(const Value& a, const Value& b);

// Values from YAML (vars, test arguments, meta).
Value value_from_yaml_text(const std::string& scalar);

class Environment;
struct TemplateNode;

class Template {
 public:
  // `origin` is the file name used in error messages; `line_offset` shifts reported lines.
  static Result<Template> parse(std::string source, std::string origin);
  // Render with `env`; macros defined in this template are registered locally for the render.
  Result<std::string> render(Environment& env) const;
  // Register this template's {% macro %} and {% test %} definitions in `env` globally (macro files).
  Status define_macros(Environment& env) const;
  const std::string& origin() const { return origin_; }

 private:
  std::string origin_;
  std::shared_ptr<const std::vector<std::shared_ptr<TemplateNode>>> nodes_;
  std::shared_ptr<const std::string> source_;
};

// Globals and macros visible to a render. Callers add the dbt context (ref, source, config, ...).
class Environment {
 public:
  Environment();
  void set_global(const std::string& name, Value v) { globals_[name] = std::move(v); }
  const Value* global(const std::string& name) const;
  // Generic tests defined with {% test name(...) %}, by name.
  const std::map<std::string, Value>& generic_tests() const { return tests_; }
  void add_generic_test(const std::string& name, Value macro) { tests_[name] = std::move(macro); }
  // Evaluate a single expression (test arguments such as "ref('users')").
  Result<Value> eval_expression(const std::string& expr, const std::string& origin);

 private:
  friend class Template;
  friend struct Evaluator;
  std::map<std::string, Value> globals_;
  std::map<std::string, Value> tests_;
};

// Call a macro or function value with arguments.
Result<Value> call_value(const Value& callee, const CallArgs& args);

}  // namespace hrflow::transform
