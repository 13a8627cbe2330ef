// Open mHealth heart-rate data points (schema omh:heart-rate 1.x/2.x), as NDJSON (one data point per
// line, streamed) or as one JSON array of data points (parsed whole):
//   {"header": {"schema_id": {"namespace": "omh", "name": "heart-rate", "version": "2.0"}, ...},
//    "body": {"heart_rate": {"value": 60, "unit": "beats/min"},
//             "effective_time_frame": {"date_time": "2024-05-01T08:00:00+02:00"}   (or time_interval)
//             "temporal_relationship_to_physical_activity": "at rest"}}
// A bare body (no header) is accepted. Each data point is one record in; data points of other
// schemas are skipped and counted.
#include <simdjson.h>

#include "common/progress.h"
#include "import/import.h"
#include "import/input.h"
#include "import/json_fields.h"

namespace hrflow::import {

namespace {

namespace dom = simdjson::dom;

void data_point(Collector& c, uint32_t subject, dom::element point, const Place& place, std::string_view text) {
  dom::element header, schema, body = point;
  if (point["header"].get(header) == simdjson::SUCCESS) {
    if (header["schema_id"].get(schema) == simdjson::SUCCESS && json_str(schema, "name") != "heart-rate") {
      return c.skip(fmt::format("not heart rate (schema {})", json_str(schema, "name")));
    }
    if (point["body"].get(body) != simdjson::SUCCESS) return c.error("data point without a body", place, text);
  }
  dom::element hr;
  if (body["heart_rate"].get(hr) != simdjson::SUCCESS) return c.error("body without heart_rate", place, text);
  double value = 0;
  if (hr["value"].get(value) != simdjson::SUCCESS) return c.error("heart_rate.value is not a number", place, text);
  const auto unit = json_str(hr, "unit");
  if (unit != "beats/min") return c.error(fmt::format("unknown unit '{}' (heart rate is beats/min)", unit), place, text);
  dom::element frame, interval;
  std::string_view when;
  if (body["effective_time_frame"].get(frame) == simdjson::SUCCESS) {
    when = json_str(frame, "date_time");
    if (when.empty() && frame["time_interval"].get(interval) == simdjson::SUCCESS) {
      when = json_str(interval, "start_date_time");
      if (when.empty()) when = json_str(interval, "end_date_time");
    }
  }
  if (when.empty()) return c.error("missing time (no effective_time_frame)", place, text);
  auto ts = parse_time_with_offset(when);
  if (!ts.ok()) return c.error("time without a time of day or UTC offset", place, text);
  const auto rel = json_str(body, "temporal_relationship_to_physical_activity");
  const Context context = rel == "at rest" ? Context::kSedentary
                          : (rel == "active" || rel == "during exercise") ? Context::kActive
                                                                          : Context::kUnknown;
  c.reading(subject, *ts, value, context, place);
}

}  // namespace

Status read_omh(const std::filesystem::path& file, ReadContext& ctx) {
  Collector& c = ctx.collector;
  const uint32_t subject = c.subject(ctx.participant);
  HRFLOW_ASSIGN_OR_RETURN(auto src, open_file(file, ctx.buffer_bytes));
  dom::parser parser;
  // An array: the whole file is one document.
  char first = 0;
  {
    HRFLOW_ASSIGN_OR_RETURN(auto peek, open_file(file, 4096));
    char buf[4096];
    HRFLOW_ASSIGN_OR_RETURN(size_t n, peek->read(buf, sizeof buf));
    for (size_t i = 0; i < n && !first; ++i) {
      if (buf[i] != ' ' && buf[i] != '\n' && buf[i] != '\r' && buf[i] != '\t') first = buf[i];
    }
  }
  if (first == '[') {
    simdjson::padded_string text;
    if (auto err = simdjson::padded_string::load(file.string()).get(text); err) {
      return io_error("reading {}: {}", file.string(), simdjson::error_message(err));
    }
    dom::element doc;
    dom::array points;
    if (auto err = parser.parse(text).get(doc); err || doc.get(points) != simdjson::SUCCESS) {
      c.error(err ? fmt::format("malformed JSON ({})", simdjson::error_message(err)) : "not an array of data points",
              Place{file.string(), 0, 0, "whole file"}, std::string_view(text.data(), std::min<size_t>(text.size(), 400)));
      return {};
    }
    size_t i = 0;
    for (dom::element p : points) {
      const std::string text_of = simdjson::minify(p);
      data_point(c, subject, p, Place{file.string(), 0, -1, fmt::format("element {}", i++)}, text_of);
    }
    if (ctx.progress) ctx.progress->update(text.size());
    return {};
  }
  LineReader lines(*src, ctx.buffer_bytes);
  std::string_view line;
  for (;;) {
    HRFLOW_ASSIGN_OR_RETURN(bool more, lines.next(line));
    if (!more) break;
    if (line.find_first_not_of(" \t") == std::string_view::npos) continue;
    Place place{file.string(), lines.line_number(), lines.line_offset(), ""};
    dom::element doc;
    if (auto err = parser.parse(line.data(), line.size()).get(doc); err) {
      c.error(fmt::format("malformed JSON ({})", simdjson::error_message(err)), place, line);
      continue;
    }
    data_point(c, subject, doc, place, line);
    if ((lines.line_number() & 1023) == 0) {
      if (ctx.progress) ctx.progress->update(src->position());
      if (ctx.stopped()) return {};
    }
  }
  if (ctx.progress) ctx.progress->update(src->position());
  return {};
}

}  // namespace hrflow::import
