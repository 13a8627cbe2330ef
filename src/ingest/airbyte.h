// Airbyte's bookkeeping columns, shared by the lake and CDC sources so that SQL written for the
// original warehouse keeps working: `_airbyte_raw_id` (a random UUID per row), `_airbyte_extracted_at`
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

// Random (version 4) UUIDs as text, fast enough for every row of a bulk load.
class UuidGenerator {
 public:
  UuidGenerator();
  // Writes 36 characters at `out`.
  void next(char* out);
  std::string next();
  // The same UUID as two 64-bit halves (most significant first), for binary column writes.
  void next_bits(uint64_t& hi, uint64_t& lo) {
    hi = (rng_.next() & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
    lo = (rng_.next() & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  }

 private:
  // xoshiro256** (the project's generator), seeded from std::random_device: ids need to be unique,
  // not secret, and a bulk load draws two numbers per row.
  oltp::Rng rng_;
};

}  // namespace hrflow::ingest
