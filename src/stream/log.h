// The embedded durable stream log: a Kafka-like topic on the local disk (format: FORMAT.md).
//
//   LogWriter        the one writer of a topic directory (an exclusive flock; a second writer process
//                    gets a clear error). Opening it recovers every partition: the last segment is
//                    scanned, a torn or corrupt tail is cut, its index rebuilt. It appends batches,
//                    fsyncs them per the policy, rolls segments and enforces retention.
//   PartitionReader  reads one partition from an offset, verifying each batch's CRC; several readers
//                    (in any process) may read while the writer appends: an incomplete batch at the
//                    end of the log is "not yet written", a complete batch that fails its CRC is
//                    reported as corrupt with partition and offset, never served.
//   GroupPositions   a consumer group's committed positions, written atomically (tmp, fsync, rename).
//
// Thread-safety: each object is used by one thread at a time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.h"
#include "common/status.h"
#include "stream/stream.h"

namespace hrflow::stream {

enum class FsyncPolicy { kBatch, kAlways, kNever };

struct LogOptions {
  std::filesystem::path dir;          // the topic's directory: <stream.log.dir>/<stream.topic>
  int32_t partitions = 6;
  int64_t segment_bytes = int64_t{128} << 20;
  FsyncPolicy fsync = FsyncPolicy::kBatch;
  int64_t retention_ms = 7LL * 24 * 3600 * 1000;  // 0 = keep forever
  int64_t retention_bytes = 0;                     // per partition; 0 = no cap
  bool compress = true;                            // zstd per batch (stream.log.compression)

  static LogOptions from_config(const Config& config);
};

// On-disk layout constants (FORMAT.md).
inline constexpr uint32_t kBatchMagic = 0x314c5248;  // "HRL1" little-endian
inline constexpr size_t kBatchPrefix = 12;            // magic, length, crc
inline constexpr size_t kBatchHeader = 44;            // prefix + base offset, count, attributes, timestamps
inline constexpr size_t kMaxBatchBytes = size_t{64} << 20;
inline constexpr size_t kIndexEntry = 16;

inline constexpr uint32_t kAttrZstd = 1;  // the records after the header are one zstd frame

// Builds one batch in memory: records are encoded as they are added; finish() fills in the header
// (and compresses the records when asked).
class BatchBuilder {
 public:
  BatchBuilder();
  BatchBuilder(BatchBuilder&&) noexcept;
  BatchBuilder& operator=(BatchBuilder&&) noexcept;
  ~BatchBuilder();
  void add(std::string_view key, std::string_view value, int64_t timestamp_ms);
  uint32_t count() const { return count_; }
  size_t bytes() const { return buf_.size(); }
  bool empty() const { return count_ == 0; }
  // Stamp base offset and CRC; the bytes are then the batch exactly as it goes to disk.
  std::string_view finish(int64_t base_offset, bool compress = false);
  void clear();

 private:
  std::string buf_;
  std::string packed_;  // header + compressed records
  struct ZstdCtx;
  std::unique_ptr<ZstdCtx> zstd_;
  uint32_t count_ = 0;
  int64_t first_ts_ = 0, max_ts_ = 0;
};

// Create the topic directory layout if missing and check its partition count against `options`.
Status ensure_layout(const LogOptions& options);

class LogWriter {
 public:
  static Result<std::unique_ptr<LogWriter>> open(const LogOptions& options);
  ~LogWriter();
  LogWriter(const LogWriter&) = delete;
  LogWriter& operator=(const LogWriter&) = delete;

  int32_t partitions() const { return options_.partitions; }
  FsyncPolicy fsync_policy() const { return options_.fsync; }
  int64_t next_offset(int32_t partition) const;
  // Append `batch` (cleared afterwards) to `partition`'s active segment; rolls first when full.
  // Not durable until sync(). On failure the partition is cut back to where it was.
  Status append(int32_t partition, BatchBuilder& batch);
  // fdatasync the partition's active segment (no-op for FsyncPolicy::kNever).
  Status sync(int32_t partition);
  // Undo appends since the last mark(): cut each partition back (used when a multi-partition write
  // fails halfway, so the log holds exactly what was acknowledged).
  void mark();
  void rollback();
  // Delete whole segments beyond stream.retention / stream.retention_bytes (never the active one).
  Status enforce_retention();

 private:
  struct Partition;
  explicit LogWriter(LogOptions options);
  Status recover(int32_t partition);
  Status roll(Partition& p);
  LogOptions options_;
  int lock_fd_ = -1;
  std::vector<std::unique_ptr<Partition>> parts_;
};

class PartitionReader {
 public:
  PartitionReader(std::filesystem::path topic_dir, int32_t partition);
  ~PartitionReader();
  PartitionReader(const PartitionReader&) = delete;
  PartitionReader& operator=(const PartitionReader&) = delete;

  // Append up to `max` records at or after `position` to `out`; advances `position` past them.
  // A position before the oldest kept record (retention) moves to the oldest one.
  Result<size_t> read(int64_t& position, size_t max, std::vector<Record>& out);
  // Offset of the first record kept and the offset the next append will get.
  Result<int64_t> start_offset();
  Result<int64_t> end_offset();

 private:
  Status seek(int64_t position);
  Status fill(size_t need);
  void close_segment();
  std::filesystem::path dir_;
  int32_t partition_;
  int fd_ = -1;
  int64_t segment_base_ = -1;
  std::string segment_path_;
  uint64_t file_pos_ = 0;      // file position of buf_[0]
  std::string buf_;
  std::string plain_;          // decompressed records of the current batch
  void* dctx_ = nullptr;       // ZSTD_DCtx, reused
  size_t buf_off_ = 0;         // next batch within buf_
  int64_t last_position_ = -1;  // position after the last read()
};

// Committed positions of one consumer group, in <topic dir>/groups/<group>.positions.
class GroupPositions {
 public:
  static Result<Positions> load(const std::filesystem::path& topic_dir, const std::string& group);
  static Status store(const std::filesystem::path& topic_dir, const std::string& group, const Positions& p);
};

// Segment files of a partition, oldest first: (base offset, path of the .log).
std::vector<std::pair<int64_t, std::filesystem::path>> list_segments(const std::filesystem::path& partition_dir);
std::filesystem::path partition_dir(const std::filesystem::path& topic_dir, int32_t partition);

}  // namespace hrflow::stream
