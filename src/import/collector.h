// What a format reader hands over while it streams through a file: the people in it (subjects), their
// heart-rate readings, workouts, and every record it skipped or could not read. Readers call a
// Collector; they never talk to the stream or the database (import.h does that once the whole input
// has been read, because a file may name its workouts after the readings they cover).
//
// Readings are spilled to a file of fixed-size entries (memory: one write buffer), bad records are
// written to the errors file as JSON lines with their place, and the counts are kept per reason so
// that records in = readings + skipped + errors holds exactly.
//
// Lifecycle: create, let one reader call it, then read the spill back (SpillReader). One thread.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace hrflow::import {

// What a file says about a person. Empty fields are unknown.
struct SubjectInfo {
  std::string label;                 // participant label (--participant) or FHIR Patient.id
  std::optional<int32_t> date_of_birth;  // YYYYMMDD
  std::optional<char> sex;           // 'M' / 'F'
  std::optional<std::string> blood_type;  // "A+", ...
  std::optional<std::string> first_name, last_name;  // only when the user asked for names
  std::optional<std::string> address, country_code;  // only when the user asked for addresses
};

// Activity a reading carries when no workout covers it.
enum class Context : uint8_t { kUnknown = 0, kSedentary = 1, kActive = 2 };

struct Workout {
  uint32_t subject = 0;
  int64_t start = 0, end = 0;  // epoch seconds, [start, end]
  std::string activity;        // one of the 23 activity names
};

// One spilled reading: 16 bytes.
struct SpilledReading {
  int64_t timestamp;   // epoch seconds UTC
  uint32_t subject;    // index into Collector::subjects()
  uint16_t heart_rate; // beats per minute, rounded
  uint8_t context;     // Context
  uint8_t activity;    // 0 = none given, else 1 + index into kActivityNames
};

// The 23 activities of the operational database, by name (reference-system.md).
extern const char* const kActivityNames[23];
std::optional<uint8_t> activity_index(std::string_view name);

// Where a record is in its input, for the errors file and messages.
struct Place {
  std::string file;
  int64_t line = 0;    // 1-based; 0 = unknown
  int64_t offset = -1; // byte offset in the (decompressed) input; -1 = unknown
  std::string where;   // extra: "element 17", "zip entry apple_health_export/export.xml"
};

class Collector {
 public:
  // `spill_path` is created (truncated); `errors_path` too, on the first error.
  static Result<Collector> create(std::filesystem::path spill_path, std::filesystem::path errors_path);
  Collector(Collector&&) noexcept;
  Collector& operator=(Collector&&) = delete;
  Collector(const Collector&) = delete;
  ~Collector();

  // A subject; the same label returns the same index and merges what is known.
  uint32_t subject(const SubjectInfo& info);
  std::optional<uint32_t> find_subject(std::string_view label) const;

  // A record that is a heart-rate reading. Validates the value (5..300 bpm) and the time (after
  // 1970, before 2100); an invalid one becomes an error at `place`.
  void reading(uint32_t subject, int64_t timestamp, double bpm, Context context, const Place& place,
               uint8_t activity = 0) {
    reading_at(subject, timestamp, bpm, context, [&] { return place; }, activity);
  }
  // The same, with the place made only when needed (readers of large files avoid building it per reading).
  template <typename PlaceFn>
  void reading_at(uint32_t subject, int64_t timestamp, double bpm, Context context, PlaceFn&& place,
                  uint8_t activity = 0) {
    if (!(bpm >= 5 && bpm <= 300)) {
      error("impossible heart rate (outside 5..300 beats/min)", place(), fmt::format("{}", bpm));
    } else if (timestamp <= 0 || timestamp >= 4102444800) {
      error("time outside 1970..2100", place(), fmt::format("{}", timestamp));
    } else {
      push(subject, timestamp, bpm, context, activity);
    }
  }
  void workout(Workout w) { workouts_.push_back(std::move(w)); }
  // A record that is not a heart-rate reading (or not kept), by reason.
  void skip(const std::string& reason, uint64_t n = 1);
  // A record that could not be read. `excerpt` is the record (or its start), kept in the errors file.
  void error(const std::string& reason, const Place& place, std::string_view excerpt);

  // Finish writing the spill (flush); counts are final.
  Status finish();

  uint64_t records_in() const { return readings_ + skipped_total_ + errors_total_; }
  uint64_t readings() const { return readings_; }
  const std::map<std::string, uint64_t>& skipped() const { return skipped_; }
  const std::map<std::string, uint64_t>& errors() const { return errors_; }
  uint64_t errors_total() const { return errors_total_; }
  const std::vector<SubjectInfo>& subjects() const { return subjects_; }
  std::vector<Workout>& workouts() { return workouts_; }
  const std::filesystem::path& spill_path() const { return spill_path_; }
  const std::filesystem::path& errors_path() const { return errors_path_; }
  // Earliest reading per subject (epoch seconds), for the user's creation time.
  const std::vector<int64_t>& earliest() const { return earliest_; }
  // Set when writing the spill or the errors file failed; the import fails with it.
  const std::optional<Error>& io_failure() const { return io_failure_; }

 private:
  Collector() = default;
  void push(uint32_t subject, int64_t timestamp, double bpm, Context context, uint8_t activity);
  void flush_spill();
  std::filesystem::path spill_path_, errors_path_;
  std::FILE* spill_ = nullptr;
  std::FILE* errors_file_ = nullptr;
  std::vector<SpilledReading> buffer_;
  std::vector<SubjectInfo> subjects_;
  std::map<std::string, uint32_t, std::less<>> by_label_;
  std::vector<int64_t> earliest_;
  std::vector<Workout> workouts_;
  std::map<std::string, uint64_t> skipped_, errors_;
  uint64_t readings_ = 0, skipped_total_ = 0, errors_total_ = 0;
  std::optional<Error> io_failure_;
};

// Reads a spill file back in order, one buffer at a time.
class SpillReader {
 public:
  static Result<SpillReader> open(const std::filesystem::path& path);
  SpillReader(SpillReader&&) noexcept;
  SpillReader& operator=(SpillReader&&) = delete;
  SpillReader(const SpillReader&) = delete;
  ~SpillReader();
  // Up to `max` readings into `out`; empty at the end.
  Status next(std::vector<SpilledReading>& out, size_t max);

 private:
  SpillReader() = default;
  std::FILE* f_ = nullptr;
  std::filesystem::path path_;
};

// "2024-05-01 08:00:00 +0200" (Apple), "2024-05-01T08:00:00.123+02:00" / "...Z" (RFC 3339, FHIR, OMH)
// -> epoch seconds UTC (fractions dropped). A time without an offset is an error here.
Result<int64_t> parse_time_with_offset(std::string_view text);
// "2024-05-01" -> 20240501; also "1980" and "1980-05" are not accepted (a date of birth needs a day).
std::optional<int32_t> parse_date_yyyymmdd(std::string_view text);

}  // namespace hrflow::import
