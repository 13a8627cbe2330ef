// `hrflow import`: wearable and clinical heart-rate data into the stream, as readings of imported
// participants, so that sink, sync, build and serve treat them like simulated data.
//
// An import runs in two phases:
//   1. read: the format's reader streams through the input (memory: its read buffer) and hands every
//      record to a Collector: readings go to a spill file of 16-byte entries, bad records to the
//      errors file, and workouts and people are kept (they are few);
//   2. deliver: the people become users of the operational database (participants.h), each reading
//      gets its user id and activity (the workout covering it, else by motion context), readings the
//      journal already holds are counted as duplicates, and the rest go to the stream in batches,
//      each written to the journal before it is sent and marked done once acknowledged (journal.h).
// A killed import (kill -9) is finished by running it again: it reads the input again and sends
// only what the stream does not hold yet.
//
// Thread-safety: one import at a time per journal (the journal is locked).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/status.h"
#include "common/stop.h"
#include "import/collector.h"

namespace hrflow {
class Progress;
namespace stream {
struct StreamEnd;
}
}

namespace hrflow::import {

enum class Format { kAppleHealth, kFhir, kFitbit, kOmh };
const char* format_name(Format f);  // "apple-health", "fhir", "fitbit", "omh"

struct ImportOptions {
  Format format = Format::kAppleHealth;
  std::filesystem::path input;
  std::string participant;            // apple-health, fitbit, omh: the participant's label
  std::string timezone;               // fitbit: IANA zone of the local times
  bool with_names = false;            // fhir: keep Patient names
  bool with_addresses = false;        // fhir: keep Patient addresses
  std::filesystem::path errors_path;  // empty = {import.dir}/errors/<input>.<format>.errors.jsonl
  bool show_progress = true;
  StopToken stop;         // asked between buffers and batches; a stop ends cleanly (re-run resumes)
};

struct ParticipantResult {
  std::string label;  // as stored (the pseudonym when privacy.pseudonym_key is set)
  int64_t user_id = 0;
  bool created = false;
  uint64_t readings = 0;  // imported by this run
};

struct ImportReport {
  uint64_t records_in = 0;  // = imported + duplicates + skipped + errors
  uint64_t readings_read = 0;  // valid heart-rate readings in the input (some then skipped: see import.cpp)
  uint64_t imported = 0;       // sent to the stream by this run
  uint64_t duplicates = 0;     // already imported (this or an earlier run), or twice in the input
  uint64_t recovered = 0;      // readings of a killed run found in the stream and marked done
  std::map<std::string, uint64_t> skipped, errors;  // by reason
  uint64_t workouts = 0;
  std::vector<ParticipantResult> participants;
  bool commit_time_simulated = false;
  bool interrupted = false;
  std::filesystem::path errors_path;  // written when there were errors
  uint64_t input_bytes = 0;
  double read_seconds = 0, deliver_seconds = 0;
};

Result<ImportReport> run_import(const Config& config, const ImportOptions& options);

// Which readings of a killed run's pending batch the stream holds, from the newest record of each
// partition (the rule in journal.h).
struct JournalEntry;
Result<std::vector<JournalEntry>> delivered_part(const std::vector<JournalEntry>& pending, const stream::StreamEnd& end);

// One line per kind of outcome, for the terminal.
std::vector<std::string> summary_lines(const ImportReport& report);

// --- the readers (one per format); each streams its input into `c` -------------------------------
struct ReadContext {
  Collector& collector;
  Progress* progress = nullptr;  // bytes read of the total
  const StopToken* stop = nullptr;
  SubjectInfo participant;       // formats of one person: the --participant subject
  std::string timezone;
  bool with_names = false, with_addresses = false;
  size_t buffer_bytes = 1 << 20;
  bool stopped() const { return stop && stop->stop_requested(); }
};

Status read_apple_health(const std::filesystem::path& input, ReadContext& ctx);
Status read_fhir(const std::filesystem::path& dir, ReadContext& ctx);
Status read_fitbit(const std::filesystem::path& dir, ReadContext& ctx);
Status read_omh(const std::filesystem::path& file, ReadContext& ctx);

// Total bytes of the input (a file, or the files a directory reader will read), for progress.
uint64_t input_size(Format format, const std::filesystem::path& input);

}  // namespace hrflow::import
