// Finding a lake record's event time (its top-level `timestamp`, epoch seconds, a number or the
// original producer's numeric string). FastScan decides the common record in one pass; everything
// else, every bad record included, takes RecordTimeParser, which words the error for errors/.
#pragma once

#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstdint>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace hrflow::lake {

inline constexpr int64_t kMaxTimestamp = 253402300799;  // 9999-12-31T23:59:59Z

// A fast path for the common record: one pass over the value that accepts only a strict subset of
// JSON (one line; strings of printable ASCII without escapes; numbers without exponent and with at
// most 18 integer digits; nesting up to 64) and finds the top-level `timestamp`. Whatever it accepts,
// simdjson accepts too and reads the same timestamp from, so it only decides the easy cases; anything
// else (including every bad record) goes to the full parse, which also words the errors.
class FastScan {
 public:
  // True when `value` is in the subset and its `timestamp` is valid; `ts` is then the epoch second.
  static bool timestamp(std::string_view value, int64_t& ts) {
    FastScan s(value);
    s.skip_ws();
    if (s.p_ == s.end_ || *s.p_ != '{' || !s.object(0)) return false;
    s.skip_ws();
    if (s.p_ != s.end_ || s.ts_begin_ == nullptr) return false;
    return s.interpret(ts);
  }

 private:
  explicit FastScan(std::string_view v) : p_(v.data()), end_(v.data() + v.size()) {}

  void skip_ws() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\t')) ++p_;
  }
  // At '"': the string's content, without the quotes.
  bool string(std::string_view& out) {
    const char* start = ++p_;
    for (; p_ != end_; ++p_) {
      auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        out = std::string_view(start, static_cast<size_t>(p_ - start));
        ++p_;
        return true;
      }
      if (c < 0x20 || c > 0x7e || c == '\\') return false;
    }
    return false;
  }
  bool digits(size_t& n) {
    const char* start = p_;
    while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    n = static_cast<size_t>(p_ - start);
    return n > 0;
  }
  bool number(bool& integral) {
    if (*p_ == '-') ++p_;
    const char* int_start = p_;
    size_t n = 0;
    if (!digits(n) || n > 18 || (n > 1 && *int_start == '0')) return false;
    integral = true;
    if (p_ != end_ && *p_ == '.') {
      ++p_;
      if (!digits(n)) return false;
      integral = false;
    }
    return p_ == end_ || (*p_ != 'e' && *p_ != 'E');
  }
  bool literal(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) return false;
    p_ += word.size();
    return true;
  }
  bool value(int depth) {
    if (p_ == end_) return false;
    switch (*p_) {
      case '{': return object(depth + 1);
      case '[': return array(depth + 1);
      case '"': {
        std::string_view s;
        return string(s);
      }
      case 't': return literal("true");
      case 'f': return literal("false");
      case 'n': return literal("null");
      default: {
        bool integral = false;
        return (*p_ == '-' || (*p_ >= '0' && *p_ <= '9')) && number(integral);
      }
    }
  }
  bool object(int depth) {
    if (depth > 64) return false;
    ++p_;  // '{'
    skip_ws();
    if (p_ != end_ && *p_ == '}') {
      ++p_;
      return true;
    }
    for (;;) {
      std::string_view key;
      if (p_ == end_ || *p_ != '"' || !string(key)) return false;
      skip_ws();
      if (p_ == end_ || *p_ != ':') return false;
      ++p_;
      skip_ws();
      const char* v = p_;
      if (!value(depth)) return false;
      if (depth == 0 && ts_begin_ == nullptr && key == "timestamp") {
        ts_begin_ = v;
        ts_end_ = p_;
      }
      skip_ws();
      if (p_ == end_) return false;
      if (*p_ == '}') {
        ++p_;
        return true;
      }
      if (*p_ != ',') return false;
      ++p_;
      skip_ws();
    }
  }
  bool array(int depth) {
    if (depth > 64) return false;
    ++p_;  // '['
    skip_ws();
    if (p_ != end_ && *p_ == ']') {
      ++p_;
      return true;
    }
    for (;;) {
      if (!value(depth)) return false;
      skip_ws();
      if (p_ == end_) return false;
      if (*p_ == ']') {
        ++p_;
        return true;
      }
      if (*p_ != ',') return false;
      ++p_;
      skip_ws();
    }
  }
  // The timestamp token: an integer or decimal number, or a string of digits with an optional
  // fraction (the all-strings form). Anything else, or out of range, is left to the full parse.
  bool interpret(int64_t& ts) const {
    const char* b = ts_begin_;
    const char* e = ts_end_;
    if (*b == '"') {
      ++b;
      --e;
    }
    if (b == e || *b < '0' || *b > '9') return false;  // also rejects negative numbers
    const char* dot = std::find(b, e, '.');
    if (dot == e) {
      int64_t v = 0;
      auto r = std::from_chars(b, e, v);
      if (r.ec != std::errc() || r.ptr != e || v > kMaxTimestamp) return false;
      ts = v;
      return true;
    }
    if (dot + 1 == e || std::find_if(dot + 1, e, [](char c) { return c < '0' || c > '9'; }) != e) return false;
    double seconds = 0;
    auto r = std::from_chars(b, e, seconds);
    if (r.ec != std::errc() || r.ptr != e || !(seconds >= 0 && seconds <= static_cast<double>(kMaxTimestamp))) {
      return false;
    }
    ts = static_cast<int64_t>(std::floor(seconds));
    return true;
  }

  const char* p_;
  const char* end_;
  const char* ts_begin_ = nullptr;  // the top-level timestamp value's token
  const char* ts_end_ = nullptr;
};

// The full check of one record value (simdjson DOM), which also words the errors; one parser reused
// for every record, so not thread-safe.
struct RecordTimeParser {
  simdjson::dom::parser dom;
  std::string minified;

  // Event time in epoch seconds, or an error message for the errors/ prefix.
  bool timestamp_of(std::string_view value, int64_t& ts, std::string& why) {
    simdjson::dom::element doc;
    if (auto err = dom.parse(value.data(), value.size()).get(doc); err) {
      why = fmt::format("not JSON: {}", simdjson::error_message(err));
      return false;
    }
    simdjson::dom::object obj;
    if (doc.get_object().get(obj)) {
      why = "not a JSON object";
      return false;
    }
    simdjson::dom::element t;
    if (obj["timestamp"].get(t)) {
      why = "no `timestamp` field";
      return false;
    }
    double seconds = 0;
    if (t.is_int64()) {
      seconds = static_cast<double>(t.get_int64().value_unsafe());
    } else if (t.is_uint64()) {
      seconds = static_cast<double>(t.get_uint64().value_unsafe());
    } else if (t.is_double()) {
      seconds = t.get_double().value_unsafe();
    } else if (t.is_string()) {
      // The original producer's all-strings form: "1711943972" (optionally with a fraction).
      std::string_view s = t.get_string().value_unsafe();
      char* end = nullptr;
      std::string copy(s);
      seconds = std::strtod(copy.c_str(), &end);
      if (copy.empty() || end != copy.c_str() + copy.size() || copy.find_first_not_of("0123456789.") != std::string::npos) {
        why = fmt::format("`timestamp` \"{}\" is not epoch seconds", s.substr(0, 40));
        return false;
      }
    } else {
      why = "`timestamp` is neither a number nor a numeric string";
      return false;
    }
    if (!(seconds >= 0 && seconds <= static_cast<double>(kMaxTimestamp))) {
      why = fmt::format("`timestamp` {} is outside 1970..9999", seconds);
      return false;
    }
    ts = static_cast<int64_t>(std::floor(seconds));
    return true;
  }
};

}  // namespace hrflow::lake
