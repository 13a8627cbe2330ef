// `hrflow export fhir`: the warehouse's readings (serving.fct_heart_rates with their users) as a FHIR
// R4 Bulk Data export: Patient.ndjson (one per user: id, birthDate, gender) and Observation.ndjson
// (one per reading, the vital-signs heart-rate profile: LOINC 8867-4, UCUM /min, effectiveDateTime
// in UTC, status final). `hrflow import fhir` reads it back.
//
// Patient ids are "user-<user_id>", or their keyed hash with privacy.pseudonym_key set (the same hash
// an import applies, so nothing identifying leaves). Memory: one user-week of readings at a time.
// Reads the warehouse; one owner at a time, like every command that opens it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <vector>

#include "common/config.h"
#include "common/status.h"
#include "common/stop.h"

namespace hrflow::import {

struct ExportOptions {
  std::filesystem::path out_dir;
  std::optional<int64_t> from, to;  // epoch seconds, [from, to)
  std::vector<int64_t> users;       // empty = every user with readings
  bool show_progress = true;
  StopToken stop;  // asked between chunks; a stop ends cleanly
};

struct ExportReport {
  uint64_t patients = 0, observations = 0;
  std::filesystem::path patient_file, observation_file;
  bool interrupted = false;
};

Result<ExportReport> export_fhir(const Config& config, const ExportOptions& options);

}  // namespace hrflow::import
