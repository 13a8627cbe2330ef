// FHIR R4 Bulk Data export (NDJSON, one resource per line): the Patient files first (they become
// users), then the Observation files; heart rate is LOINC 8867-4, as the Observation's code or as one
// of its components. Every line of those files is one record in: a reading, skipped (Patients: people,
// not readings; other codes; statuses other than final/amended/corrected) or an error (bad JSON,
// unknown unit, no time, a subject that is not one of the export's Patients, ...).
// Other resource files (Encounter.ndjson, ...) are not read; the import names them.
#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/progress.h"
#include "import/import.h"
#include "import/input.h"
#include "import/json_fields.h"

namespace hrflow::import {

namespace {

namespace dom = simdjson::dom;

bool is_hr_code(dom::element code) {
  dom::array codings;
  if (code["coding"].get(codings) != simdjson::SUCCESS) return false;
  for (dom::element c : codings) {
    if (json_str(c, "system") == "http://loinc.org" && json_str(c, "code") == "8867-4") return true;
  }
  return false;
}

std::string first_code(dom::element code) {
  dom::array codings;
  if (code["coding"].get(codings) == simdjson::SUCCESS) {
    for (dom::element c : codings) {
      if (!json_str(c, "code").empty()) return std::string(json_str(c, "code"));
    }
  }
  return "no code";
}

enum class FileKind { kPatient, kObservation, kOther };

FileKind kind_of(const std::filesystem::path& p) {
  const std::string name = p.filename().string();
  if (p.extension() != ".ndjson") return FileKind::kOther;
  if (name.find("Patient") != std::string::npos) return FileKind::kPatient;
  if (name.find("Observation") != std::string::npos) return FileKind::kObservation;
  return FileKind::kOther;
}

std::vector<std::filesystem::path> files_of(const std::filesystem::path& dir, FileKind kind) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  if (std::filesystem::is_regular_file(dir, ec)) {
    if (kind_of(dir) == kind) out.push_back(dir);
    return out;
  }
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.is_regular_file() && kind_of(e.path()) == kind) out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

class FhirReader {
 public:
  explicit FhirReader(ReadContext& ctx) : ctx_(ctx), c_(ctx.collector) {}

  Status read_file(const std::filesystem::path& path, FileKind kind, uint64_t& done_bytes) {
    HRFLOW_ASSIGN_OR_RETURN(auto src, open_file(path, ctx_.buffer_bytes));
    LineReader lines(*src, ctx_.buffer_bytes);
    std::string_view line;
    for (;;) {
      HRFLOW_ASSIGN_OR_RETURN(bool more, lines.next(line));
      if (!more) break;
      if (line.find_first_not_of(" \t") == std::string_view::npos) continue;  // blank lines are not records
      Place place{path.string(), lines.line_number(), lines.line_offset(), ""};
      dom::element doc;
      if (auto err = parser_.parse(line.data(), line.size()).get(doc); err) {
        c_.error(fmt::format("malformed JSON ({})", simdjson::error_message(err)), place, line);
      } else if (kind == FileKind::kPatient) {
        patient(doc, place, line);
      } else {
        observation(doc, place, line);
      }
      if ((lines.line_number() & 1023) == 0) {
        if (ctx_.progress) ctx_.progress->update(done_bytes + src->position());
        if (ctx_.stopped()) return {};
      }
    }
    done_bytes += src->position();
    if (ctx_.progress) ctx_.progress->update(done_bytes);
    return {};
  }

 private:
  void patient(dom::element p, const Place& place, std::string_view line) {
    if (json_str(p, "resourceType") != "Patient") return c_.error("not a Patient resource in a Patient file", place, line);
    const std::string_view id = json_str(p, "id");
    if (id.empty()) return c_.error("Patient without an id", place, line);
    SubjectInfo s;
    s.label = std::string(id);
    if (auto b = json_str(p, "birthDate"); !b.empty()) s.date_of_birth = parse_date_yyyymmdd(b);
    const auto g = json_str(p, "gender");
    if (g == "male") s.sex = 'M';
    if (g == "female") s.sex = 'F';
    dom::array names;
    if (ctx_.with_names && p["name"].get(names) == simdjson::SUCCESS) {
      for (dom::element n : names) {
        if (auto f = json_str(n, "family"); !f.empty()) s.last_name = std::string(f);
        dom::array given;
        if (n["given"].get(given) == simdjson::SUCCESS) {
          for (dom::element gv : given) {
            std::string_view t;
            if (gv.get(t) == simdjson::SUCCESS) {
              s.first_name = std::string(t);
              break;
            }
          }
        }
        break;
      }
    }
    dom::array addresses;
    if (ctx_.with_addresses && p["address"].get(addresses) == simdjson::SUCCESS) {
      for (dom::element a : addresses) {
        std::string text(json_str(a, "text"));
        if (text.empty()) {
          dom::array lines;
          if (a["line"].get(lines) == simdjson::SUCCESS) {
            for (dom::element l : lines) {
              std::string_view t;
              if (l.get(t) == simdjson::SUCCESS) text += (text.empty() ? "" : ", ") + std::string(t);
            }
          }
          for (const char* k : {"postalCode", "city"}) {
            if (auto v = json_str(a, k); !v.empty()) text += (text.empty() ? "" : k[0] == 'p' ? ", " : " ") + std::string(v);
          }
        }
        if (!text.empty()) s.address = text.substr(0, 100);
        if (auto cc = json_str(a, "country"); cc.size() == 2) s.country_code = std::string(cc);
        break;
      }
    }
    c_.subject(s);
    c_.skip("Patient resources (people, not readings)");
  }

  void observation(dom::element o, const Place& place, std::string_view line) {
    const auto type = json_str(o, "resourceType");
    if (type != "Observation") {
      return c_.skip(fmt::format("not an Observation ({})", type.empty() ? "no resourceType" : type));
    }
    // The heart-rate value: the Observation's own code, or a component with it.
    dom::element code, quantity;
    bool hr = false;
    if (o["code"].get(code) == simdjson::SUCCESS && is_hr_code(code)) {
      hr = true;
      if (o["valueQuantity"].get(quantity) != simdjson::SUCCESS) {
        return c_.error("heart-rate Observation without valueQuantity", place, line);
      }
    } else {
      dom::array components;
      if (o["component"].get(components) == simdjson::SUCCESS) {
        for (dom::element comp : components) {
          dom::element cc;
          if (comp["code"].get(cc) == simdjson::SUCCESS && is_hr_code(cc) &&
              comp["valueQuantity"].get(quantity) == simdjson::SUCCESS) {
            hr = true;
            break;
          }
        }
      }
    }
    if (!hr) return c_.skip(fmt::format("not heart rate (code {})", first_code(code)));
    const auto status = json_str(o, "status");
    if (status.empty()) return c_.error("Observation without status", place, line);
    if (status != "final" && status != "amended" && status != "corrected") {
      return c_.skip(fmt::format("status {}", status));
    }
    // subject -> one of the export's Patients
    dom::element subject;
    std::string_view ref;
    if (o["subject"].get(subject) != simdjson::SUCCESS || (ref = json_str(subject, "reference")).empty()) {
      return c_.error("Observation without a subject reference", place, line);
    }
    std::string_view id = ref;
    if (id.substr(0, 8) == "Patient/") id.remove_prefix(8);
    auto who = c_.find_subject(id);
    if (!who) return c_.error("subject is not a Patient of this export", place, line);
    // time: effectiveDateTime, effectiveInstant or effectivePeriod.start
    std::string_view when = json_str(o, "effectiveDateTime");
    if (when.empty()) when = json_str(o, "effectiveInstant");
    dom::element period;
    if (when.empty() && o["effectivePeriod"].get(period) == simdjson::SUCCESS) {
      when = json_str(period, "start");
      if (when.empty()) when = json_str(period, "end");
    }
    if (when.empty()) return c_.error("missing time (no effectiveDateTime or effectivePeriod)", place, line);
    auto ts = parse_time_with_offset(when);
    if (!ts.ok()) return c_.error("time without a time of day or UTC offset", place, line);
    // value and unit (UCUM)
    double value = 0;
    if (quantity["value"].get(value) != simdjson::SUCCESS) {
      return c_.error("valueQuantity.value is not a number", place, line);
    }
    std::string_view unit = json_str(quantity, "code");
    if (unit.empty()) unit = json_str(quantity, "unit");
    if (unit != "/min" && unit != "{beats}/min" && unit != "beats/minute") {
      return c_.error(fmt::format("unknown unit '{}' (heart rate is /min, {{beats}}/min or beats/minute)", unit), place,
                      line);
    }
    c_.reading(*who, *ts, value, Context::kUnknown, place);
  }

  ReadContext& ctx_;
  Collector& c_;
  dom::parser parser_;
};

}  // namespace

Status read_fhir(const std::filesystem::path& dir, ReadContext& ctx) {
  const auto patients = files_of(dir, FileKind::kPatient);
  const auto observations = files_of(dir, FileKind::kObservation);
  if (observations.empty()) {
    return Error{ErrorKind::kNotFound,
                 fmt::format("{} holds no Observation*.ndjson (a FHIR Bulk Data export writes one NDJSON file per "
                             "resource type, e.g. Patient.ndjson and Observation.ndjson)",
                             dir.string()),
                 false};
  }
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) {
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
      if (e.is_regular_file() && kind_of(e.path()) == FileKind::kOther) {
        spdlog::info("not read: {} (only Patient and Observation resources are imported)", e.path().string());
      }
    }
  }
  FhirReader reader(ctx);
  uint64_t done = 0;
  for (const auto& p : patients) HRFLOW_TRY(reader.read_file(p, FileKind::kPatient, done));
  for (const auto& p : observations) {
    if (ctx.stopped()) return {};
    HRFLOW_TRY(reader.read_file(p, FileKind::kObservation, done));
  }
  return {};
}

uint64_t input_size(Format format, const std::filesystem::path& input) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(input, ec)) return std::filesystem::file_size(input, ec);
  uint64_t total = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(input, ec)) {
    if (!e.is_regular_file()) continue;
    const auto name = e.path().filename().string();
    const bool counted = format == Format::kFhir ? kind_of(e.path()) != FileKind::kOther
                                                 : format == Format::kFitbit ? name.rfind("heart_rate-", 0) == 0
                                                                             : true;
    if (counted) total += e.file_size(ec);
  }
  return total;
}

}  // namespace hrflow::import
