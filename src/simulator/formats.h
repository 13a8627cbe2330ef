// `hrflow bench formats`: how many bytes a reading costs in each candidate wire or file format,
// measured over many realistic simulator records (the original system compared one-record files).
//
// measure_formats() writes its files into a scratch directory it is given and returns one row per
// format. Single-threaded; no shared state.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "common/status.h"
#include "simulator/simulator.h"

namespace hrflow::sim {

struct FormatRow {
  std::string format;       // "JSON (integers)", ...
  std::string note;         // how it was measured
  uint64_t raw_bytes = 0;   // for all records
  uint64_t zstd_bytes = 0;  // the same bytes compressed as one stream (0 = not applicable)
  uint64_t gzip_bytes = 0;
  uint64_t one_record_bytes = 0;  // the same format holding a single record (the original experiment)
};

struct FormatsReport {
  uint64_t records = 0;
  std::vector<FormatRow> rows;
};

// Measure JSON (integers), JSON (all strings), Avro binary (schema once), Avro container file,
// each raw and compressed with zstd and gzip, and Parquet through DuckDB (snappy and zstd).
Result<FormatsReport> measure_formats(const std::vector<Reading>& records, const std::filesystem::path& scratch_dir);

// The report as an aligned text table with a short explanation.
std::string format_report(const FormatsReport& report);

// The Avro schema of a reading (record HeartRate with meta.location nested records).
extern const char* const kAvroSchemaJson;

}  // namespace hrflow::sim
