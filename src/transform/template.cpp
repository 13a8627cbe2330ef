#include "transform/template.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <set>

namespace hrflow::transform {

// ---------------------------------------------------------------------------------------------
// Values

const Value* CallArgs::get(std::string_view name, size_t index) const {
  for (const auto& [k, v] : keywords) {
    if (k == name) return &v;
  }
  if (index < positional.size()) return &positional[index];
  return nullptr;
}

bool Value::truthy() const {
  switch (kind) {
    case kUndefined:
    case kNone: return false;
    case kBool: return b;
    case kInt: return i != 0;
    case kFloat: return f != 0;
    case kStr: return !s.empty();
    case kList: return !list->empty();
    case kDict: return !dict->empty();
    case kFunc:
    case kObject: return true;
  }
  return false;
}

const Value* Value::attr(std::string_view name) const {
  if ((kind == kDict || kind == kObject) && dict) {
    for (const auto& [k, v] : *dict) {
      if (k == name) return &v;
    }
  }
  return nullptr;
}

std::string Value::type_name() const {
  switch (kind) {
    case kUndefined: return "undefined";
    case kNone: return "none";
    case kBool: return "boolean";
    case kInt: return "integer";
    case kFloat: return "number";
    case kStr: return "string";
    case kList: return "list";
    case kDict: return "dict";
    case kFunc: return "function";
    case kObject: return "object";
  }
  return "?";
}

namespace {
std::string format_double(double d) {
  if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) return fmt::format("{:.1f}", d);
  return fmt::format("{}", d);
}
std::string repr(const Value& v) {
  if (v.kind == Value::kStr) {
    std::string out = "'";
    for (char c : v.s) {
      if (c == '\'' || c == '\\') out += '\\';
      out += c;
    }
    return out + "'";
  }
  return to_display(v);
}
}  // namespace

std::string to_display(const Value& v) {
  switch (v.kind) {
    case Value::kUndefined: return "";
    case Value::kNone: return "None";
    case Value::kBool: return v.b ? "True" : "False";
    case Value::kInt: return std::to_string(v.i);
    case Value::kFloat: return format_double(v.f);
    case Value::kStr: return v.s;
    case Value::kList: {
      std::string out = "[";
      for (size_t k = 0; k < v.list->size(); ++k) out += (k ? ", " : "") + repr((*v.list)[k]);
      return out + "]";
    }
    case Value::kDict: {
      std::string out = "{";
      bool first = true;
      for (const auto& [k, x] : *v.dict) {
        out += (first ? "'" : ", '") + k + "': " + repr(x);
        first = false;
      }
      return out + "}";
    }
    case Value::kFunc: return "<function>";
    case Value::kObject: return v.s;
  }
  return "";
}

bool values_equal(const Value& a, const Value& b) {
  auto numeric = [](const Value& v) { return v.kind == Value::kInt || v.kind == Value::kFloat || v.kind == Value::kBool; };
  if (numeric(a) && numeric(b)) {
    auto d = [](const Value& v) { return v.kind == Value::kFloat ? v.f : static_cast<double>(v.kind == Value::kBool ? v.b : v.i); };
    return d(a) == d(b);
  }
  if (a.kind != b.kind) {
    if ((a.kind == Value::kObject && b.kind == Value::kStr) || (a.kind == Value::kStr && b.kind == Value::kObject)) return a.s == b.s;
    return false;
  }
  switch (a.kind) {
    case Value::kUndefined:
    case Value::kNone: return true;
    case Value::kStr:
    case Value::kObject: return a.s == b.s;
    case Value::kList:
      if (a.list->size() != b.list->size()) return false;
      for (size_t k = 0; k < a.list->size(); ++k) {
        if (!values_equal((*a.list)[k], (*b.list)[k])) return false;
      }
      return true;
    case Value::kDict:
      if (a.dict->size() != b.dict->size()) return false;
      for (const auto& [k, x] : *a.dict) {
        const Value* y = b.attr(k);
        if (!y || !values_equal(x, *y)) return false;
      }
      return true;
    case Value::kFunc: return a.fn == b.fn;
    default: return false;
  }
}

Value value_from_yaml_text(const std::string& s) {
  if (s == "true" || s == "True") return Value::boolean(true);
  if (s == "false" || s == "False") return Value::boolean(false);
  if (s == "null" || s == "~" || s == "None") return Value::none();
  if (!s.empty()) {
    char* end = nullptr;
    long long n = std::strtoll(s.c_str(), &end, 10);
    if (*end == '\0') return Value::integer(n);
    double d = std::strtod(s.c_str(), &end);
    if (*end == '\0') return Value::number(d);
  }
  return Value::str(s);
}

// ---------------------------------------------------------------------------------------------
// Lexing

namespace {

struct Pos {
  int line = 1, col = 1;
};

enum class Tok { kName, kString, kInt, kFloat, kOp, kEnd };

struct Token {
  Tok type = Tok::kEnd;
  std::string text;
  Pos pos;
};

Error template_error(const std::string& origin, Pos p, const std::string& msg) {
  return invalid_argument("{}:{}:{}: {}", origin, p.line, p.col, msg);
}

Result<std::vector<Token>> tokenize_expr(const std::string& src, size_t begin, size_t end, Pos start,
                                         const std::string& origin) {
  std::vector<Token> out;
  Pos p = start;
  size_t k = begin;
  auto advance = [&](size_t n) {
    for (size_t j = 0; j < n && k < end; ++j, ++k) {
      if (src[k] == '\n') { ++p.line; p.col = 1; } else { ++p.col; }
    }
  };
  while (k < end) {
    char c = src[k];
    if (std::isspace(static_cast<unsigned char>(c))) { advance(1); continue; }
    Token t;
    t.pos = p;
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t j = k;
      while (j < end && (std::isalnum(static_cast<unsigned char>(src[j])) || src[j] == '_')) ++j;
      t.type = Tok::kName;
      t.text = src.substr(k, j - k);
      advance(j - k);
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      size_t j = k;
      bool is_float = false;
      while (j < end && (std::isdigit(static_cast<unsigned char>(src[j])) || src[j] == '_')) ++j;
      if (j + 1 < end && src[j] == '.' && std::isdigit(static_cast<unsigned char>(src[j + 1]))) {
        is_float = true;
        ++j;
        while (j < end && std::isdigit(static_cast<unsigned char>(src[j]))) ++j;
      }
      if (j < end && (src[j] == 'e' || src[j] == 'E')) {
        is_float = true;
        ++j;
        if (j < end && (src[j] == '+' || src[j] == '-')) ++j;
        while (j < end && std::isdigit(static_cast<unsigned char>(src[j]))) ++j;
      }
      t.type = is_float ? Tok::kFloat : Tok::kInt;
      t.text = src.substr(k, j - k);
      t.text.erase(std::remove(t.text.begin(), t.text.end(), '_'), t.text.end());
      advance(j - k);
    } else if (c == '\'' || c == '"') {
      size_t j = k + 1;
      std::string val;
      while (j < end && src[j] != c) {
        if (src[j] == '\\' && j + 1 < end) {
          char e = src[j + 1];
          val += e == 'n' ? '\n' : e == 't' ? '\t' : e;
          j += 2;
        } else {
          val += src[j++];
        }
      }
      if (j >= end) return template_error(origin, p, "unterminated string literal: close it with " + std::string(1, c));
      t.type = Tok::kString;
      t.text = val;
      advance(j + 1 - k);
    } else {
      static const char* kOps[] = {"//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">",
                                   "(", ")", "[", "]", "{", "}", ",", ":", ".", "|", "="};
      bool matched = false;
      for (const char* op : kOps) {
        size_t n = std::strlen(op);
        if (src.compare(k, n, op) == 0 && k + n <= end) {
          t.type = Tok::kOp;
          t.text = op;
          advance(n);
          matched = true;
          break;
        }
      }
      if (!matched) return template_error(origin, p, fmt::format("unexpected character '{}' in expression", c));
    }
    out.push_back(std::move(t));
  }
  Token e;
  e.type = Tok::kEnd;
  e.pos = p;
  out.push_back(e);
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// AST

struct Expr {
  enum Kind { kLiteral, kName, kList, kDict, kAttr, kIndex, kSlice, kCall, kFilter, kTest, kUnary, kBinary, kAnd, kOr, kNot, kCond };
  Kind kind = kLiteral;
  Pos pos;
  Value literal;
  std::string name;  // kName, kAttr, kFilter, kTest, operators
  std::vector<std::shared_ptr<Expr>> args;  // operands / list items / dict keys+values / call args
  std::vector<std::string> kw_names;        // for calls & filters: names of trailing keyword args
  bool negated = false;                     // kTest
};
using ExprPtr = std::shared_ptr<Expr>;

struct TemplateNode {
  enum Kind { kText, kOutput, kIf, kFor, kSet, kSetBlock, kMacro, kDo };
  Kind kind = kText;
  Pos pos;
  std::string text;                                            // kText
  ExprPtr expr;                                                // output / set / do / for iterable
  std::vector<std::pair<ExprPtr, std::vector<std::shared_ptr<TemplateNode>>>> branches;  // if/elif
  std::vector<std::shared_ptr<TemplateNode>> body, else_body;  // for / macro / set block / else
  std::vector<std::string> targets;                            // for / set names; macro params
  std::vector<ExprPtr> defaults;                               // macro param defaults (nullptr = none)
  std::string name;                                            // macro name
  bool is_test = false;                                        // {% test %}
};
using NodePtr = std::shared_ptr<TemplateNode>;
using NodeList = std::vector<NodePtr>;

namespace {

class ExprParser {
 public:
  ExprParser(std::vector<Token> toks, const std::string& origin) : t_(std::move(toks)), origin_(origin) {}

  const Token& peek(size_t ahead = 0) const { return t_[std::min(k_ + ahead, t_.size() - 1)]; }
  bool at_end() const { return peek().type == Tok::kEnd; }
  bool is_op(const char* op, size_t ahead = 0) const { return peek(ahead).type == Tok::kOp && peek(ahead).text == op; }
  bool is_name(const char* n, size_t ahead = 0) const { return peek(ahead).type == Tok::kName && peek(ahead).text == n; }
  Token next() { return t_[k_ < t_.size() - 1 ? k_++ : k_]; }
  Error error(const std::string& msg) const { return template_error(origin_, peek().pos, msg); }
  Status expect_op(const char* op) {
    if (!is_op(op)) return error(fmt::format("expected '{}' but found '{}'", op, describe(peek())));
    next();
    return {};
  }
  static std::string describe(const Token& t) { return t.type == Tok::kEnd ? "end of tag" : t.text; }
  Result<std::string> expect_name() {
    if (peek().type != Tok::kName) return error(fmt::format("expected a name but found '{}'", describe(peek())));
    return next().text;
  }

  Result<ExprPtr> expression() {
    HRFLOW_ASSIGN_OR_RETURN(auto e, or_expr());
    if (is_name("if")) {
      Pos p = next().pos;
      HRFLOW_ASSIGN_OR_RETURN(auto cond, or_expr());
      ExprPtr other;
      if (is_name("else")) {
        next();
        HRFLOW_ASSIGN_OR_RETURN(other, expression());
      } else {
        other = lit(Value::str(""), p);  // Jinja renders a missing else as nothing
      }
      auto c = node(Expr::kCond, p);
      c->args = {cond, e, other};
      return c;
    }
    return e;
  }

 private:
  static ExprPtr node(Expr::Kind k, Pos p) {
    auto e = std::make_shared<Expr>();
    e->kind = k;
    e->pos = p;
    return e;
  }
  static ExprPtr lit(Value v, Pos p) {
    auto e = node(Expr::kLiteral, p);
    e->literal = std::move(v);
    return e;
  }
  Result<ExprPtr> or_expr() {
    HRFLOW_ASSIGN_OR_RETURN(auto l, and_expr());
    while (is_name("or")) {
      Pos p = next().pos;
      HRFLOW_ASSIGN_OR_RETURN(auto r, and_expr());
      auto e = node(Expr::kOr, p);
      e->args = {l, r};
      l = e;
    }
    return l;
  }
  Result<ExprPtr> and_expr() {
    HRFLOW_ASSIGN_OR_RETURN(auto l, not_expr());
    while (is_name("and")) {
      Pos p = next().pos;
      HRFLOW_ASSIGN_OR_RETURN(auto r, not_expr());
      auto e = node(Expr::kAnd, p);
      e->args = {l, r};
      l = e;
    }
    return l;
  }
  Result<ExprPtr> not_expr() {
    if (is_name("not")) {
      Pos p = next().pos;
      HRFLOW_ASSIGN_OR_RETURN(auto x, not_expr());
      auto e = node(Expr::kNot, p);
      e->args = {x};
      return e;
    }
    return compare();
  }
  // Comparisons chain as in Python and Jinja: a < b < c is (a < b) and (b < c).
  Result<ExprPtr> compare() {
    HRFLOW_ASSIGN_OR_RETURN(auto l, concat());
    ExprPtr left = l, chain;
    for (;;) {
      std::string op;
      Pos p = peek().pos;
      if (peek().type == Tok::kOp && (peek().text == "==" || peek().text == "!=" || peek().text == "<" ||
                                      peek().text == ">" || peek().text == "<=" || peek().text == ">=")) {
        op = next().text;
      } else if (is_name("in")) {
        next();
        op = "in";
      } else if (is_name("not") && is_name("in", 1)) {
        next();
        next();
        op = "not in";
      } else {
        break;
      }
      HRFLOW_ASSIGN_OR_RETURN(auto r, concat());
      auto e = node(Expr::kBinary, p);
      e->name = op;
      e->args = {left, r};
      if (chain) {
        auto both = node(Expr::kAnd, p);
        both->args = {chain, e};
        chain = both;
      } else {
        chain = e;
      }
      left = r;
    }
    return chain ? chain : l;
  }
  Result<ExprPtr> concat() {
    HRFLOW_ASSIGN_OR_RETURN(auto l, sum());
    while (is_op("~")) {
      Pos p = next().pos;
      HRFLOW_ASSIGN_OR_RETURN(auto r, sum());
      auto e = node(Expr::kBinary, p);
      e->name = "~";
      e->args = {l, r};
      l = e;
    }
    return l;
  }
  Result<ExprPtr> sum() {
    HRFLOW_ASSIGN_OR_RETURN(auto l, product());
    while (is_op("+") || is_op("-")) {
      Token op = next();
      HRFLOW_ASSIGN_OR_RETURN(auto r, product());
      auto e = node(Expr::kBinary, op.pos);
      e->name = op.text;
      e->args = {l, r};
      l = e;
    }
    return l;
  }
  Result<ExprPtr> product() {
    HRFLOW_ASSIGN_OR_RETURN(auto l, power());
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      Token op = next();
      HRFLOW_ASSIGN_OR_RETURN(auto r, power());
      auto e = node(Expr::kBinary, op.pos);
      e->name = op.text;
      e->args = {l, r};
      l = e;
    }
    return l;
  }
  Result<ExprPtr> power() {
    HRFLOW_ASSIGN_OR_RETURN(auto l, unary());
    while (is_op("**")) {
      Token op = next();
      HRFLOW_ASSIGN_OR_RETURN(auto r, unary());
      auto e = node(Expr::kBinary, op.pos);
      e->name = "**";
      e->args = {l, r};
      l = e;
    }
    return l;
  }
  // As in Jinja, filters apply to the whole unary expression: -2|abs is (-2)|abs.
  Result<ExprPtr> unary(bool with_filters = true) {
    ExprPtr x;
    if (is_op("-") || is_op("+")) {
      Token op = next();
      HRFLOW_ASSIGN_OR_RETURN(auto operand, unary(false));
      x = node(Expr::kUnary, op.pos);
      x->name = op.text;
      x->args = {operand};
    } else {
      HRFLOW_ASSIGN_OR_RETURN(x, postfix());
    }
    if (!with_filters) return x;
    return filters(x);
  }
  Status call_args(const ExprPtr& call) {
    // after '('
    while (!is_op(")")) {
      if (peek().type == Tok::kName && is_op("=", 1)) {
        call->kw_names.push_back(next().text);
        next();
        HRFLOW_ASSIGN_OR_RETURN(auto v, expression());
        call->args.push_back(v);
      } else {
        if (!call->kw_names.empty()) return error("a positional argument cannot follow keyword arguments");
        if (is_op("*") || is_op("**")) return error("*args / **kwargs in calls are not supported: pass arguments by name");
        HRFLOW_ASSIGN_OR_RETURN(auto v, expression());
        call->args.push_back(v);
      }
      if (is_op(",")) { next(); continue; }
      if (!is_op(")")) return error(fmt::format("expected ',' or ')' in the argument list but found '{}'", describe(peek())));
    }
    next();
    return {};
  }
  Result<ExprPtr> postfix() {
    HRFLOW_ASSIGN_OR_RETURN(auto x, primary());
    for (;;) {
      if (is_op(".")) {
        Pos p = next().pos;
        HRFLOW_ASSIGN_OR_RETURN(auto n, expect_name());
        auto e = node(Expr::kAttr, p);
        e->name = n;
        e->args = {x};
        x = e;
      } else if (is_op("[")) {
        Pos p = next().pos;
        ExprPtr a, b;
        bool slice = false;
        if (!is_op(":")) { HRFLOW_ASSIGN_OR_RETURN(a, expression()); }
        if (is_op(":")) {
          slice = true;
          next();
          if (!is_op("]")) { HRFLOW_ASSIGN_OR_RETURN(b, expression()); }
        }
        HRFLOW_TRY(expect_op("]"));
        auto e = node(slice ? Expr::kSlice : Expr::kIndex, p);
        e->args = {x, a ? a : lit(Value::none(), p), b ? b : lit(Value::none(), p)};
        x = e;
      } else if (is_op("(")) {
        next();
        auto e = node(Expr::kCall, x->pos);  // errors point at the callee's name
        e->args = {x};
        HRFLOW_TRY(call_args(e));
        x = e;
      } else {
        return x;
      }
    }
  }
  Result<ExprPtr> filters(ExprPtr x) {
    for (;;) {
      if (is_op("|")) {
        Pos p = next().pos;
        HRFLOW_ASSIGN_OR_RETURN(auto n, expect_name());
        auto e = node(Expr::kFilter, p);
        e->name = n;
        e->args = {x};
        if (is_op("(")) {
          next();
          HRFLOW_TRY(call_args(e));
        }
        x = e;
      } else if (is_name("is")) {
        Pos p = next().pos;
        auto e = node(Expr::kTest, p);
        if (is_name("not")) { next(); e->negated = true; }
        if (peek().type != Tok::kName) return error("expected a test name after 'is' (defined, none, string, number, ...)");
        e->name = next().text;
        e->args = {x};
        if (is_op("(")) {
          next();
          HRFLOW_TRY(call_args(e));
        } else if (peek().type == Tok::kInt || peek().type == Tok::kString || peek().type == Tok::kFloat) {
          HRFLOW_ASSIGN_OR_RETURN(auto arg, primary());
          e->args.push_back(arg);
        }
        x = e;
      } else {
        return x;
      }
    }
  }
  Result<ExprPtr> primary() {
    Token t = peek();
    switch (t.type) {
      case Tok::kString: {
        next();
        std::string s = t.text;
        while (peek().type == Tok::kString) s += next().text;  // adjacent literals concatenate
        return lit(Value::str(s), t.pos);
      }
      case Tok::kInt: next(); return lit(Value::integer(std::strtoll(t.text.c_str(), nullptr, 10)), t.pos);
      case Tok::kFloat: next(); return lit(Value::number(std::strtod(t.text.c_str(), nullptr)), t.pos);
      case Tok::kName: {
        next();
        if (t.text == "true" || t.text == "True") return lit(Value::boolean(true), t.pos);
        if (t.text == "false" || t.text == "False") return lit(Value::boolean(false), t.pos);
        if (t.text == "none" || t.text == "None") return lit(Value::none(), t.pos);
        auto e = node(Expr::kName, t.pos);
        e->name = t.text;
        return e;
      }
      case Tok::kOp:
        if (t.text == "(") {
          next();
          HRFLOW_ASSIGN_OR_RETURN(auto e, expression());
          if (is_op(",")) {  // a tuple: treat as a list
            auto l = node(Expr::kList, t.pos);
            l->args.push_back(e);
            while (is_op(",")) {
              next();
              if (is_op(")")) break;
              HRFLOW_ASSIGN_OR_RETURN(auto item, expression());
              l->args.push_back(item);
            }
            e = l;
          }
          HRFLOW_TRY(expect_op(")"));
          return e;
        }
        if (t.text == "[") {
          next();
          auto l = node(Expr::kList, t.pos);
          while (!is_op("]")) {
            HRFLOW_ASSIGN_OR_RETURN(auto item, expression());
            l->args.push_back(item);
            if (is_op(",")) { next(); continue; }
            if (!is_op("]")) return error(fmt::format("expected ',' or ']' in the list but found '{}'", describe(peek())));
          }
          next();
          return l;
        }
        if (t.text == "{") {
          next();
          auto d = node(Expr::kDict, t.pos);
          while (!is_op("}")) {
            HRFLOW_ASSIGN_OR_RETURN(auto key, expression());
            HRFLOW_TRY(expect_op(":"));
            HRFLOW_ASSIGN_OR_RETURN(auto val, expression());
            d->args.push_back(key);
            d->args.push_back(val);
            if (is_op(",")) { next(); continue; }
            if (!is_op("}")) return error(fmt::format("expected ',' or '}}' in the dict but found '{}'", describe(peek())));
          }
          next();
          return d;
        }
        [[fallthrough]];
      default:
        return error(fmt::format("expected a value but found '{}'", describe(t)));
    }
  }

  std::vector<Token> t_;
  size_t k_ = 0;
  const std::string& origin_;
};

// A raw piece of the template: text, {{ }} or {% %}.
struct Segment {
  enum Kind { kText, kVar, kBlock } kind;
  Pos pos;        // of the opening delimiter
  size_t begin, end;  // content (without delimiters)
  Pos content_pos;
  std::string text;   // kText after whitespace control
};

Result<std::vector<Segment>> split_segments(const std::string& src, const std::string& origin) {
  std::vector<Segment> segs;
  size_t k = 0;
  Pos p;
  auto pos_advance = [&](size_t from, size_t to) {
    for (size_t j = from; j < to; ++j) {
      if (src[j] == '\n') { ++p.line; p.col = 1; } else { ++p.col; }
    }
  };
  bool strip_next = false;
  while (k <= src.size()) {
    size_t open = src.find('{', k);
    while (open != std::string::npos && open + 1 < src.size() && src[open + 1] != '{' && src[open + 1] != '%' && src[open + 1] != '#') {
      open = src.find('{', open + 1);
    }
    if (open != std::string::npos && open + 1 >= src.size()) open = std::string::npos;
    size_t text_end = open == std::string::npos ? src.size() : open;
    std::string text = src.substr(k, text_end - k);
    Pos text_pos = p;
    pos_advance(k, text_end);
    if (strip_next) {
      size_t n = 0;
      while (n < text.size() && std::isspace(static_cast<unsigned char>(text[n]))) ++n;
      text.erase(0, n);
      strip_next = false;
    }
    bool strip_prev = open != std::string::npos && open + 2 < src.size() && src[open + 2] == '-';
    if (strip_prev) {
      while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
    }
    if (!text.empty()) segs.push_back({Segment::kText, text_pos, 0, 0, text_pos, text});
    if (open == std::string::npos) break;
    char kind = src[open + 1];
    Pos open_pos = p;
    const char* close = kind == '{' ? "}}" : kind == '%' ? "%}" : "#}";
    size_t content = open + 2 + (strip_prev ? 1 : 0);
    size_t close_at = src.find(close, content);
    if (close_at == std::string::npos) {
      return template_error(origin, open_pos, fmt::format("'{}{}' is never closed: add '{}'", '{', kind, close));
    }
    size_t content_end = close_at;
    if (content_end > content && src[content_end - 1] == '-') {
      strip_next = true;
      --content_end;
    }
    Pos cpos = p;
    pos_advance(open, content);
    cpos = p;
    pos_advance(content, close_at + 2);
    k = close_at + 2;
    if (kind == '#') continue;
    segs.push_back({kind == '{' ? Segment::kVar : Segment::kBlock, open_pos, content, content_end, cpos, {}});
    if (k >= src.size()) break;
  }
  return segs;
}

const char* unsupported_hint(const std::string& tag) {
  if (tag == "include" || tag == "import" || tag == "from" || tag == "extends" || tag == "block")
    return "put shared SQL in a macro under macros/ and call it";
  if (tag == "call") return "call the macro directly with its arguments, e.g. {{ my_macro(x) }}";
  if (tag == "raw") return "write the text outside a template tag, or as a string literal {{ '{{' }}";
  if (tag == "filter") return "apply the filter to an expression: {{ x | upper }}";
  if (tag == "with") return "use {% set %} inside the block";
  if (tag == "materialization" || tag == "snapshot") return "use config(materialized='table'|'view'|'incremental'|'ephemeral')";
  if (tag == "break" || tag == "continue") return "filter the list before the loop, or wrap the body in {% if %}";
  return "use if/elif/else, for, set, macro, test or do";
}

class BlockParser {
 public:
  BlockParser(const std::string& src, std::vector<Segment> segs, const std::string& origin)
      : src_(src), segs_(std::move(segs)), origin_(origin) {}

  // Parse until one of `terminators` (block tag names); returns the terminator found ("" at EOF).
  Result<NodeList> parse(const std::set<std::string>& terminators, std::string* found, ExprParser** tag_rest,
                         std::string_view opener, Pos opener_pos) {
    NodeList out;
    while (k_ < segs_.size()) {
      const Segment& s = segs_[k_++];
      if (s.kind == Segment::kText) {
        auto n = std::make_shared<TemplateNode>();
        n->kind = TemplateNode::kText;
        n->text = s.text;
        n->pos = s.pos;
        out.push_back(n);
        continue;
      }
      HRFLOW_ASSIGN_OR_RETURN(auto toks, tokenize_expr(src_, s.begin, s.end, s.content_pos, origin_));
      current_ = std::make_unique<ExprParser>(std::move(toks), origin_);
      ExprParser& ep = *current_;
      if (s.kind == Segment::kVar) {
        if (ep.at_end()) return template_error(origin_, s.pos, "empty {{ }}: write an expression inside");
        HRFLOW_ASSIGN_OR_RETURN(auto e, ep.expression());
        if (!ep.at_end()) return ep.error(fmt::format("unexpected '{}' after the expression", ExprParser::describe(ep.peek())));
        auto n = std::make_shared<TemplateNode>();
        n->kind = TemplateNode::kOutput;
        n->expr = e;
        n->pos = s.pos;
        out.push_back(n);
        continue;
      }
      if (ep.peek().type != Tok::kName) return template_error(origin_, s.pos, "expected a tag name after '{%'");
      std::string tag = ep.next().text;
      if (terminators.count(tag)) {
        *found = tag;
        *tag_rest = current_.get();
        return out;
      }
      Pos pos = s.pos;
      if (tag == "if") {
        HRFLOW_ASSIGN_OR_RETURN(auto n, parse_if(ep, pos));
        out.push_back(n);
      } else if (tag == "for") {
        HRFLOW_ASSIGN_OR_RETURN(auto n, parse_for(ep, pos));
        out.push_back(n);
      } else if (tag == "set") {
        HRFLOW_ASSIGN_OR_RETURN(auto n, parse_set(ep, pos));
        out.push_back(n);
      } else if (tag == "macro" || tag == "test") {
        HRFLOW_ASSIGN_OR_RETURN(auto n, parse_macro(ep, pos, tag == "test"));
        out.push_back(n);
      } else if (tag == "do") {
        HRFLOW_ASSIGN_OR_RETURN(auto e, ep.expression());
        HRFLOW_TRY(end_of_tag(ep));
        auto n = std::make_shared<TemplateNode>();
        n->kind = TemplateNode::kDo;
        n->expr = e;
        n->pos = pos;
        out.push_back(n);
      } else if (tag.rfind("end", 0) == 0 || tag == "else" || tag == "elif") {
        std::string hint = opener.empty() ? "remove it" : fmt::format("the open block is '{}' from line {}", opener, opener_pos.line);
        return template_error(origin_, pos, fmt::format("unexpected '{{% {} %}}': {}", tag, hint));
      } else {
        return template_error(origin_, pos, fmt::format("'{{% {} %}}' is not supported: {}", tag, unsupported_hint(tag)));
      }
    }
    if (!terminators.empty()) {
      std::string want = *terminators.rbegin();
      return template_error(origin_, opener_pos, fmt::format("'{{% {} %}}' is never closed: add '{{% {} %}}'", opener, want));
    }
    *found = "";
    return out;
  }

 private:
  Status end_of_tag(ExprParser& ep) {
    if (!ep.at_end()) return ep.error(fmt::format("unexpected '{}' at the end of the tag", ExprParser::describe(ep.peek())));
    return {};
  }
  Result<NodePtr> parse_if(ExprParser& ep, Pos pos) {
    auto n = std::make_shared<TemplateNode>();
    n->kind = TemplateNode::kIf;
    n->pos = pos;
    HRFLOW_ASSIGN_OR_RETURN(auto cond, ep.expression());
    HRFLOW_TRY(end_of_tag(ep));
    for (;;) {
      std::string found;
      ExprParser* rest = nullptr;
      HRFLOW_ASSIGN_OR_RETURN(auto body, parse({"elif", "else", "endif"}, &found, &rest, "if", pos));
      n->branches.emplace_back(cond, std::move(body));
      if (found == "endif") { HRFLOW_TRY(end_of_tag(*rest)); return n; }
      if (found == "else") {
        HRFLOW_TRY(end_of_tag(*rest));
        HRFLOW_ASSIGN_OR_RETURN(n->else_body, parse({"endif"}, &found, &rest, "if", pos));
        HRFLOW_TRY(end_of_tag(*rest));
        return n;
      }
      HRFLOW_ASSIGN_OR_RETURN(cond, rest->expression());
      HRFLOW_TRY(end_of_tag(*rest));
    }
  }
  Result<NodePtr> parse_for(ExprParser& ep, Pos pos) {
    auto n = std::make_shared<TemplateNode>();
    n->kind = TemplateNode::kFor;
    n->pos = pos;
    for (;;) {
      HRFLOW_ASSIGN_OR_RETURN(auto name, ep.expect_name());
      n->targets.push_back(name);
      if (ep.is_op(",")) { ep.next(); continue; }
      break;
    }
    if (!ep.is_name("in")) return ep.error("expected 'in' in the for loop: {% for x in items %}");
    ep.next();
    HRFLOW_ASSIGN_OR_RETURN(n->expr, ep.expression());
    if (ep.is_name("recursive") || ep.is_name("if")) return ep.error("loop filters are not supported: wrap the body in {% if %}");
    HRFLOW_TRY(end_of_tag(ep));
    std::string found;
    ExprParser* rest = nullptr;
    HRFLOW_ASSIGN_OR_RETURN(n->body, parse({"else", "endfor"}, &found, &rest, "for", pos));
    HRFLOW_TRY(end_of_tag(*rest));
    if (found == "else") {
      HRFLOW_ASSIGN_OR_RETURN(n->else_body, parse({"endfor"}, &found, &rest, "for", pos));
      HRFLOW_TRY(end_of_tag(*rest));
    }
    return n;
  }
  Result<NodePtr> parse_set(ExprParser& ep, Pos pos) {
    auto n = std::make_shared<TemplateNode>();
    n->pos = pos;
    for (;;) {
      HRFLOW_ASSIGN_OR_RETURN(auto name, ep.expect_name());
      if (ep.is_op(".")) return ep.error("assigning to an attribute is not supported: use {% do d.update({'k': v}) %}");
      n->targets.push_back(name);
      if (ep.is_op(",")) { ep.next(); continue; }
      break;
    }
    if (ep.is_op("=")) {
      ep.next();
      n->kind = TemplateNode::kSet;
      HRFLOW_ASSIGN_OR_RETURN(n->expr, ep.expression());
      HRFLOW_TRY(end_of_tag(ep));
      return n;
    }
    HRFLOW_TRY(end_of_tag(ep));
    if (n->targets.size() != 1) return template_error(origin_, pos, "a {% set %} block assigns one name");
    n->kind = TemplateNode::kSetBlock;
    std::string found;
    ExprParser* rest = nullptr;
    HRFLOW_ASSIGN_OR_RETURN(n->body, parse({"endset"}, &found, &rest, "set", pos));
    HRFLOW_TRY(end_of_tag(*rest));
    return n;
  }
  Result<NodePtr> parse_macro(ExprParser& ep, Pos pos, bool is_test) {
    auto n = std::make_shared<TemplateNode>();
    n->kind = TemplateNode::kMacro;
    n->is_test = is_test;
    n->pos = pos;
    HRFLOW_ASSIGN_OR_RETURN(n->name, ep.expect_name());
    HRFLOW_TRY(ep.expect_op("("));
    while (!ep.is_op(")")) {
      if (ep.is_op("*") || ep.is_op("**")) return ep.error("*args / **kwargs parameters are not supported: name every parameter");
      HRFLOW_ASSIGN_OR_RETURN(auto param, ep.expect_name());
      n->targets.push_back(param);
      ExprPtr def;
      if (ep.is_op("=")) {
        ep.next();
        HRFLOW_ASSIGN_OR_RETURN(def, ep.expression());
      }
      n->defaults.push_back(def);
      if (ep.is_op(",")) { ep.next(); continue; }
      if (!ep.is_op(")")) return ep.error("expected ',' or ')' in the parameter list");
    }
    ep.next();
    HRFLOW_TRY(end_of_tag(ep));
    std::string found;
    ExprParser* rest = nullptr;
    const char* end_tag = is_test ? "endtest" : "endmacro";
    HRFLOW_ASSIGN_OR_RETURN(n->body, parse({end_tag}, &found, &rest, is_test ? "test" : "macro", pos));
    HRFLOW_TRY(end_of_tag(*rest));
    return n;
  }

  const std::string& src_;
  std::vector<Segment> segs_;
  size_t k_ = 0;
  const std::string& origin_;
  std::unique_ptr<ExprParser> current_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// Evaluation

namespace {
Result<Value> apply_filter(const std::string& name, const Value& x, const CallArgs& args, const std::string& where);
Result<Value> method_of(const Value& obj, const std::string& name, const std::string& where);
Result<Value> iterate(const Value& v, const std::string& where);
// "an integer", "a string": the type of a value with its article, for messages.
std::string a_type(const Value& v) {
  std::string t = v.type_name();
  return (t.find_first_of("aeiou") == 0 ? "an " : "a ") + t;
}
}  // namespace

struct Evaluator {
  Environment& env;
  std::string origin;
  std::vector<std::map<std::string, Value>> scopes;
  std::optional<Value> returning;
  // The macros this render defined so far: macros of one template call each other, as in Jinja.
  std::shared_ptr<std::map<std::string, Value>> template_macros;

  Error error(Pos p, const std::string& msg) const { return template_error(origin, p, msg); }
  std::string where(Pos p) const { return fmt::format("{}:{}:{}", origin, p.line, p.col); }

  Value lookup(const std::string& name) const {
    for (auto it = scopes.rbegin(); it != scopes.rend(); ++it) {
      auto f = it->find(name);
      if (f != it->end()) return f->second;
    }
    if (const Value* g = env.global(name)) return *g;
    return Value::undefined(name);
  }

  Result<Value> eval(const Expr& e) {
    switch (e.kind) {
      case Expr::kLiteral: return e.literal;
      case Expr::kName: return lookup(e.name);
      case Expr::kList: {
        List l;
        for (const auto& a : e.args) {
          HRFLOW_ASSIGN_OR_RETURN(auto v, eval(*a));
          l.push_back(std::move(v));
        }
        return Value::of_list(std::move(l));
      }
      case Expr::kDict: {
        Dict d;
        for (size_t k = 0; k + 1 < e.args.size(); k += 2) {
          HRFLOW_ASSIGN_OR_RETURN(auto key, eval(*e.args[k]));
          HRFLOW_ASSIGN_OR_RETURN(auto val, eval(*e.args[k + 1]));
          if (key.kind != Value::kStr) return error(e.args[k]->pos, "dict keys must be strings");
          bool replaced = false;
          for (auto& [kk, vv] : d) {
            if (kk == key.s) { vv = val; replaced = true; }
          }
          if (!replaced) d.emplace_back(key.s, std::move(val));
        }
        return Value::of_dict(std::move(d));
      }
      case Expr::kAttr: {
        HRFLOW_ASSIGN_OR_RETURN(auto obj, eval(*e.args[0]));
        if (obj.is_undefined()) return error(e.pos, fmt::format("'{}' is undefined", obj.s));
        if (const Value* a = obj.attr(e.name)) return *a;
        auto m = method_of(obj, e.name, where(e.pos));
        if (m.ok()) return m;
        if (obj.kind == Value::kDict || obj.kind == Value::kObject) {
          return Value::undefined(fmt::format("{}.{}", to_display(obj).substr(0, 40), e.name));
        }
        return error(e.pos, m.error().message);
      }
      case Expr::kIndex: {
        HRFLOW_ASSIGN_OR_RETURN(auto obj, eval(*e.args[0]));
        HRFLOW_ASSIGN_OR_RETURN(auto idx, eval(*e.args[1]));
        if (obj.is_undefined()) return error(e.pos, fmt::format("'{}' is undefined", obj.s));
        if ((obj.kind == Value::kList || obj.kind == Value::kStr) && idx.kind == Value::kInt) {
          int64_t n = obj.kind == Value::kList ? static_cast<int64_t>(obj.list->size()) : static_cast<int64_t>(obj.s.size());
          int64_t k = idx.i < 0 ? idx.i + n : idx.i;
          if (k < 0 || k >= n) return error(e.pos, fmt::format("index {} is out of range (length {})", idx.i, n));
          if (obj.kind == Value::kList) return (*obj.list)[static_cast<size_t>(k)];
          return Value::str(std::string(1, obj.s[static_cast<size_t>(k)]));
        }
        if ((obj.kind == Value::kDict || obj.kind == Value::kObject) && idx.kind == Value::kStr) {
          if (const Value* a = obj.attr(idx.s)) return *a;
          return Value::undefined(idx.s);
        }
        return error(e.pos, fmt::format("cannot index a {} with a {}", obj.type_name(), idx.type_name()));
      }
      case Expr::kSlice: {
        HRFLOW_ASSIGN_OR_RETURN(auto obj, eval(*e.args[0]));
        HRFLOW_ASSIGN_OR_RETURN(auto a, eval(*e.args[1]));
        HRFLOW_ASSIGN_OR_RETURN(auto b, eval(*e.args[2]));
        int64_t n = obj.kind == Value::kList ? static_cast<int64_t>(obj.list->size())
                    : obj.kind == Value::kStr ? static_cast<int64_t>(obj.s.size()) : -1;
        if (n < 0) return error(e.pos, fmt::format("cannot slice a {}", obj.type_name()));
        auto norm = [n](const Value& v, int64_t dflt) {
          if (v.kind != Value::kInt) return dflt;
          int64_t k = v.i < 0 ? v.i + n : v.i;
          return std::clamp<int64_t>(k, 0, n);
        };
        int64_t from = norm(a, 0), to = std::max(from, norm(b, n));
        if (obj.kind == Value::kStr) return Value::str(obj.s.substr(static_cast<size_t>(from), static_cast<size_t>(to - from)));
        return Value::of_list(List(obj.list->begin() + from, obj.list->begin() + to));
      }
      case Expr::kCall: {
        CallArgs args;
        HRFLOW_TRY(eval_args(e, 1, &args));
        if (e.args[0]->kind == Expr::kName && e.args[0]->name == "return" && !env.global("return")) {
          // dbt's return(): the enclosing macro's value instead of its rendered text.
          returning = args.positional.empty() ? Value::none() : args.positional[0];
          return Value::str("");
        }
        HRFLOW_ASSIGN_OR_RETURN(auto callee, eval(*e.args[0]));
        if (callee.is_undefined()) {
          return error(e.pos, fmt::format("'{}' is undefined: define it with {{% macro {}(...) %}} under macros/, or check the spelling", callee.s, callee.s));
        }
        if (callee.kind != Value::kFunc) return error(e.pos, fmt::format("a {} cannot be called", callee.type_name()));
        auto r = (*callee.fn)(args);
        if (!r.ok()) {
          const std::string& m = r.error().message;
          // Errors from nested templates already carry their own place.
          if (m.find(".sql:") != std::string::npos || m.find(".yml:") != std::string::npos ||
              m.find("<") == 0) return r.error();
          return error(e.pos, m);
        }
        return r;
      }
      case Expr::kFilter: {
        HRFLOW_ASSIGN_OR_RETURN(auto x, eval(*e.args[0]));
        CallArgs args;
        HRFLOW_TRY(eval_args(e, 1, &args));
        auto r = apply_filter(e.name, x, args, where(e.pos));
        if (!r.ok()) return error(e.pos, r.error().message);
        return r;
      }
      case Expr::kTest: {
        HRFLOW_ASSIGN_OR_RETURN(auto x, eval(*e.args[0]));
        CallArgs args;
        HRFLOW_TRY(eval_args(e, 1, &args));
        bool r;
        const std::string& t = e.name;
        if (t == "defined") r = !x.is_undefined();
        else if (t == "undefined") r = x.is_undefined();
        else if (t == "none") r = x.kind == Value::kNone;
        else if (t == "string") r = x.kind == Value::kStr;
        else if (t == "number") r = x.kind == Value::kInt || x.kind == Value::kFloat;
        else if (t == "integer") r = x.kind == Value::kInt;
        else if (t == "float") r = x.kind == Value::kFloat;
        else if (t == "boolean") r = x.kind == Value::kBool;
        else if (t == "mapping") r = x.kind == Value::kDict;
        else if (t == "sequence" || t == "iterable") r = x.kind == Value::kList || x.kind == Value::kStr || x.kind == Value::kDict;
        else if (t == "callable") r = x.kind == Value::kFunc;
        else if (t == "true") r = x.kind == Value::kBool && x.b;
        else if (t == "false") r = x.kind == Value::kBool && !x.b;
        else if ((t == "eq" || t == "equalto" || t == "sameas") && !args.positional.empty()) r = values_equal(x, args.positional[0]);
        else if ((t == "ne") && !args.positional.empty()) r = !values_equal(x, args.positional[0]);
        else if (t == "divisibleby" && !args.positional.empty() && x.kind == Value::kInt && args.positional[0].kind == Value::kInt && args.positional[0].i != 0)
          r = x.i % args.positional[0].i == 0;
        else if (t == "odd" && x.kind == Value::kInt) r = x.i % 2 != 0;
        else if (t == "even" && x.kind == Value::kInt) r = x.i % 2 == 0;
        else return error(e.pos, fmt::format("unknown test 'is {}': use defined, none, string, number, integer, mapping, sequence, eq, divisibleby, odd, even", t));
        return Value::boolean(e.negated ? !r : r);
      }
      case Expr::kUnary: {
        HRFLOW_ASSIGN_OR_RETURN(auto x, eval(*e.args[0]));
        if (x.kind == Value::kInt) return Value::integer(e.name == "-" ? -x.i : x.i);
        if (x.kind == Value::kFloat) return Value::number(e.name == "-" ? -x.f : x.f);
        return error(e.pos, fmt::format("unary '{}' needs a number, not a {}", e.name, x.type_name()));
      }
      case Expr::kNot: {
        HRFLOW_ASSIGN_OR_RETURN(auto x, eval(*e.args[0]));
        return Value::boolean(!x.truthy());
      }
      case Expr::kAnd: {
        HRFLOW_ASSIGN_OR_RETURN(auto l, eval(*e.args[0]));
        if (!l.truthy()) return l;
        return eval(*e.args[1]);
      }
      case Expr::kOr: {
        HRFLOW_ASSIGN_OR_RETURN(auto l, eval(*e.args[0]));
        if (l.truthy()) return l;
        return eval(*e.args[1]);
      }
      case Expr::kCond: {
        HRFLOW_ASSIGN_OR_RETURN(auto c, eval(*e.args[0]));
        return eval(*e.args[c.truthy() ? 1 : 2]);
      }
      case Expr::kBinary: return binary(e);
    }
    return error(e.pos, "internal: unknown expression");
  }

  Status eval_args(const Expr& e, size_t from, CallArgs* args) {
    size_t n_kw = e.kw_names.size();
    size_t n_pos = e.args.size() - from - n_kw;
    for (size_t k = from; k < e.args.size(); ++k) {
      HRFLOW_ASSIGN_OR_RETURN(auto v, eval(*e.args[k]));
      size_t idx = k - from;
      if (idx < n_pos) args->positional.push_back(std::move(v));
      else args->keywords.emplace_back(e.kw_names[idx - n_pos], std::move(v));
    }
    return {};
  }

  Result<Value> binary(const Expr& e) {
    HRFLOW_ASSIGN_OR_RETURN(auto l, eval(*e.args[0]));
    HRFLOW_ASSIGN_OR_RETURN(auto r, eval(*e.args[1]));
    const std::string& op = e.name;
    for (const Value* v : {&l, &r}) {
      if (v->is_undefined() && op != "==" && op != "!=") return error(e.args[v == &l ? 0 : 1]->pos, fmt::format("'{}' is undefined", v->s));
    }
    if (op == "~") return Value::str(to_display(l) + to_display(r));
    if (op == "==") return Value::boolean(values_equal(l, r));
    if (op == "!=") return Value::boolean(!values_equal(l, r));
    if (op == "in" || op == "not in") {
      bool found = false;
      if (r.kind == Value::kList) {
        for (const auto& x : *r.list) found = found || values_equal(x, l);
      } else if (r.kind == Value::kStr && (l.kind == Value::kStr)) {
        found = r.s.find(l.s) != std::string::npos;
      } else if ((r.kind == Value::kDict || r.kind == Value::kObject) && l.kind == Value::kStr) {
        found = r.attr(l.s) != nullptr;
      } else {
        return error(e.pos, fmt::format("'in' needs a list, string or dict on the right, not a {}", r.type_name()));
      }
      return Value::boolean(op == "in" ? found : !found);
    }
    bool ln = l.kind == Value::kInt || l.kind == Value::kFloat || l.kind == Value::kBool;
    bool rn = r.kind == Value::kInt || r.kind == Value::kFloat || r.kind == Value::kBool;
    if (op == "<" || op == ">" || op == "<=" || op == ">=") {
      int c;
      if (ln && rn) {
        double a = l.kind == Value::kFloat ? l.f : static_cast<double>(l.kind == Value::kBool ? l.b : l.i);
        double b = r.kind == Value::kFloat ? r.f : static_cast<double>(r.kind == Value::kBool ? r.b : r.i);
        c = a < b ? -1 : a > b ? 1 : 0;
      } else if (l.kind == Value::kStr && r.kind == Value::kStr) {
        c = l.s.compare(r.s);
      } else {
        return error(e.pos, fmt::format("cannot compare {} with {}", a_type(l), a_type(r)));
      }
      bool res = op == "<" ? c < 0 : op == ">" ? c > 0 : op == "<=" ? c <= 0 : c >= 0;
      return Value::boolean(res);
    }
    if (op == "+" && l.kind == Value::kStr && r.kind == Value::kStr) return Value::str(l.s + r.s);
    if (op == "+" && l.kind == Value::kList && r.kind == Value::kList) {
      List out = *l.list;
      out.insert(out.end(), r.list->begin(), r.list->end());
      return Value::of_list(std::move(out));
    }
    if (op == "*" && l.kind == Value::kStr && r.kind == Value::kInt) {
      std::string out;
      for (int64_t k = 0; k < r.i; ++k) out += l.s;
      return Value::str(out);
    }
    if (!ln || !rn) return error(e.pos, fmt::format("'{}' needs numbers, not {} and {}", op, a_type(l), a_type(r)));
    bool ints = l.kind != Value::kFloat && r.kind != Value::kFloat;
    int64_t li = l.kind == Value::kBool ? l.b : l.i, ri = r.kind == Value::kBool ? r.b : r.i;
    double lf = l.kind == Value::kFloat ? l.f : static_cast<double>(li);
    double rf = r.kind == Value::kFloat ? r.f : static_cast<double>(ri);
    if (op == "+") return ints ? Value::integer(li + ri) : Value::number(lf + rf);
    if (op == "-") return ints ? Value::integer(li - ri) : Value::number(lf - rf);
    if (op == "*") return ints ? Value::integer(li * ri) : Value::number(lf * rf);
    if (op == "/") {
      if (rf == 0) return error(e.pos, "division by zero");
      return Value::number(lf / rf);
    }
    if (op == "//") {
      if (rf == 0) return error(e.pos, "division by zero");
      if (ints) {
        int64_t q = li / ri;
        if ((li % ri != 0) && ((li < 0) != (ri < 0))) --q;
        return Value::integer(q);
      }
      return Value::number(std::floor(lf / rf));
    }
    if (op == "%") {
      if (rf == 0) return error(e.pos, "division by zero");
      if (ints) {
        int64_t m = li % ri;
        if (m != 0 && ((m < 0) != (ri < 0))) m += ri;
        return Value::integer(m);
      }
      double m = std::fmod(lf, rf);  // Python's sign: that of the divisor
      if (m != 0 && ((m < 0) != (rf < 0))) m += rf;
      return Value::number(m);
    }
    if (op == "**") {
      if (ints && ri >= 0) {
        int64_t out = 1;
        for (int64_t k = 0; k < ri; ++k) out *= li;
        return Value::integer(out);
      }
      return Value::number(std::pow(lf, rf));
    }
    return error(e.pos, "unknown operator " + op);
  }

  Status render(const NodeList& nodes, std::string& out) {
    for (const auto& n : nodes) {
      if (returning) return {};
      switch (n->kind) {
        case TemplateNode::kText: out += n->text; break;
        case TemplateNode::kOutput: {
          HRFLOW_ASSIGN_OR_RETURN(auto v, eval(*n->expr));
          if (returning) return {};
          if (v.is_undefined()) {
            return error(n->pos, fmt::format("'{}' is undefined: set it, pass it with --vars, or use {{{{ {} | default('...') }}}}", v.s, v.s));
          }
          if (v.kind == Value::kFunc) return error(n->pos, "a function was printed, not called: add the parentheses, e.g. {{ is_incremental() }}");
          out += to_display(v);
          break;
        }
        case TemplateNode::kIf: {
          bool done = false;
          for (const auto& [cond, body] : n->branches) {
            HRFLOW_ASSIGN_OR_RETURN(auto c, eval(*cond));
            if (c.truthy()) {
              HRFLOW_TRY(render(body, out));
              done = true;
              break;
            }
          }
          if (!done) HRFLOW_TRY(render(n->else_body, out));
          break;
        }
        case TemplateNode::kFor: {
          HRFLOW_ASSIGN_OR_RETURN(auto seq, eval(*n->expr));
          if (seq.is_undefined()) return error(n->expr->pos, fmt::format("'{}' is undefined", seq.s));
          auto items = iterate(seq, where(n->expr->pos));
          if (!items.ok()) return error(n->expr->pos, items.error().message);
          const List& l = *items->list;
          if (l.empty()) {
            HRFLOW_TRY(render(n->else_body, out));
            break;
          }
          scopes.emplace_back();
          for (size_t k = 0; k < l.size(); ++k) {
            auto& scope = scopes.back();
            scope.clear();
            if (n->targets.size() == 1) {
              scope[n->targets[0]] = l[k];
            } else {
              if (l[k].kind != Value::kList || l[k].list->size() != n->targets.size())
                return error(n->pos, fmt::format("cannot unpack {} into {} names", to_display(l[k]), n->targets.size()));
              for (size_t t = 0; t < n->targets.size(); ++t) scope[n->targets[t]] = (*l[k].list)[t];
            }
            int64_t len = static_cast<int64_t>(l.size()), idx = static_cast<int64_t>(k);
            scope["loop"] = Value::of_dict({{"index", Value::integer(idx + 1)},
                                            {"index0", Value::integer(idx)},
                                            {"revindex", Value::integer(len - idx)},
                                            {"revindex0", Value::integer(len - idx - 1)},
                                            {"first", Value::boolean(k == 0)},
                                            {"last", Value::boolean(k + 1 == l.size())},
                                            {"length", Value::integer(len)}});
            auto st = render(n->body, out);
            if (!st.ok()) { scopes.pop_back(); return st; }
            if (returning) break;
          }
          scopes.pop_back();
          break;
        }
        case TemplateNode::kSet: {
          HRFLOW_ASSIGN_OR_RETURN(auto v, eval(*n->expr));
          if (n->targets.size() == 1) {
            scopes.back()[n->targets[0]] = v;
          } else {
            if (v.kind != Value::kList || v.list->size() != n->targets.size())
              return error(n->pos, fmt::format("cannot unpack {} into {} names", to_display(v), n->targets.size()));
            for (size_t t = 0; t < n->targets.size(); ++t) scopes.back()[n->targets[t]] = (*v.list)[t];
          }
          break;
        }
        case TemplateNode::kSetBlock: {
          std::string captured;
          HRFLOW_TRY(render(n->body, captured));
          scopes.back()[n->targets[0]] = Value::str(captured);
          break;
        }
        case TemplateNode::kMacro: {
          if (!template_macros) template_macros = std::make_shared<std::map<std::string, Value>>();
          Value m = make_macro(n, env, origin, template_macros);
          const std::string key = n->is_test ? "test_" + n->name : n->name;
          scopes.back()[key] = m;
          (*template_macros)[key] = m;
          if (n->is_test) env.add_generic_test(n->name, m);
          break;
        }
        case TemplateNode::kDo: {
          HRFLOW_ASSIGN_OR_RETURN(auto v, eval(*n->expr));
          (void)v;
          break;
        }
      }
    }
    return {};
  }

  // `siblings`: the macros of the same template (held weakly: a macro is among them itself).
  static Value make_macro(const NodePtr& n, Environment& env, const std::string& origin,
                          const std::shared_ptr<std::map<std::string, Value>>& siblings = nullptr) {
    std::weak_ptr<std::map<std::string, Value>> weak = siblings;
    return Value::func([n, &env, origin, weak](const CallArgs& args) -> Result<Value> {
      Evaluator ev{env, origin, {{}}, std::nullopt};
      if (auto macros = weak.lock()) ev.scopes.insert(ev.scopes.begin(), *macros);
      auto& scope = ev.scopes.back();
      if (args.positional.size() > n->targets.size()) {
        return template_error(origin, n->pos, fmt::format("macro '{}' takes {} arguments but got {}", n->name, n->targets.size(), args.positional.size()));
      }
      for (const auto& [k, v] : args.keywords) {
        if (std::find(n->targets.begin(), n->targets.end(), k) == n->targets.end()) {
          return template_error(origin, n->pos, fmt::format("macro '{}' has no parameter '{}' (parameters: {})", n->name, k, fmt::join(n->targets, ", ")));
        }
      }
      for (size_t k = 0; k < n->targets.size(); ++k) {
        const Value* v = args.get(n->targets[k], k);
        if (v) {
          scope[n->targets[k]] = *v;
        } else if (n->defaults[k]) {
          HRFLOW_ASSIGN_OR_RETURN(scope[n->targets[k]], ev.eval(*n->defaults[k]));
        } else {
          scope[n->targets[k]] = Value::undefined(n->targets[k]);
        }
      }
      std::string out;
      HRFLOW_TRY(ev.render(n->body, out));
      if (ev.returning) return *ev.returning;
      return Value::str(out);
    });
  }
};

// ---------------------------------------------------------------------------------------------
// Filters and methods

namespace {

Result<Value> iterate(const Value& v, const std::string& where) {
  if (v.kind == Value::kList) return v;
  if (v.kind == Value::kDict) {
    List keys;
    for (const auto& [k, x] : *v.dict) keys.push_back(Value::str(k));
    return Value::of_list(std::move(keys));
  }
  if (v.kind == Value::kStr) {
    List chars;
    for (char c : v.s) chars.push_back(Value::str(std::string(1, c)));
    return Value::of_list(std::move(chars));
  }
  return invalid_argument("{}: cannot loop over a {}", where, v.type_name());
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}
std::string trim(const std::string& s, const std::string& chars = " \t\r\n") {
  size_t a = s.find_first_not_of(chars);
  if (a == std::string::npos) return "";
  size_t b = s.find_last_not_of(chars);
  return s.substr(a, b - a + 1);
}
std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  if (from.empty()) return s;
  size_t p = 0;
  while ((p = s.find(from, p)) != std::string::npos) {
    s.replace(p, from.size(), to);
    p += to.size();
  }
  return s;
}
Value split(const std::string& s, const Value* sep) {
  List out;
  if (!sep || sep->kind != Value::kStr) {
    size_t k = 0;
    while (k < s.size()) {
      while (k < s.size() && std::isspace(static_cast<unsigned char>(s[k]))) ++k;
      size_t j = k;
      while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
      if (j > k) out.push_back(Value::str(s.substr(k, j - k)));
      k = j;
    }
  } else {
    size_t k = 0, p;
    while ((p = s.find(sep->s, k)) != std::string::npos && !sep->s.empty()) {
      out.push_back(Value::str(s.substr(k, p - k)));
      k = p + sep->s.size();
    }
    out.push_back(Value::str(s.substr(k)));
  }
  return Value::of_list(std::move(out));
}

Result<Value> join(const Value& x, const std::string& sep, const std::string& where) {
  HRFLOW_ASSIGN_OR_RETURN(auto l, iterate(x, where));
  std::string out;
  for (size_t k = 0; k < l.list->size(); ++k) out += (k ? sep : "") + to_display((*l.list)[k]);
  return Value::str(out);
}

bool less_than(const Value& a, const Value& b) {
  if (a.kind == Value::kStr && b.kind == Value::kStr) return a.s < b.s;
  auto d = [](const Value& v) { return v.kind == Value::kFloat ? v.f : static_cast<double>(v.i); };
  return d(a) < d(b);
}

Result<Value> apply_filter(const std::string& name, const Value& x, const CallArgs& args, const std::string& where) {
  const Value* a0 = args.get("", 0);
  if (name == "default" || name == "d") {
    bool use_default = x.is_undefined() || (args.get("boolean", 1) && args.get("boolean", 1)->truthy() && !x.truthy());
    return use_default ? (a0 ? *a0 : Value::str("")) : x;
  }
  if (x.is_undefined()) return invalid_argument("'{}' is undefined", x.s);
  if (name == "upper") return Value::str(upper(to_display(x)));
  if (name == "lower") return Value::str(lower(to_display(x)));
  if (name == "trim" || name == "strip") return Value::str(trim(to_display(x)));
  if (name == "capitalize") {
    std::string s = lower(to_display(x));
    if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
    return Value::str(s);
  }
  if (name == "title") {
    std::string s = lower(to_display(x));
    bool start = true;
    for (auto& c : s) {
      if (start && std::isalpha(static_cast<unsigned char>(c))) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      start = !std::isalnum(static_cast<unsigned char>(c));
    }
    return Value::str(s);
  }
  if (name == "replace") {
    const Value* b = args.get("", 1);
    if (!a0 || !b) return invalid_argument("replace needs two arguments: x | replace('old', 'new')");
    return Value::str(replace_all(to_display(x), to_display(*a0), to_display(*b)));
  }
  if (name == "join") {
    const Value* attribute = args.get("attribute");
    Value src = x;
    if (attribute && x.kind == Value::kList) {
      List l;
      for (const auto& item : *x.list) {
        const Value* v = item.attr(attribute->s);
        l.push_back(v ? *v : Value::none());
      }
      src = Value::of_list(std::move(l));
    }
    const Value* sep = args.get("d", 0);
    return join(src, sep ? to_display(*sep) : "", where);
  }
  if (name == "length" || name == "count") {
    if (x.kind == Value::kStr) return Value::integer(static_cast<int64_t>(x.s.size()));
    if (x.kind == Value::kList) return Value::integer(static_cast<int64_t>(x.list->size()));
    if (x.kind == Value::kDict) return Value::integer(static_cast<int64_t>(x.dict->size()));
    return invalid_argument("length of a {} is undefined", x.type_name());
  }
  if (name == "list") return iterate(x, where);
  if (name == "string" || name == "as_text") return Value::str(to_display(x));
  if (name == "as_bool") return x.kind == Value::kStr ? Value::boolean(lower(x.s) == "true") : Value::boolean(x.truthy());
  if (name == "as_number" || name == "as_native") {
    if (x.kind == Value::kStr) return value_from_yaml_text(trim(x.s));
    return x;
  }
  if (name == "int") {
    if (x.kind == Value::kInt) return x;
    if (x.kind == Value::kFloat) return Value::integer(static_cast<int64_t>(x.f));
    if (x.kind == Value::kBool) return Value::integer(x.b);
    if (x.kind == Value::kStr) {
      char* end = nullptr;
      long long n = std::strtoll(x.s.c_str(), &end, 10);
      if (*end == '\0' && end != x.s.c_str()) return Value::integer(n);
      double d = std::strtod(x.s.c_str(), &end);  // as Jinja: a decimal string is truncated
      if (*end == '\0' && end != x.s.c_str() && std::isfinite(d)) return Value::integer(static_cast<int64_t>(d));
      return Value::integer(a0 && a0->kind == Value::kInt ? a0->i : 0);
    }
    return Value::integer(0);
  }
  if (name == "float") {
    if (x.kind == Value::kFloat) return x;
    if (x.kind == Value::kInt) return Value::number(static_cast<double>(x.i));
    if (x.kind == Value::kStr) return Value::number(std::strtod(x.s.c_str(), nullptr));
    return Value::number(0);
  }
  if (name == "abs") {
    if (x.kind == Value::kInt) return Value::integer(x.i < 0 ? -x.i : x.i);
    if (x.kind == Value::kFloat) return Value::number(std::fabs(x.f));
    return invalid_argument("abs needs a number, not a {}", x.type_name());
  }
  if (name == "round") {
    double v = x.kind == Value::kFloat ? x.f : static_cast<double>(x.i);
    int64_t digits = a0 && a0->kind == Value::kInt ? a0->i : 0;
    double scale = std::pow(10.0, static_cast<double>(digits));
    return Value::number(std::round(v * scale) / scale);
  }
  if (name == "first" || name == "last") {
    HRFLOW_ASSIGN_OR_RETURN(auto l, iterate(x, where));
    if (l.list->empty()) return Value::undefined("(empty sequence)");
    return name == "first" ? l.list->front() : l.list->back();
  }
  if (name == "sort" || name == "reverse" || name == "unique") {
    HRFLOW_ASSIGN_OR_RETURN(auto l, iterate(x, where));
    List out = *l.list;
    if (name == "sort") {
      // Jinja compares strings case-insensitively unless case_sensitive=true.
      const Value* cs = args.get("case_sensitive", 1);
      if (cs && cs->truthy()) {
        std::stable_sort(out.begin(), out.end(), less_than);
      } else {
        std::stable_sort(out.begin(), out.end(), [](const Value& a, const Value& b) {
          if (a.kind == Value::kStr && b.kind == Value::kStr) return lower(a.s) < lower(b.s);
          return less_than(a, b);
        });
      }
      const Value* rev = args.get("reverse", 0);
      if (rev && rev->truthy()) std::reverse(out.begin(), out.end());
    } else if (name == "reverse") {
      if (x.kind == Value::kStr) return Value::str(std::string(x.s.rbegin(), x.s.rend()));
      std::reverse(out.begin(), out.end());
    } else {
      List u;
      for (const auto& v : out) {
        if (std::none_of(u.begin(), u.end(), [&](const Value& w) { return values_equal(v, w); })) u.push_back(v);
      }
      out = std::move(u);
    }
    return Value::of_list(std::move(out));
  }
  if (name == "map") {
    HRFLOW_ASSIGN_OR_RETURN(auto l, iterate(x, where));
    const Value* attribute = args.get("attribute");
    List out;
    for (const auto& item : *l.list) {
      if (attribute) {
        const Value* v = item.attr(attribute->s);
        out.push_back(v ? *v : Value::none());
      } else if (a0 && a0->kind == Value::kStr) {
        HRFLOW_ASSIGN_OR_RETURN(auto v, apply_filter(a0->s, item, CallArgs{}, where));
        out.push_back(v);
      } else {
        return invalid_argument("map needs attribute='name' or a filter name");
      }
    }
    return Value::of_list(std::move(out));
  }
  if (name == "items") {
    if (x.kind != Value::kDict) return invalid_argument("items needs a dict");
    List out;
    for (const auto& [k, v] : *x.dict) out.push_back(Value::of_list({Value::str(k), v}));
    return Value::of_list(std::move(out));
  }
  if (name == "tojson") {
    std::function<std::string(const Value&)> j = [&](const Value& v) -> std::string {
      switch (v.kind) {
        case Value::kNone: case Value::kUndefined: return "null";
        case Value::kBool: return v.b ? "true" : "false";
        case Value::kInt: case Value::kFloat: return to_display(v);
        case Value::kList: {
          std::string o = "[";
          for (size_t k = 0; k < v.list->size(); ++k) o += (k ? ", " : "") + j((*v.list)[k]);
          return o + "]";
        }
        case Value::kDict: {
          std::string o = "{";
          bool first = true;
          for (const auto& [k, x2] : *v.dict) { o += (first ? "\"" : ", \"") + k + "\": " + j(x2); first = false; }
          return o + "}";
        }
        default: return "\"" + replace_all(replace_all(to_display(v), "\\", "\\\\"), "\"", "\\\"") + "\"";
      }
    };
    return Value::str(j(x));
  }
  return invalid_argument("unknown filter '{}': available are default, upper, lower, trim, capitalize, title, replace, join, length, "
                          "list, string, int, float, abs, round, first, last, sort, reverse, unique, map, items, tojson, as_text, as_bool, as_number",
                          name);
}

Result<Value> method_of(const Value& obj, const std::string& name, const std::string& where) {
  Value self = obj;
  auto str_arg = [](const CallArgs& a, size_t k) -> std::optional<std::string> {
    const Value* v = a.get("", k);
    if (!v) return std::nullopt;
    return to_display(*v);
  };
  if (obj.kind == Value::kStr) {
    if (name == "upper") return Value::func([self](const CallArgs&) -> Result<Value> { return Value::str(upper(self.s)); });
    if (name == "lower") return Value::func([self](const CallArgs&) -> Result<Value> { return Value::str(lower(self.s)); });
    if (name == "strip" || name == "lstrip" || name == "rstrip") {
      return Value::func([self, name, str_arg](const CallArgs& a) -> Result<Value> {
        std::string chars = str_arg(a, 0).value_or(" \t\r\n");
        std::string s = self.s;
        if (name != "rstrip") { size_t p = s.find_first_not_of(chars); s = p == std::string::npos ? "" : s.substr(p); }
        if (name != "lstrip") { size_t p = s.find_last_not_of(chars); s = p == std::string::npos ? "" : s.substr(0, p + 1); }
        return Value::str(s);
      });
    }
    if (name == "replace") {
      return Value::func([self, str_arg](const CallArgs& a) -> Result<Value> {
        auto from = str_arg(a, 0), to = str_arg(a, 1);
        if (!from || !to) return invalid_argument("replace needs two arguments: s.replace('old', 'new')");
        return Value::str(replace_all(self.s, *from, *to));
      });
    }
    if (name == "split") return Value::func([self](const CallArgs& a) -> Result<Value> { return split(self.s, a.get("sep", 0)); });
    if (name == "join") {
      return Value::func([self, where](const CallArgs& a) -> Result<Value> {
        if (a.positional.empty()) return invalid_argument("join needs a list: ', '.join(items)");
        return join(a.positional[0], self.s, where);
      });
    }
    if (name == "startswith" || name == "endswith") {
      return Value::func([self, name, str_arg](const CallArgs& a) -> Result<Value> {
        std::string p = str_arg(a, 0).value_or("");
        bool r = name == "startswith" ? self.s.rfind(p, 0) == 0
                                      : self.s.size() >= p.size() && self.s.compare(self.s.size() - p.size(), p.size(), p) == 0;
        return Value::boolean(r);
      });
    }
    if (name == "format") {
      return Value::func([self](const CallArgs& a) -> Result<Value> {
        std::string out;
        size_t next = 0;
        for (size_t k = 0; k < self.s.size(); ++k) {
          if (self.s[k] == '{' && k + 1 < self.s.size() && self.s[k + 1] == '}') {
            if (next >= a.positional.size()) return invalid_argument("format: not enough arguments");
            out += to_display(a.positional[next++]);
            ++k;
          } else {
            out += self.s[k];
          }
        }
        return Value::str(out);
      });
    }
    if (name == "title" || name == "capitalize") {
      return Value::func([self, name, where](const CallArgs&) -> Result<Value> { return apply_filter(name, self, {}, where); });
    }
    if (name == "isdigit") {
      return Value::func([self](const CallArgs&) -> Result<Value> {
        return Value::boolean(!self.s.empty() && std::all_of(self.s.begin(), self.s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }));
      });
    }
  }
  if (obj.kind == Value::kList) {
    if (name == "append") return Value::func([self](const CallArgs& a) -> Result<Value> { for (const auto& v : a.positional) self.list->push_back(v); return Value::none(); });
    if (name == "extend") {
      return Value::func([self](const CallArgs& a) -> Result<Value> {
        if (!a.positional.empty() && a.positional[0].kind == Value::kList) {
          List copy = *a.positional[0].list;
          self.list->insert(self.list->end(), copy.begin(), copy.end());
        }
        return Value::none();
      });
    }
    if (name == "index") {
      return Value::func([self](const CallArgs& a) -> Result<Value> {
        for (size_t k = 0; k < self.list->size(); ++k) {
          if (!a.positional.empty() && values_equal((*self.list)[k], a.positional[0])) return Value::integer(static_cast<int64_t>(k));
        }
        return invalid_argument("value is not in the list");
      });
    }
  }
  if (obj.kind == Value::kDict) {
    if (name == "items" || name == "keys" || name == "values") {
      return Value::func([self, name](const CallArgs&) -> Result<Value> {
        List out;
        for (const auto& [k, v] : *self.dict) {
          if (name == "items") out.push_back(Value::of_list({Value::str(k), v}));
          else if (name == "keys") out.push_back(Value::str(k));
          else out.push_back(v);
        }
        return Value::of_list(std::move(out));
      });
    }
    if (name == "get") {
      return Value::func([self](const CallArgs& a) -> Result<Value> {
        if (a.positional.empty()) return invalid_argument("get needs a key");
        if (const Value* v = self.attr(to_display(a.positional[0]))) return *v;
        return a.positional.size() > 1 ? a.positional[1] : Value::none();
      });
    }
    if (name == "update") {
      return Value::func([self](const CallArgs& a) -> Result<Value> {
        auto put = [&](const std::string& k, const Value& v) {
          for (auto& [kk, vv] : *self.dict) {
            if (kk == k) { vv = v; return; }
          }
          self.dict->emplace_back(k, v);
        };
        if (!a.positional.empty() && a.positional[0].kind == Value::kDict) {
          Dict copy = *a.positional[0].dict;
          for (const auto& [k, v] : copy) put(k, v);
        }
        for (const auto& [k, v] : a.keywords) put(k, v);
        return Value::none();
      });
    }
  }
  return invalid_argument("{} has no attribute or method '{}'", a_type(obj), name);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Template / Environment

Result<Template> Template::parse(std::string source, std::string origin) {
  Template t;
  t.origin_ = std::move(origin);
  t.source_ = std::make_shared<const std::string>(std::move(source));
  HRFLOW_ASSIGN_OR_RETURN(auto segs, split_segments(*t.source_, t.origin_));
  BlockParser bp(*t.source_, std::move(segs), t.origin_);
  std::string found;
  ExprParser* rest = nullptr;
  HRFLOW_ASSIGN_OR_RETURN(auto nodes, bp.parse({}, &found, &rest, "", Pos{}));
  t.nodes_ = std::make_shared<const NodeList>(std::move(nodes));
  return t;
}

Result<std::string> Template::render(Environment& env) const {
  Evaluator ev{env, origin_, {{}}, std::nullopt};
  std::string out;
  HRFLOW_TRY(ev.render(*nodes_, out));
  return out;
}

Status Template::define_macros(Environment& env) const {
  for (const auto& n : *nodes_) {
    if (n->kind == TemplateNode::kMacro) {
      Value m = Evaluator::make_macro(n, env, origin_);
      if (n->is_test) {
        env.add_generic_test(n->name, m);
        env.set_global("test_" + n->name, m);
      } else {
        env.set_global(n->name, m);
      }
    } else if (n->kind == TemplateNode::kText) {
      if (!trim(n->text).empty()) continue;  // text between macros is ignored, as in dbt
    }
  }
  return {};
}

Environment::Environment() = default;

const Value* Environment::global(const std::string& name) const {
  auto it = globals_.find(name);
  return it == globals_.end() ? nullptr : &it->second;
}

Result<Value> Environment::eval_expression(const std::string& expr, const std::string& origin) {
  HRFLOW_ASSIGN_OR_RETURN(auto toks, tokenize_expr(expr, 0, expr.size(), Pos{}, origin));
  ExprParser p(std::move(toks), origin);
  HRFLOW_ASSIGN_OR_RETURN(auto e, p.expression());
  if (!p.at_end()) return p.error("unexpected text after the expression");
  Evaluator ev{*this, origin, {{}}, std::nullopt};
  return ev.eval(*e);
}

Result<Value> call_value(const Value& callee, const CallArgs& args) {
  if (callee.kind != Value::kFunc) return invalid_argument("a {} cannot be called", callee.type_name());
  return (*callee.fn)(args);
}

}  // namespace hrflow::transform
