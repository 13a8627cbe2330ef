// The lake sink's core: stream records (partition, offset, value) in, lake files out, exactly once.
// It knows nothing about the stream itself; `hrflow sink` (sink_command.cpp) feeds it from a
// StreamConsumer and commits the positions it hands out. See README.md for the exactly-once argument.
//
// Lifecycle: construct over an ObjectStore; add() records of each partition in offset order (older
// offsets are skipped as redeliveries); call tick() now and then (idle timeouts); after each poll
// commit committable() and report it back with mark_committed(); close_all() before a clean stop;
// drop_partition() when a rebalance takes a partition away (its open files are discarded unwritten).
//
// Closed files are stored by a background thread (marker first, then the files, see README.md), so
// parsing goes on while the disk or S3 works; committable() only reports positions whose files are
// stored, and settle() waits for everything closed so far. A storage failure is returned by the next
// add()/tick()/close_all()/settle() before it changes anything, and the failed store is retried
// then, so the same call can be retried (writes are idempotent: same names, same content).
//
// Thread-safety: one thread calls the sink; the storing thread is internal.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/config.h"
#include "common/status.h"
#include "lake/layout.h"
#include "lake/storage.h"

namespace hrflow::lake {

struct SinkOptions {
  std::string topic = "hr-data-topic";
  int64_t flush_size = 100000;            // records per file
  int64_t rotate_bytes = 64ll << 20;      // uncompressed bytes per file
  int64_t rotate_interval_ms = 3600000;   // event-time span of a partition's open files
  int64_t idle_timeout_ms = 30000;        // close a quiet partition's files after this (wall time)
  int64_t max_file_age_ms = 0;            // close a partition's files this long after they opened (0: off)
  int64_t max_open_files = 64;            // across all partitions of this process
  Compression compression = Compression::kNone;

  static Result<SinkOptions> from(const Config& config);  // sink.*, lake.compression, stream.topic
};

struct SinkStats {
  uint64_t records = 0;      // records accepted (good and bad)
  uint64_t bad_records = 0;  // of which went to errors/
  uint64_t files = 0;        // files written (rewrites after a restart count again)
  uint64_t bytes = 0;        // bytes written to the store
};

// Partition -> next offset to read (Kafka's committed-offset convention).
using SinkPositions = std::map<int32_t, int64_t>;

struct RecordTimeParser;
class SinkWriter;

class LakeSink {
 public:
  LakeSink(ObjectStore& store, SinkOptions options, const Clock& clock = SystemClock::instance());
  ~LakeSink();

  Status add(int32_t partition, int64_t offset, std::string_view value);
  // Close files that are full, and the files of partitions idle for idle_timeout.
  Status tick();
  // Close every open file and wait until all are stored (end of --once, clean shutdown).
  Status close_all();
  // Wait until every closed file is stored.
  Status settle();
  void drop_partition(int32_t partition);

  // Positions whose files are all durably stored and that were not yet marked committed.
  SinkPositions committable() const;
  void mark_committed(const SinkPositions& positions);

  size_t open_files() const { return open_count_; }
  SinkStats stats() const;
  const SinkOptions& options() const { return options_; }
  // Key of the small object that records a partition's flush points (see README.md).
  std::string flush_marker_key(int32_t partition) const;

 private:
  struct OpenFile;
  struct Partition;
  Partition& partition_state(int32_t partition, int64_t first_offset, Status& status);
  // Close all open files of `p` at position `at` (all records below `at` are in them).
  Status flush(Partition& p, int64_t at);
  Status close_oldest();
  std::string marker_body(const Partition& p) const;

  ObjectStore& store_;
  SinkOptions options_;
  const Clock& clock_;
  std::map<int32_t, std::unique_ptr<Partition>> partitions_;
  size_t open_count_ = 0;
  uint64_t open_seq_ = 0;
  SinkStats stats_;  // records and bad_records; files and bytes are counted by the writer
  std::unique_ptr<RecordTimeParser> parser_;  // record_time.h
  std::unique_ptr<SinkWriter> writer_;        // sink_writer.h: the storing thread
};

}  // namespace hrflow::lake
