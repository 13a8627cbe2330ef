// Hand-written formatting of readings: the producer formats millions of records a second, so no
// streams, no allocation, no locale.
#include <cstring>

#include "simulator/simulator.h"

namespace hrflow::sim {

namespace {

constexpr char kDigitPairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

char* put_u64(char* p, uint64_t v) {
  char buf[20];
  char* e = buf + sizeof buf;
  char* b = e;
  while (v >= 100) {
    unsigned r = static_cast<unsigned>(v % 100);
    v /= 100;
    b -= 2;
    std::memcpy(b, kDigitPairs + 2 * r, 2);
  }
  if (v >= 10) {
    b -= 2;
    std::memcpy(b, kDigitPairs + 2 * v, 2);
  } else {
    *--b = static_cast<char>('0' + v);
  }
  size_t n = static_cast<size_t>(e - b);
  std::memcpy(p, b, n);
  return p + n;
}

char* put_i64(char* p, int64_t v) {
  if (v < 0) {
    *p++ = '-';
    return put_u64(p, static_cast<uint64_t>(-(v + 1)) + 1);
  }
  return put_u64(p, static_cast<uint64_t>(v));
}

// Micro-degrees as a decimal with exactly 6 fraction digits: -121975002 -> "-121.975002".
char* put_e6(char* p, int32_t v) {
  int64_t w = v;
  if (w < 0) {
    *p++ = '-';
    w = -w;
  }
  p = put_u64(p, static_cast<uint64_t>(w / 1000000));
  *p++ = '.';
  auto frac = static_cast<unsigned>(w % 1000000);
  std::memcpy(p, kDigitPairs + 2 * (frac / 10000), 2);
  std::memcpy(p + 2, kDigitPairs + 2 * (frac / 100 % 100), 2);
  std::memcpy(p + 4, kDigitPairs + 2 * (frac % 100), 2);
  return p + 6;
}

template <size_t N>
char* put_lit(char* p, const char (&s)[N]) {
  std::memcpy(p, s, N - 1);
  return p + N - 1;
}

}  // namespace

char* format_json(const Reading& r, char* p) {
  p = put_lit(p, "{\"user_id\":");
  p = put_i64(p, r.user_id);
  p = put_lit(p, ",\"heart_rate\":");
  p = put_i64(p, r.heart_rate);
  p = put_lit(p, ",\"timestamp\":");
  p = put_i64(p, r.timestamp);
  p = put_lit(p, ",\"meta\":{\"activity_id\":");
  p = put_i64(p, r.activity_id);
  p = put_lit(p, ",\"location\":{\"latitude\":");
  p = put_e6(p, r.latitude_e6);
  p = put_lit(p, ",\"longitude\":");
  p = put_e6(p, r.longitude_e6);
  return put_lit(p, "}}}");
}

char* format_json_strings(const Reading& r, char* p) {
  p = put_lit(p, "{\"user_id\":\"");
  p = put_i64(p, r.user_id);
  p = put_lit(p, "\",\"heart_rate\":\"");
  p = put_i64(p, r.heart_rate);
  p = put_lit(p, "\",\"timestamp\":\"");
  p = put_i64(p, r.timestamp);
  p = put_lit(p, "\",\"meta\":{\"activity_id\":\"");
  p = put_i64(p, r.activity_id);
  p = put_lit(p, "\",\"location\":{\"latitude\":\"");
  p = put_e6(p, r.latitude_e6);
  p = put_lit(p, "\",\"longitude\":\"");
  p = put_e6(p, r.longitude_e6);
  return put_lit(p, "\"}}}");
}

char* format_key(int64_t user_id, char* out) { return put_i64(out, user_id); }

}  // namespace hrflow::sim
