#include "serve/cron.h"

#include <array>
#include <charconv>
#include <chrono>
#include <sstream>
#include <vector>

namespace hrflow::serve {

namespace {

constexpr std::array<const char*, 12> kMonths = {"jan", "feb", "mar", "apr", "may", "jun",
                                                 "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<const char*, 7> kWeekdays = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

struct FieldSpec {
  const char* name;
  int lo, hi;
  const char* const* names;  // names[i] is value (names_base + i)
  int names_count, names_base;
};

Result<int> parse_value(const std::string& text, const FieldSpec& spec) {
  std::string lower;
  for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (int i = 0; i < spec.names_count; ++i) {
    if (lower == spec.names[i]) return spec.names_base + i;
  }
  int v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size()) {
    return invalid_argument("'{}' is not a number in the {} field", text, spec.name);
  }
  int hi = spec.hi == 6 ? 7 : spec.hi;  // day of week: 7 is Sunday too
  if (v < spec.lo || v > hi) {
    return invalid_argument("{} {} is out of range {}..{}", spec.name, v, spec.lo, hi);
  }
  return v;
}

// Parse one field into a bit mask over lo..hi (day of week 7 folds to 0).
Result<uint64_t> parse_field(const std::string& field, const FieldSpec& spec) {
  uint64_t mask = 0;
  std::stringstream items(field);
  std::string item;
  while (std::getline(items, item, ',')) {
    if (item.empty()) return invalid_argument("empty list item in the {} field '{}'", spec.name, field);
    int step = 1;
    if (auto slash = item.find('/'); slash != std::string::npos) {
      std::string s = item.substr(slash + 1);
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), step);
      if (ec != std::errc() || p != s.data() + s.size() || step <= 0) {
        return invalid_argument("bad step '{}' in the {} field", s, spec.name);
      }
      item = item.substr(0, slash);
    }
    int lo = spec.lo, hi = spec.hi;
    if (item != "*") {
      auto dash = item.find('-');
      HRFLOW_ASSIGN_OR_RETURN(lo, parse_value(item.substr(0, dash), spec));
      if (dash != std::string::npos) {
        HRFLOW_ASSIGN_OR_RETURN(hi, parse_value(item.substr(dash + 1), spec));
      } else {
        hi = step > 1 ? spec.hi : lo;
      }
      if (hi < lo) return invalid_argument("range {}-{} is backwards in the {} field", lo, hi, spec.name);
    }
    for (int v = lo; v <= hi; v += step) mask |= uint64_t{1} << (spec.hi == 6 && v == 7 ? 0 : v);
  }
  return mask;
}

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

Result<CronSchedule> CronSchedule::parse(const std::string& expression, TimeZone zone) {
  std::stringstream in(expression);
  std::vector<std::string> fields;
  for (std::string f; in >> f;) fields.push_back(f);
  auto fail = [&](const Error& e) {
    return e.with_context(fmt::format("cron schedule '{}'", expression));
  };
  if (fields.size() != 5) {
    return fail(invalid_argument("expected 5 fields (minute hour day-of-month month day-of-week), found {}",
                                 fields.size()));
  }
  static const FieldSpec specs[5] = {
      {"minute", 0, 59, nullptr, 0, 0},
      {"hour", 0, 23, nullptr, 0, 0},
      {"day-of-month", 1, 31, nullptr, 0, 0},
      {"month", 1, 12, kMonths.data(), 12, 1},
      {"day-of-week", 0, 6, kWeekdays.data(), 7, 0},
  };
  uint64_t masks[5];
  for (int i = 0; i < 5; ++i) {
    auto m = parse_field(fields[i], specs[i]);
    if (!m.ok()) return fail(m.error());
    masks[i] = *m;
  }
  CronSchedule s;
  s.expression_ = expression;
  s.zone_ = std::move(zone);
  s.minutes_ = std::bitset<60>(masks[0]);
  s.hours_ = std::bitset<24>(masks[1]);
  s.days_ = std::bitset<32>(masks[2]);
  s.months_ = std::bitset<13>(masks[3]);
  s.weekdays_ = std::bitset<7>(masks[4]);
  s.dom_restricted_ = fields[2] != "*";
  s.dow_restricted_ = fields[4] != "*";
  return s;
}

bool CronSchedule::day_matches(int64_t days) const {
  using namespace std::chrono;
  year_month_day ymd{sys_days{std::chrono::days{days}}};
  if (!months_.test(static_cast<unsigned>(ymd.month()))) return false;
  bool dom = days_.test(static_cast<unsigned>(ymd.day()));
  bool dow = weekdays_.test(weekday{sys_days{std::chrono::days{days}}}.c_encoding());
  if (dom_restricted_ && dow_restricted_) return dom || dow;
  return dom && dow;
}

std::optional<int64_t> CronSchedule::next_after(int64_t after_ms) const {
  int64_t after_s = floor_div(after_ms, 1000);
  // Start from the local wall-clock day of `after`, one day earlier so that a gap/fold near midnight is
  // covered; candidates are ordered by local time, and their instants by construction are too, except
  // within a fall-back hour, where a candidate mapping to or before `after` is simply skipped.
  int64_t local = zone_.to_local(after_s);
  int64_t day = floor_div(local, 86400) - 1;
  for (int64_t d = day; d < day + 366 * 8; ++d) {
    if (!day_matches(d)) continue;
    for (int h = 0; h < 24; ++h) {
      if (!hours_.test(h)) continue;
      for (int m = 0; m < 60; ++m) {
        if (!minutes_.test(m)) continue;
        int64_t instant = zone_.to_utc(d * 86400 + h * 3600 + m * 60);
        if (instant * 1000 > after_ms) return instant * 1000;
      }
    }
  }
  return std::nullopt;
}

std::optional<int64_t> CronSchedule::last_at_or_before(int64_t at_ms, int64_t horizon_ms) const {
  std::optional<int64_t> last;
  for (auto t = next_after(at_ms - horizon_ms - 1); t && *t <= at_ms; t = next_after(*t)) last = t;
  return last;
}

}  // namespace hrflow::serve
