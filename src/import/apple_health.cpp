// Apple Health "Export All Health Data": export.zip (apple_health_export/export.xml inside, inflated
// as it is read) or a bare export.xml, parsed with expat as a stream (memory: one buffer), internal
// DTD included.
//
//   <Me HKCharacteristicTypeIdentifierDateOfBirth="1980-05-17" ...BiologicalSex="HKBiologicalSexFemale"
//       ...BloodType="HKBloodTypeAPositive" .../>
//   <Record type="HKQuantityTypeIdentifierHeartRate" sourceName="Anna’s Apple Watch" unit="count/min"
//           startDate="2024-05-01 08:00:00 +0200" endDate="..." value="72">
//     <MetadataEntry key="HKMetadataKeyHeartRateMotionContext" value="1"/>   (0 not set, 1 sedentary, 2 active)
//   </Record>
//   <Workout workoutActivityType="HKWorkoutActivityTypeRunning" startDate="..." endDate="...">...</Workout>
//
// Every Record is one record in: a heart-rate reading, skipped (other types, by type) or an error.
// A well-formedness error stops expat for good, so the reader counts it as one error (with line and
// byte offset), skips to the next `<Record ` or `<Workout ` and continues with a fresh parser.
#include <expat.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "common/progress.h"
#include "import/import.h"
#include "import/input.h"

namespace hrflow::import {

namespace {

struct ParserFree {
  void operator()(XML_Parser p) const {
    if (p) XML_ParserFree(p);
  }
};
using ParserPtr = std::unique_ptr<std::remove_pointer_t<XML_Parser>, ParserFree>;

const char* attr(const XML_Char** atts, const char* name) {
  for (int i = 0; atts[i]; i += 2) {
    if (std::strcmp(atts[i], name) == 0) return atts[i + 1];
  }
  return nullptr;
}

std::string element_text(const char* name, const XML_Char** atts) {
  std::string s = fmt::format("<{}", name);
  for (int i = 0; atts[i]; i += 2) s += fmt::format(" {}=\"{}\"", atts[i], atts[i + 1]);
  return s + ">";
}

// HKWorkoutActivityType<X> -> one of the 23 activities (Other when there is no closer one).
const char* activity_for_workout(std::string_view t) {
  constexpr std::string_view kPrefix = "HKWorkoutActivityType";
  if (t.substr(0, kPrefix.size()) == kPrefix) t.remove_prefix(kPrefix.size());
  static const std::pair<std::string_view, const char*> kMap[] = {
      {"Running", "Run"},
      {"Walking", "Walk"},
      {"Cycling", "Cycling"},
      {"HandCycling", "Cycling"},
      {"Elliptical", "Elliptical"},
      {"Rowing", "Rower"},
      {"StairClimbing", "Stair Stepper"},
      {"Stairs", "Stair Stepper"},
      {"StepTraining", "Stair Stepper"},
      {"HighIntensityIntervalTraining", "HIIT"},
      {"Hiking", "Hiking"},
      {"Yoga", "Yoga"},
      {"FunctionalStrengthTraining", "Functional Strength Training"},
      {"TraditionalStrengthTraining", "Functional Strength Training"},
      {"Dance", "Dance"},
      {"SocialDance", "Dance"},
      {"CardioDance", "Dance"},
      {"DanceInspiredTraining", "Dance"},
      {"Cooldown", "Cooldown"},
      {"CoreTraining", "Core Training"},
      {"Pilates", "Pilates"},
      {"TaiChi", "Tai Chi"},
      {"Swimming", "Swimming"},
      {"WheelchairWalkPace", "Wheelchair"},
      {"WheelchairRunPace", "Wheelchair"},
      {"SwimBikeRun", "Multisport"},
      {"Transition", "Multisport"},
      {"MixedCardio", "Multisport"},
      {"Kickboxing", "Kickboxing"},
  };
  for (const auto& [k, v] : kMap) {
    if (t == k) return v;
  }
  return "Other";
}

std::optional<std::string> blood_type(std::string_view v) {
  static const std::pair<std::string_view, const char*> kMap[] = {
      {"HKBloodTypeAPositive", "A+"},  {"HKBloodTypeANegative", "A-"},   {"HKBloodTypeBPositive", "B+"},
      {"HKBloodTypeBNegative", "B-"},  {"HKBloodTypeABPositive", "AB+"}, {"HKBloodTypeABNegative", "AB-"},
      {"HKBloodTypeOPositive", "O+"},  {"HKBloodTypeONegative", "O-"}};
  for (const auto& [k, t] : kMap) {
    if (v == k) return std::string(t);
  }
  return std::nullopt;  // HKBloodTypeNotSet
}

class AppleHealthReader {
 public:
  AppleHealthReader(ReadContext& ctx, std::string name) : ctx_(ctx), c_(ctx.collector), name_(std::move(name)) {
    subject_ = c_.subject(ctx.participant);
  }

  Status run(ByteSource& src) {
    std::vector<char> buf(std::max<size_t>(ctx_.buffer_bytes, 4096));
    HRFLOW_TRY(new_parser(0, 0, false));
    uint64_t chunk_start = 0, lines_before_chunk = 0;
    bool resyncing = false;
    for (;;) {
      if (ctx_.stopped()) return {};
      HRFLOW_ASSIGN_OR_RETURN(const size_t n, src.read(buf.data(), buf.size()));
      const bool final = n == 0;
      size_t from = 0;
      while (true) {
        if (resyncing) {
          auto q = find_resync(buf.data(), n, from);
          if (!q) break;  // nothing to resume from in this chunk
          resyncing = false;
          from = *q;
          const uint64_t lines = lines_before_chunk + static_cast<uint64_t>(std::count(buf.data(), buf.data() + from, '\n'));
          HRFLOW_TRY(new_parser(chunk_start + from, lines, true));
        }
        if (XML_Parse(parser_.get(), buf.data() + from, static_cast<int>(n - from), final) != XML_STATUS_ERROR) break;
        // A well-formedness error: count it, then continue after it with a fresh parser.
        const int64_t err_abs = byte_base_ + (XML_GetCurrentByteIndex(parser_.get()) - prefix_len_);
        const int64_t err_line = line_base_ + static_cast<int64_t>(XML_GetCurrentLineNumber(parser_.get()));
        const int64_t rel = err_abs - static_cast<int64_t>(chunk_start);
        std::string excerpt;
        if (rel >= 0 && static_cast<size_t>(rel) < n) {
          const size_t s = static_cast<size_t>(std::max<int64_t>(0, rel - 200));
          excerpt.assign(buf.data() + s, std::min<size_t>(n - s, 400));
        }
        c_.error(fmt::format("malformed XML ({})", XML_ErrorString(XML_GetErrorCode(parser_.get()))),
                 Place{name_, err_line, err_abs, "the reader resumes at the next <Record> or <Workout>"}, excerpt);
        in_record_ = false;
        if (final) break;
        resyncing = true;
        from = rel >= 0 && static_cast<size_t>(rel) < n ? static_cast<size_t>(rel) + 1 : 0;
      }
      flush_skips();
      lines_before_chunk += static_cast<uint64_t>(std::count(buf.data(), buf.data() + n, '\n'));
      chunk_start += n;
      if (ctx_.progress) ctx_.progress->update(src.position());
      if (final) break;
    }
    flush_skips();
    return {};
  }

 private:
  static std::optional<size_t> find_resync(const char* data, size_t n, size_t from) {
    std::string_view s(data, n);
    size_t best = std::string_view::npos;
    for (std::string_view tag : {"<Record ", "<Workout "}) {
      const size_t p = s.find(tag, from);
      if (p < best) best = p;
    }
    if (best == std::string_view::npos) return std::nullopt;
    return best;
  }

  Status new_parser(int64_t byte_base, int64_t line_base, bool fragment) {
    parser_.reset(XML_ParserCreate("UTF-8"));
    if (!parser_) return make_error(ErrorKind::kInternal, "expat: out of memory");
    XML_SetUserData(parser_.get(), this);
    XML_SetElementHandler(parser_.get(), &AppleHealthReader::on_start, &AppleHealthReader::on_end);
    byte_base_ = byte_base;
    line_base_ = line_base;
    prefix_len_ = 0;
    if (fragment) {  // resume inside the document: an opening root element, then the rest
      static constexpr char kRoot[] = "<HealthData>";
      prefix_len_ = sizeof kRoot - 1;
      XML_Parse(parser_.get(), kRoot, static_cast<int>(prefix_len_), 0);
      line_base_ = line_base;  // the prefix has no newline: parser line 1 = file line line_base + 1
    }
    return {};
  }

  Place here() const {
    return Place{name_, line_base_ + static_cast<int64_t>(XML_GetCurrentLineNumber(parser_.get())),
                 byte_base_ + (XML_GetCurrentByteIndex(parser_.get()) - prefix_len_), ""};
  }

  void skip_type(const char* type) {
    if (skip_run_ && skip_type_ == type) {
      ++skip_run_;
      return;
    }
    flush_skips();
    skip_type_ = type;
    skip_run_ = 1;
  }
  void flush_skips() {
    if (!skip_run_) return;
    std::string_view t = skip_type_;
    for (std::string_view p : {"HKQuantityTypeIdentifier", "HKCategoryTypeIdentifier", "HKDataType"}) {
      if (t.substr(0, p.size()) == p) {
        t.remove_prefix(p.size());
        break;
      }
    }
    c_.skip(fmt::format("not heart rate: {}", t.empty() ? "(no type)" : t), skip_run_);
    skip_run_ = 0;
  }

  static void on_start(void* self_ptr, const XML_Char* name, const XML_Char** atts) {
    auto* self = static_cast<AppleHealthReader*>(self_ptr);
    switch (name[0]) {
      case 'R':
        if (std::strcmp(name, "Record") == 0) self->record_start(atts);
        break;
      case 'M':
        if (self->in_record_ && std::strcmp(name, "MetadataEntry") == 0) {
          const char* k = attr(atts, "key");
          const char* v = attr(atts, "value");
          if (k && v && std::strcmp(k, "HKMetadataKeyHeartRateMotionContext") == 0) {
            self->context_ = v[0] == '1' ? Context::kSedentary : v[0] == '2' ? Context::kActive : Context::kUnknown;
          }
        } else if (std::strcmp(name, "Me") == 0) {
          self->me(atts);
        }
        break;
      case 'W':
        if (std::strcmp(name, "Workout") == 0) self->workout(atts);
        break;
      default:
        break;
    }
  }

  static void on_end(void* self_ptr, const XML_Char* name) {
    auto* self = static_cast<AppleHealthReader*>(self_ptr);
    if (self->in_record_ && name[0] == 'R' && std::strcmp(name, "Record") == 0) {
      self->in_record_ = false;
      self->c_.reading_at(self->subject_, self->ts_, self->bpm_, self->context_, [self] {
        return Place{self->name_, self->rec_line_, self->rec_offset_, ""};
      });
    }
  }

  void record_start(const XML_Char** atts) {
    const char* type = attr(atts, "type");
    if (!type || std::strcmp(type, "HKQuantityTypeIdentifierHeartRate") != 0) {
      skip_type(type ? type : "");
      return;
    }
    const char* unit = attr(atts, "unit");
    const char* value = attr(atts, "value");
    const char* start = attr(atts, "startDate");
    auto fail = [&](const std::string& reason) { c_.error(reason, here(), element_text("Record", atts)); };
    if (!start) return fail("missing time (no startDate)");
    auto ts = parse_time_with_offset(start);
    if (!ts.ok()) return fail("unreadable time (startDate)");
    if (!unit || std::strcmp(unit, "count/min") != 0) {
      return fail(fmt::format("unknown unit '{}' (heart rate is count/min)", unit ? unit : ""));
    }
    char* end = nullptr;
    const double v = value ? std::strtod(value, &end) : 0;
    if (!value || end == value || *end != '\0') return fail("value is not a number");
    if (!(v >= 5 && v <= 300)) return fail("impossible heart rate (outside 5..300 beats/min)");
    in_record_ = true;
    ts_ = *ts;
    bpm_ = v;
    context_ = Context::kUnknown;
    rec_line_ = line_base_ + static_cast<int64_t>(XML_GetCurrentLineNumber(parser_.get()));
    rec_offset_ = byte_base_ + (XML_GetCurrentByteIndex(parser_.get()) - prefix_len_);
  }

  void workout(const XML_Char** atts) {
    const char* type = attr(atts, "workoutActivityType");
    const char* start = attr(atts, "startDate");
    const char* end = attr(atts, "endDate");
    auto s = start ? parse_time_with_offset(start) : Result<int64_t>(invalid_argument("no startDate"));
    auto e = end ? parse_time_with_offset(end) : Result<int64_t>(invalid_argument("no endDate"));
    if (!s.ok() || !e.ok() || *e < *s) {
      // Not a record of its own (the records in are Records), but kept and counted as an error.
      c_.error("workout without a readable start and end", here(), element_text("Workout", atts));
      return;
    }
    c_.workout({subject_, *s, *e, activity_for_workout(type ? type : "")});
  }

  void me(const XML_Char** atts) {
    SubjectInfo info = ctx_.participant;
    if (const char* dob = attr(atts, "HKCharacteristicTypeIdentifierDateOfBirth")) info.date_of_birth = parse_date_yyyymmdd(dob);
    if (const char* sex = attr(atts, "HKCharacteristicTypeIdentifierBiologicalSex")) {
      if (std::strcmp(sex, "HKBiologicalSexFemale") == 0) info.sex = 'F';
      if (std::strcmp(sex, "HKBiologicalSexMale") == 0) info.sex = 'M';
    }
    if (const char* bt = attr(atts, "HKCharacteristicTypeIdentifierBloodType")) info.blood_type = blood_type(bt);
    c_.subject(info);
  }

  ReadContext& ctx_;
  Collector& c_;
  std::string name_;
  uint32_t subject_ = 0;
  ParserPtr parser_;
  int64_t byte_base_ = 0, line_base_ = 0, prefix_len_ = 0;
  // the heart-rate Record being read
  bool in_record_ = false;
  int64_t ts_ = 0;
  double bpm_ = 0;
  Context context_ = Context::kUnknown;
  int64_t rec_line_ = 0, rec_offset_ = 0;
  // a run of skipped records of one type, counted at once
  std::string skip_type_;
  uint64_t skip_run_ = 0;
};

}  // namespace

Status read_apple_health(const std::filesystem::path& input, ReadContext& ctx) {
  std::unique_ptr<ByteSource> src;
  if (is_zip(input)) {
    HRFLOW_ASSIGN_OR_RETURN(src, open_zip_entry(input, "export.xml", ctx.buffer_bytes));
  } else {
    HRFLOW_ASSIGN_OR_RETURN(src, open_file(input, ctx.buffer_bytes));
  }
  AppleHealthReader reader(ctx, src->name());
  return reader.run(*src);
}

}  // namespace hrflow::import
