#include "ingest/airbyte.h"

#include "common/clock.h"

#include <fmt/format.h>

#include <ctime>
#include <random>

namespace hrflow::ingest {

std::string format_timestamp_utc(int64_t unix_us) {
  int64_t secs = unix_us / 1000000;
  int64_t frac = unix_us % 1000000;
  if (frac < 0) {
    frac += 1000000;
    --secs;
  }
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  return fmt::format("{:04d}-{:02d}-{:02d} {:02d}:{:02d}:{:02d}.{:06d}+00", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}

namespace {
uint64_t random_seed() {
  std::random_device rd;
  return (static_cast<uint64_t>(rd()) << 32) ^ rd();
}
}  // namespace

UuidGenerator::UuidGenerator() : rng_(random_seed()) { start(SystemClock::instance().now_ms()); }

void UuidGenerator::start(int64_t unix_ms) {
  unix_ms_ = unix_ms;
  uint64_t r = rng_.next();
  // time (48) | version 7 (4) | random (12)  ;  variant 10 (2) | random (30) | counter (32)
  hi_ = ((static_cast<uint64_t>(unix_ms) & 0xffffffffffffULL) << 16) | 0x7000ULL | (r & 0xfffULL);
  lo_ = 0x8000000000000000ULL | ((r >> 12) & 0x3fffffffULL) << 32;
  counter_ = 0;
}

void UuidGenerator::next(char* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t hi, lo;
  next_bits(hi, lo);
  int pos = 0;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[pos++] = '-';
    uint8_t byte = static_cast<uint8_t>(i < 8 ? hi >> (56 - 8 * i) : lo >> (56 - 8 * (i - 8)));
    out[pos++] = kHex[byte >> 4];
    out[pos++] = kHex[byte & 15];
  }
}

std::string UuidGenerator::next() {
  std::string s(36, '0');
  next(s.data());
  return s;
}

}  // namespace hrflow::ingest
