#include "lake/layout.h"

#include <charconv>
#include <ctime>

#include <fmt/format.h>

#include "common/civil_time.h"

namespace hrflow::lake {
namespace {

// Consume `literal` from the front of `s`.
bool eat(std::string_view& s, std::string_view literal) {
  if (s.substr(0, literal.size()) != literal) return false;
  s.remove_prefix(literal.size());
  return true;
}

// Consume exactly `digits` decimal digits (or, when digits == 0, one or more).
template <typename Int>
bool eat_number(std::string_view& s, size_t digits, Int& out) {
  size_t n = 0;
  while (n < s.size() && s[n] >= '0' && s[n] <= '9') ++n;
  if (n == 0 || (digits != 0 && n != digits)) return false;
  auto r = std::from_chars(s.data(), s.data() + n, out);
  if (r.ec != std::errc()) return false;
  s.remove_prefix(n);
  return true;
}

}  // namespace

Result<Compression> parse_compression(std::string_view name) {
  if (name == "none" || name.empty()) return Compression::kNone;
  if (name == "gzip") return Compression::kGzip;
  if (name == "zstd") return Compression::kZstd;
  return invalid_argument("unknown lake compression '{}': use none, gzip or zstd", name);
}

std::string_view extension(Compression c) {
  switch (c) {
    case Compression::kGzip: return ".json.gz";
    case Compression::kZstd: return ".json.zst";
    case Compression::kNone: break;
  }
  return ".json";
}

std::string data_prefix(std::string_view topic) { return fmt::format("topics/{}/", topic); }
std::string errors_prefix(std::string_view topic) { return fmt::format("errors/{}/", topic); }

std::string format_key(const FileKey& k) {
  std::string name = fmt::format("{}+{}+{:010d}{}", k.topic, k.partition, k.start_offset, extension(k.compression));
  if (k.error_file) return fmt::format("errors/{}/partition={}/{}", k.topic, k.partition, name);
  int y = 0;
  unsigned m = 0, d = 0;
  int64_t days = k.hour_epoch >= 0 ? k.hour_epoch / 24 : -((-k.hour_epoch + 23) / 24);
  civil_from_days(days, y, m, d);
  int hour = static_cast<int>(k.hour_epoch - days * 24);
  return fmt::format("topics/{}/year={:04d}/month={:02d}/day={:02d}/hour={:02d}/{}", k.topic, y, m, d, hour, name);
}

Result<FileKey> parse_key(std::string_view key) {
  auto bad = [&](std::string_view why) {
    return invalid_argument("'{}' is not a lake file key ({}); expected "
                            "topics/<topic>/year=YYYY/month=MM/day=dd/hour=HH/<topic>+<partition>+<offset>.json",
                            key, why);
  };
  FileKey k;
  std::string_view s = key;
  if (eat(s, "topics/")) {
    k.error_file = false;
  } else if (eat(s, "errors/")) {
    k.error_file = true;
  } else {
    return bad("unknown prefix");
  }
  auto slash = s.find('/');
  if (slash == std::string_view::npos || slash == 0) return bad("no topic");
  k.topic = std::string(s.substr(0, slash));
  s.remove_prefix(slash + 1);
  if (k.error_file) {
    int32_t p = 0;
    if (!eat(s, "partition=") || !eat_number(s, 0, p) || !eat(s, "/")) return bad("no partition folder");
  } else {
    int y = 0;
    unsigned m = 0, d = 0, h = 0;
    if (!eat(s, "year=") || !eat_number(s, 4, y) || !eat(s, "/month=") || !eat_number(s, 2, m) ||
        !eat(s, "/day=") || !eat_number(s, 2, d) || !eat(s, "/hour=") || !eat_number(s, 2, h) || !eat(s, "/")) {
      return bad("no year=/month=/day=/hour= folders");
    }
    if (m < 1 || m > 12 || d < 1 || d > 31 || h > 23) return bad("date out of range");
    k.hour_epoch = days_from_civil(y, m, d) * 24 + h;
  }
  if (!eat(s, k.topic) || !eat(s, "+")) return bad("file name does not start with <topic>+");
  if (!eat_number(s, 0, k.partition) || !eat(s, "+")) return bad("no partition in file name");
  if (!eat_number(s, 10, k.start_offset)) return bad("start offset is not 10 digits");
  if (s == ".json") {
    k.compression = Compression::kNone;
  } else if (s == ".json.gz") {
    k.compression = Compression::kGzip;
  } else if (s == ".json.zst") {
    k.compression = Compression::kZstd;
  } else {
    return bad("unknown extension");
  }
  if (format_key(k) != key) return bad("not in canonical form");
  return k;
}

}  // namespace hrflow::lake
