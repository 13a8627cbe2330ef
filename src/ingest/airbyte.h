// Airbyte's bookkeeping columns, shared by the lake and CDC sources so that SQL written for the
// original warehouse keeps working: `_airbyte_raw_id` (a unique UUID per row), `_airbyte_extracted_at`
// (when hrflow read the record), `_airbyte_meta` (JSON {"changes":[...],"errors":[...]}).
// UuidGenerator is not thread-safe (one per loader); the functions are pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/json_text.h"
#include "oltp/random.h"

namespace hrflow::ingest {

// `_airbyte_meta` of a record read without remarks.
inline constexpr std::string_view kCleanMeta = R"({"changes":[],"errors":[]})";

// "2024-04-01 12:34:56.123456+00": unambiguous text for TIMESTAMPTZ columns.
std::string format_timestamp_utc(int64_t unix_us);

// Version 7 UUIDs (RFC 9562) for `_airbyte_raw_id`: 48 bits of Unix milliseconds, then 42 bits drawn
// at random for each sequence and a 32-bit counter (RFC 9562 section 6.2, method 1). A sequence is what
// a loader extracts at once (a lake file, a CDC batch): its ids sort by extraction time and then in
// the order the rows were read, and differ only in the counter, which DuckDB can bit-pack where random
// ids take 16 bytes each (bench/ingest_lake_bench prints the database sizes). Two sequences share ids
// only if they start in the same millisecond with the same 42 random bits.
class UuidGenerator {
 public:
  UuidGenerator();  // a sequence at the current time
  // Start a new sequence at `unix_ms`.
  void start(int64_t unix_ms);
  // Writes 36 characters at `out`.
  void next(char* out);
  std::string next();
  // The same UUID as two 64-bit halves (most significant first), for binary column writes.
  void next_bits(uint64_t& hi, uint64_t& lo) {
    if (counter_ >> 32) start(unix_ms_);  // 2^32 ids in one sequence: fresh random bits
    hi = hi_;
    lo = lo_ | counter_++;
  }

 private:
  // xoshiro256** (the project's generator), seeded from std::random_device: ids need to be unique,
  // not secret.
  oltp::Rng rng_;
  int64_t unix_ms_ = 0;
  uint64_t hi_ = 0, lo_ = 0, counter_ = 0;
};
}  // namespace hrflow::ingest
