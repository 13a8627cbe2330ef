// Airbyte's bookkeeping columns, shared by the lake and CDC sources so that SQL written for the
// original warehouse keeps working: `_airbyte_raw_id` (a random UUID per row), `_airbyte_extracted_at`
// (when hrflow read the record), `_airbyte_meta` (JSON {"changes":[...],"errors":[...]}).
// UuidGenerator is not thread-safe (one per loader); the functions are pure.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

#include "common/json_text.h"

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
    hi = (next64() & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
    lo = (next64() & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  }

 private:
  // xoshiro256** (Blackman and Vigna), seeded from std::random_device: ids need to be unique, not
  // secret, and a bulk load draws two numbers per row, which std::mt19937_64 made a visible cost.
  uint64_t next64() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace hrflow::ingest
