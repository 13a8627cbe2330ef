// stream_log_writer: appends numbered records to an embedded stream log until it has written --count
// (0 = until killed) or a write fails, printing "acked N" after every flush. The crash (kill -9) and
// disk-full tests run it as a separate process. Record i has key "user-<i % 1000>" and a JSON value
// carrying i, so a reader can check exactly which records survived.
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "stream/local.h"

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: stream_log_writer --dir DIR [--partitions N] [--fsync batch|always|never] [--count N]\n"
               "                         [--flush-every N] [--segment-bytes N] [--fsize-limit BYTES]\n"
               "                         [--compression zstd|none]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace hrflow::stream;
  LogOptions options;
  uint64_t count = 0, flush_every = 10000;
  long long fsize_limit = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i], v = argv[i + 1];
    if (a == "--dir") options.dir = v;
    else if (a == "--partitions") options.partitions = std::stoi(v);
    else if (a == "--fsync") options.fsync = v == "always" ? FsyncPolicy::kAlways : v == "never" ? FsyncPolicy::kNever : FsyncPolicy::kBatch;
    else if (a == "--count") count = std::stoull(v);
    else if (a == "--flush-every") flush_every = std::stoull(v);
    else if (a == "--segment-bytes") options.segment_bytes = std::stoll(v);
    else if (a == "--fsize-limit") fsize_limit = std::stoll(v);
    else if (a == "--compression") options.compress = v == "zstd";
    else return usage();
  }
  if (options.dir.empty() || flush_every == 0) return usage();
  if (fsize_limit > 0) {
    // A file-size limit makes writes beyond it fail with EFBIG, like a full disk does with ENOSPC.
    std::signal(SIGXFSZ, SIG_IGN);
    rlimit rl{static_cast<rlim_t>(fsize_limit), static_cast<rlim_t>(fsize_limit)};
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0) {
      std::perror("setrlimit");
      return 1;
    }
  }
  auto producer = open_local_producer(options);
  if (!producer.ok()) {
    std::fprintf(stderr, "error: %s\n", producer.error().message.c_str());
    return 1;
  }
  std::string key, value;
  for (uint64_t i = 0; count == 0 || i < count; ++i) {
    key = "user-" + std::to_string(i % 1000);
    value = "{\"user_id\":" + std::to_string(i % 1000) + ",\"seq\":" + std::to_string(i) +
            ",\"heart_rate\":" + std::to_string(60 + i % 100) +
            ",\"meta\":{\"activity_id\":20890,\"location\":{\"latitude\":37.416834,\"longitude\":-121.975002}}}";
    auto st = (*producer)->send(key, value, 1700000000000LL + static_cast<int64_t>(i));
    if (st.ok() && (i + 1) % flush_every == 0) st = (*producer)->flush();
    if (!st.ok()) {
      std::fprintf(stderr, "error: %s\n", st.error().message.c_str());
      std::printf("acked %llu\n", static_cast<unsigned long long>((*producer)->acknowledged()));
      std::fflush(stdout);
      std::_Exit(1);  // the producer is unusable; do not try to flush it again
    }
    if ((i + 1) % flush_every == 0) {
      std::printf("acked %llu\n", static_cast<unsigned long long>((*producer)->acknowledged()));
      std::fflush(stdout);
    }
  }
  auto st = (*producer)->flush();
  std::printf("acked %llu\n", static_cast<unsigned long long>((*producer)->acknowledged()));
  if (!st.ok()) {
    std::fprintf(stderr, "error: %s\n", st.error().message.c_str());
    return 1;
  }
  return 0;
}
