// The embedded log under failure, with a real writer process (stream_log_writer): kill -9 in the middle
// of appending, and a write that the disk refuses (a file-size limit: writes fail with EFBIG as they
// fail with ENOSPC on a full disk). Afterwards every acknowledged record is readable and nothing
// corrupt is served.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <set>

#include "common/subprocess.h"
#include "stream/local.h"
#include "stream/log.h"
#include "support/fixtures.h"

namespace hrflow::stream {
namespace {

namespace fs = std::filesystem;
using hrflow::testing::TempDir;
using hrflow::testing::wait_until;

// The last complete "acked N" line the writer printed.
uint64_t last_acked(const fs::path& output) {
  std::ifstream in(output);
  std::string line;
  uint64_t acked = 0;
  while (std::getline(in, line)) {
    if (line.starts_with("acked ") && !in.eof()) acked = std::stoull(line.substr(6));
  }
  return acked;
}

// Read every record of the log; fail the test on any error. Returns the sequence numbers.
std::multiset<uint64_t> read_all(const LogOptions& options, const std::string& group) {
  auto consumer = open_local_consumer(options, group);
  EXPECT_TRUE(consumer.ok()) << consumer.error().message;
  std::multiset<uint64_t> seqs;
  if (!consumer.ok()) return seqs;
  for (;;) {
    auto batch = (*consumer)->poll(100000, 100);
    EXPECT_TRUE(batch.ok()) << batch.error().message;
    if (!batch.ok() || batch->empty()) break;
    for (const auto& r : *batch) {
      auto at = r.value.find("\"seq\":");
      EXPECT_NE(at, std::string::npos) << r.value;
      uint64_t seq = std::stoull(r.value.substr(at + 6));
      EXPECT_EQ(r.key, "user-" + std::to_string(seq % 1000));
      EXPECT_EQ(r.timestamp_ms, 1700000000000LL + static_cast<int64_t>(seq));
      seqs.insert(seq);
    }
  }
  return seqs;
}

void expect_prefix_readable(const std::multiset<uint64_t>& seqs, uint64_t acked) {
  for (uint64_t s = 0; s < acked; ++s) {
    ASSERT_EQ(seqs.count(s), 1u) << "acknowledged record " << s << " of " << acked << " is missing or duplicated";
  }
  std::set<uint64_t> unique(seqs.begin(), seqs.end());
  EXPECT_EQ(unique.size(), seqs.size()) << "no record is served twice";
}

TEST(LogCrash, KillNineMidWriteLosesNothingAcknowledged) {
  TempDir dir;
  LogOptions options;
  options.dir = dir.path() / "log";
  options.partitions = 6;
  options.segment_bytes = 1 << 20;  // several segment rolls during the run
  fs::path output = dir.path() / "writer.out";
  auto writer = Subprocess::start({STREAM_LOG_WRITER, "--dir", options.dir.string(), "--count", "0",
                                   "--flush-every", "10000", "--segment-bytes", "1048576"},
                                  output.string());
  ASSERT_TRUE(writer.ok()) << writer.error().message;
  ASSERT_TRUE(wait_until([&] { return last_acked(output) >= 100000; }, std::chrono::seconds(60)))
      << "the writer made no progress";
  writer->stop(SIGKILL, 0);
  uint64_t acked = last_acked(output);
  ASSERT_GE(acked, 100000u);

  // Readers before any recovery: a torn batch at the end is not served.
  auto before = read_all(options, "before");
  expect_prefix_readable(before, acked);
  // The writer's recovery cuts whatever is torn; reading again gives the same records.
  {
    auto recovered = open_local_producer(options);
    ASSERT_TRUE(recovered.ok()) << recovered.error().message;
  }
  auto after = read_all(options, "after");
  expect_prefix_readable(after, acked);
  EXPECT_EQ(after, before);
}

TEST(LogCrash, DiskFullIsACleanErrorAndTheLogStaysReadable) {
  TempDir dir;
  LogOptions options;
  options.dir = dir.path() / "log";
  options.partitions = 6;
  auto run = run_command({STREAM_LOG_WRITER, "--dir", options.dir.string(), "--count", "0", "--flush-every", "5000",
                          "--fsize-limit", "3000000", "--compression", "none"});
  ASSERT_TRUE(run.ok());
  EXPECT_EQ(run->exit_code, 1) << run->output;
  EXPECT_NE(run->output.find("File too large"), std::string::npos) << run->output;
  EXPECT_NE(run->output.find("stream log partition"), std::string::npos) << "the error names where" << run->output;
  EXPECT_NE(run->output.find("free space"), std::string::npos) << "the error says what to do" << run->output;
  uint64_t acked = 0;
  auto at = run->output.rfind("acked ");
  ASSERT_NE(at, std::string::npos) << run->output;
  acked = std::stoull(run->output.substr(at + 6));
  ASSERT_GT(acked, 0u);

  auto seqs = read_all(options, "g");
  expect_prefix_readable(seqs, acked);
  EXPECT_EQ(seqs.size(), acked) << "the failed cycle was cut back: the log holds exactly what was acknowledged";
  for (int32_t p = 0; p < options.partitions; ++p) {
    for (auto& [base, path] : list_segments(partition_dir(options.dir, p))) EXPECT_LE(fs::file_size(path), 3000000u);
  }
  // With space again, the log takes new records after the old ones.
  auto producer = open_local_producer(options);
  ASSERT_TRUE(producer.ok()) << producer.error().message;
  for (uint64_t i = acked; i < acked + 100; ++i) {
    std::string value = "{\"seq\":" + std::to_string(i) + "}";
    ASSERT_TRUE((*producer)->send("user-" + std::to_string(i % 1000), value, 1700000000000LL + static_cast<int64_t>(i)).ok());
  }
  ASSERT_TRUE((*producer)->flush().ok());
  producer->reset();
  auto more = read_all(options, "g2");
  EXPECT_EQ(more.size(), acked + 100);
}

}  // namespace
}  // namespace hrflow::stream
