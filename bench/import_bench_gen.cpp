// Writes a synthetic Apple Health export.xml of about the given size, shaped like a real one: the
// internal DTD and Me, then records grouped by type (heart rate with device and motion-context
// metadata, and the frequent other types: steps, energy, distance), then workouts.
// Usage: import_bench_gen OUT.xml SIZE_MB  -> prints "<bytes> <heart-rate records> <records>"
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "common/civil_time.h"
#include "import/import_test_files.h"

int main(int argc, char** argv) {
  using namespace hrflow::import::testfiles;
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s OUT.xml SIZE_MB\n", argv[0]);
    return 2;
  }
  const uint64_t target = std::strtoull(argv[2], nullptr, 10) * 1000000ull;
  std::FILE* f = std::fopen(argv[1], "wb");
  if (!f) return 1;
  std::string buf = apple_head();
  uint64_t bytes = 0, hr = 0, records = 0;
  auto flush = [&] {
    std::fwrite(buf.data(), 1, buf.size(), f);
    bytes += buf.size();
    buf.clear();
  };
  const int64_t t0 = hrflow::days_from_civil(2024, 5, 1) * 86400;
  // 45% of the bytes heart rate (every 5 minutes at rest, every 5 seconds in the daily workout hour).
  int64_t t = t0;
  while (bytes + buf.size() < target * 45 / 100) {
    const int64_t in_day = (t - t0) % 86400;
    const bool workout = in_day >= 18 * 3600 && in_day < 19 * 3600;
    buf += apple_hr(t, 120, std::to_string(workout ? 120 + (t / 5) % 60 : 55 + (t / 300) % 30), "Anna’s Apple Watch",
                    workout ? 2 : (t / 300) % 3);
    ++hr;
    ++records;
    t += workout ? 5 : 300;
    if (buf.size() > (1 << 20)) flush();
  }
  const char* others[][2] = {{"HKQuantityTypeIdentifierStepCount", "count"},
                             {"HKQuantityTypeIdentifierActiveEnergyBurned", "kcal"},
                             {"HKQuantityTypeIdentifierBasalEnergyBurned", "kcal"},
                             {"HKQuantityTypeIdentifierDistanceWalkingRunning", "km"}};
  for (int k = 0; k < 4; ++k) {
    int64_t s = t0;
    while (bytes + buf.size() < target * (45 + 13 * (k + 1)) / 100) {
      buf += apple_other(others[k][0], s, std::to_string((s / 60) % 97), others[k][1]);
      ++records;
      s += 60;
      if (buf.size() > (1 << 20)) flush();
    }
  }
  for (int64_t d = t0; d < t; d += 86400) buf += apple_workout("HKWorkoutActivityTypeRunning", d + 18 * 3600, d + 19 * 3600, 120);
  buf += apple_tail();
  flush();
  std::fclose(f);
  std::printf("%llu %llu %llu\n", static_cast<unsigned long long>(bytes), static_cast<unsigned long long>(hr),
              static_cast<unsigned long long>(records));
  return 0;
}
