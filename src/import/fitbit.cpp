// Fitbit data from Google Takeout (or Fitbit's own export): files heart_rate-YYYY-MM-DD.json anywhere
// under the directory, each a JSON array of {"dateTime": "05/01/24 08:00:05", "value": {"bpm": 72,
// "confidence": 2}} whose times are local wall-clock times without a zone: --timezone says which
// (any IANA zone of the system zoneinfo, daylight-saving changes included). Each array element is one
// record in. A file is one day, so it is parsed whole (memory: one day's file, a few megabytes).
#include <simdjson.h>

#include <algorithm>

#include "common/civil_time.h"
#include "common/progress.h"
#include "import/import.h"
#include "serve/tz.h"

namespace hrflow::import {

namespace {

// "05/01/24 08:00:05" (MM/DD/YY) -> local seconds as if UTC.
std::optional<int64_t> parse_fitbit_time(std::string_view s) {
  auto num = [&](size_t pos, size_t n, int& out) {
    if (pos + n > s.size()) return false;
    out = 0;
    for (size_t i = pos; i < pos + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return false;
      out = out * 10 + (s[i] - '0');
    }
    return true;
  };
  int mo, d, y, h, mi, se;
  if (s.size() != 17 || !num(0, 2, mo) || s[2] != '/' || !num(3, 2, d) || s[5] != '/' || !num(6, 2, y) || s[8] != ' ' ||
      !num(9, 2, h) || s[11] != ':' || !num(12, 2, mi) || s[14] != ':' || !num(15, 2, se) || mo < 1 || mo > 12 ||
      d < 1 || d > 31 || h > 23 || mi > 59 || se > 59) {
    return std::nullopt;
  }
  return days_from_civil(2000 + y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 + h * 3600 + mi * 60 + se;
}

}  // namespace

Status read_fitbit(const std::filesystem::path& dir, ReadContext& ctx) {
  HRFLOW_ASSIGN_OR_RETURN(auto zone, serve::TimeZone::load(ctx.timezone));
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  if (std::filesystem::is_regular_file(dir, ec)) {
    files.push_back(dir);
  } else {
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir, ec)) {
      const auto name = e.path().filename().string();
      if (e.is_regular_file() && name.rfind("heart_rate-", 0) == 0 && e.path().extension() == ".json") files.push_back(e.path());
    }
  }
  if (files.empty()) {
    return Error{ErrorKind::kNotFound,
                 fmt::format("{} holds no heart_rate-YYYY-MM-DD.json files (in a Google Takeout they are under "
                             "Takeout/Fitbit/Global Export Data/)",
                             dir.string()),
                 false};
  }
  std::sort(files.begin(), files.end());
  Collector& c = ctx.collector;
  const uint32_t subject = c.subject(ctx.participant);
  simdjson::dom::parser parser;
  uint64_t done = 0;
  for (const auto& path : files) {
    if (ctx.stopped()) return {};
    const std::string file = path.string();
    simdjson::padded_string text;
    if (auto err = simdjson::padded_string::load(file).get(text); err) {
      return io_error("reading {}: {}", file, simdjson::error_message(err));
    }
    done += text.size();
    simdjson::dom::element doc;
    simdjson::dom::array items;
    if (auto err = parser.parse(text).get(doc); err || doc.get(items) != simdjson::SUCCESS) {
      // The file cannot be split into records: one error for the whole file.
      c.error(err ? fmt::format("malformed JSON ({})", simdjson::error_message(err)) : "not a JSON array of readings",
              Place{file, 0, 0, "whole file"}, std::string_view(text.data(), std::min<size_t>(text.size(), 400)));
      continue;
    }
    size_t index = 0;
    for (simdjson::dom::element item : items) {
      Place place{file, 0, -1, fmt::format("element {}", index++)};
      auto excerpt = [&] { return simdjson::minify(item); };
      std::string_view when;
      simdjson::dom::element value;
      if (item["dateTime"].get(when) != simdjson::SUCCESS) {
        c.error("missing time (no dateTime)", place, excerpt());
        continue;
      }
      auto local = parse_fitbit_time(when);
      if (!local) {
        c.error("unreadable time (dateTime is not MM/DD/YY HH:MM:SS)", place, excerpt());
        continue;
      }
      double bpm = 0;
      int64_t bpm_int = 0;
      if (item["value"].get(value) != simdjson::SUCCESS) {
        c.error("missing value", place, excerpt());
        continue;
      }
      if (value["bpm"].get(bpm) != simdjson::SUCCESS) {
        if (value["bpm"].get(bpm_int) != simdjson::SUCCESS) {
          c.error("value.bpm is not a number", place, excerpt());
          continue;
        }
        bpm = static_cast<double>(bpm_int);
      }
      c.reading_at(subject, zone.to_utc(*local), bpm, Context::kUnknown, [&] { return place; });
    }
    if (ctx.progress) ctx.progress->update(done);
  }
  return {};
}

}  // namespace hrflow::import
