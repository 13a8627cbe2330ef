// stream_bench: append heart-rate records (the contract's JSON, ~150 bytes, keyed by user id) to the
// stream and report events/s. Used by bench/stream.sh, which compares with dd and kcat in the same run.
//   stream_bench local --dir DIR --records N [--fsync batch|never]   the embedded log
//   stream_bench kafka --bootstrap HOST:PORT --records N [--topic T]
//   stream_bench file --out FILE --records N          the same records as "key<TAB>value" lines for kcat
// Prints one line: "<events/s> <value+key bytes/s> <seconds>".
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "common/config.h"
#include "stream/stream.h"

namespace {

struct Pool {
  std::vector<std::string> keys, values;
};

// 100,000 distinct records cycled through; record i gets timestamp base + i.
Pool make_pool() {
  Pool pool;
  for (int i = 0; i < 100000; ++i) {
    int user = 10001 + (i * 7919) % 20000;
    pool.keys.push_back(std::to_string(user));
    pool.values.push_back(fmt::format(
        "{{\"user_id\":{},\"heart_rate\":{},\"timestamp\":{},\"meta\":{{\"activity_id\":{},\"location\":"
        "{{\"latitude\":{:.6f},\"longitude\":{:.6f}}}}}}}",
        user, 55 + (i * 31) % 120, 1711943972 + i * 5, 20000 + (i * 13) % 5000, 37.0 + (i % 1000) / 1000.0,
        -121.0 - (i % 777) / 1000.0));
  }
  return pool;
}

int usage() {
  std::fprintf(stderr, "usage: stream_bench local|kafka|file (--dir DIR | --bootstrap B | --out F) --records N\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  std::string mode = argv[1], dir, bootstrap, out, topic = "hr-data-topic", fsync = "batch";
  uint64_t records = 1000000;
  for (int i = 2; i + 1 < argc; i += 2) {
    std::string a = argv[i], v = argv[i + 1];
    if (a == "--dir") dir = v;
    else if (a == "--bootstrap") bootstrap = v;
    else if (a == "--out") out = v;
    else if (a == "--topic") topic = v;
    else if (a == "--fsync") fsync = v;
    else if (a == "--records") records = std::stoull(v);
    else return usage();
  }
  Pool pool = make_pool();
  if (mode == "file") {
    std::ofstream f(out, std::ios::binary);
    for (uint64_t i = 0; i < records; ++i) f << pool.keys[i % 100000] << '\t' << pool.values[i % 100000] << '\n';
    return f ? 0 : 1;
  }
  hrflow::Config config = hrflow::Config::defaults();
  bool ok = config.set("stream.topic", topic).ok() && config.set("stream.log.fsync", fsync).ok();
  if (mode == "local") ok = ok && !dir.empty() && config.set("stream.log.dir", dir).ok();
  else if (mode == "kafka") ok = ok && config.set("stream.kafka.bootstrap_servers", bootstrap).ok();
  else return usage();
  if (!ok) return usage();

  const auto start = std::chrono::steady_clock::now();
  auto producer = hrflow::stream::open_producer(config);
  if (!producer.ok()) {
    std::fprintf(stderr, "stream_bench: %s\n", producer.error().message.c_str());
    return 1;
  }
  uint64_t bytes = 0;
  for (uint64_t i = 0; i < records; ++i) {
    const auto& k = pool.keys[i % 100000];
    const auto& v = pool.values[i % 100000];
    bytes += k.size() + v.size();
    if (auto st = (*producer)->send(k, v, 1711943972000LL + static_cast<int64_t>(i) * 5000); !st.ok()) {
      std::fprintf(stderr, "stream_bench: %s\n", st.error().message.c_str());
      return 1;
    }
  }
  if (auto st = (*producer)->flush(); !st.ok()) {
    std::fprintf(stderr, "stream_bench: %s\n", st.error().message.c_str());
    return 1;
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if ((*producer)->acknowledged() != records) {
    std::fprintf(stderr, "stream_bench: only %llu of %llu records acknowledged\n",
                 static_cast<unsigned long long>((*producer)->acknowledged()), static_cast<unsigned long long>(records));
    return 1;
  }
  std::printf("%.0f %.0f %.3f\n", records / s, bytes / s, s);
  return 0;
}
