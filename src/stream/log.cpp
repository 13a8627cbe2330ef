#include "stream/log.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cctype>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

#include "stream/crc32c.h"

namespace hrflow::stream {

namespace fs = std::filesystem;
static_assert(std::endian::native == std::endian::little, "the log format is little-endian");

namespace {

constexpr uint64_t kIndexInterval = 4096;  // an index entry at least every this many log bytes
constexpr size_t kReadChunk = size_t{1} << 20;

void put32(char* p, uint32_t v) { std::memcpy(p, &v, 4); }
void put64(char* p, int64_t v) { std::memcpy(p, &v, 8); }
uint32_t get32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
int64_t get64(const char* p) {
  int64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

void put_varint(std::string& s, uint64_t v) {
  char tmp[10];
  int n = 0;
  while (v >= 0x80) {
    tmp[n++] = static_cast<char>(v | 0x80);
    v >>= 7;
  }
  tmp[n++] = static_cast<char>(v);
  s.append(tmp, n);
}

bool get_varint(const char*& p, const char* end, uint64_t& v) {
  v = 0;
  for (int shift = 0; shift < 64 && p < end; shift += 7) {
    auto b = static_cast<uint8_t>(*p++);
    v |= uint64_t(b & 0x7f) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

std::string errno_text(int e) { return std::strerror(e); }

std::string segment_name(int64_t base, const char* ext) { return fmt::format("{:020d}{}", base, ext); }

Status write_all(int fd, const char* data, size_t n, uint64_t pos, const fs::path& path) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, data, n, static_cast<off_t>(pos));
    if (w < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      const char* hint = (e == ENOSPC || e == EFBIG || e == EDQUOT) ? " (the disk or the file-size limit is full: free space, lower stream.retention / stream.retention_bytes, then run again)" : "";
      return io_error("cannot write the stream log file {}: {}{}", path.string(), errno_text(e), hint);
    }
    data += w;
    n -= static_cast<size_t>(w);
    pos += static_cast<uint64_t>(w);
  }
  return {};
}

// Read up to n bytes at pos; returns bytes read (short at end of file).
Result<size_t> read_at(int fd, char* data, size_t n, uint64_t pos, const std::string& path) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = ::pread(fd, data + got, n - got, static_cast<off_t>(pos + got));
    if (r < 0) {
      if (errno == EINTR) continue;
      return io_error("cannot read the stream log file {}: {}", path, errno_text(errno));
    }
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  return got;
}

Status fsync_dir(const fs::path& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open directory {}: {}", dir.string(), errno_text(errno));
  int rc = ::fsync(fd);
  int e = errno;
  ::close(fd);
  if (rc != 0) return io_error("cannot fsync directory {}: {}", dir.string(), errno_text(e));
  return {};
}

// Write a small file atomically: tmp file, fsync, rename, fsync the directory.
Status write_file_atomic(const fs::path& path, const std::string& content) {
  fs::path tmp = path;
  tmp += fmt::format(".tmp{}", ::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("cannot create {}: {}", tmp.string(), errno_text(errno));
  Status st = write_all(fd, content.data(), content.size(), 0, tmp);
  if (st.ok() && ::fsync(fd) != 0) st = io_error("cannot fsync {}: {}", tmp.string(), errno_text(errno));
  ::close(fd);
  if (st.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    st = io_error("cannot rename {} to {}: {}", tmp.string(), path.string(), errno_text(errno));
  }
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  return fsync_dir(path.parent_path());
}

// Parse and check the batch header at p (at least kBatchHeader bytes).
struct Header {
  uint32_t length = 0, crc = 0, count = 0, attributes = 0;
  int64_t base = 0, first_ts = 0, max_ts = 0;
  size_t total() const { return kBatchPrefix + length; }
};
Header parse_header(const char* p) {
  Header h;
  h.length = get32(p + 4);
  h.crc = get32(p + 8);
  h.base = get64(p + 12);
  h.count = get32(p + 20);
  h.attributes = get32(p + 24);
  h.first_ts = get64(p + 28);
  h.max_ts = get64(p + 36);
  return h;
}
bool header_sane(const char* p) {
  uint32_t len = get32(p + 4);
  return get32(p) == kBatchMagic && len >= kBatchHeader - kBatchPrefix && len <= kMaxBatchBytes;
}

}  // namespace

// --- options and layout --------------------------------------------------------------------------

LogOptions LogOptions::from_config(const Config& config) {
  LogOptions o;
  o.dir = config.get_path("stream.log.dir") / config.get_string("stream.topic");
  o.partitions = static_cast<int32_t>(config.get_int("stream.partitions"));
  o.segment_bytes = config.get_bytes("stream.log.segment_bytes");
  std::string f = config.get_string("stream.log.fsync");
  o.fsync = f == "always" ? FsyncPolicy::kAlways : f == "never" ? FsyncPolicy::kNever : FsyncPolicy::kBatch;
  o.retention_ms = config.get_duration_ms("stream.retention");
  o.retention_bytes = config.get_bytes("stream.retention_bytes");
  o.compress = config.get_string("stream.log.compression") == "zstd";
  return o;
}

fs::path partition_dir(const fs::path& topic_dir, int32_t partition) {
  return topic_dir / fmt::format("partition-{}", partition);
}

std::vector<std::pair<int64_t, fs::path>> list_segments(const fs::path& dir) {
  std::vector<std::pair<int64_t, fs::path>> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const auto name = e.path().filename().string();
    if (name.size() != 24 || !name.ends_with(".log")) continue;
    if (!std::all_of(name.begin(), name.begin() + 20, [](char c) { return c >= '0' && c <= '9'; })) continue;
    out.emplace_back(std::stoll(name.substr(0, 20)), e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

Status ensure_layout(const LogOptions& o) {
  std::error_code ec;
  fs::create_directories(o.dir / "groups", ec);
  if (ec) {
    return io_error("cannot create the stream log directory {}: {} (check stream.log.dir)", o.dir.string(),
                    ec.message());
  }
  const fs::path meta = o.dir / "topic.meta";
  if (!fs::exists(meta)) {
    HRFLOW_TRY(write_file_atomic(meta, fmt::format("hrflow-log 1\npartitions {}\n", o.partitions)));
  }
  std::ifstream in(meta);
  std::string magic, version, word;
  int32_t partitions = 0;
  in >> magic >> version >> word >> partitions;
  if (magic != "hrflow-log" || version != "1" || word != "partitions" || partitions <= 0) {
    return corrupt("{} is not an hrflow stream log description (expected 'hrflow-log 1' and 'partitions N')",
                   meta.string());
  }
  if (partitions != o.partitions) {
    return invalid_argument(
        "the stream log {} has {} partitions but stream.partitions is {}: a different count would move "
        "users to other partitions; set stream.partitions: {} or use a new stream.log.dir",
        o.dir.string(), partitions, o.partitions, partitions);
  }
  for (int32_t p = 0; p < o.partitions; ++p) {
    fs::create_directories(partition_dir(o.dir, p), ec);
    if (ec) return io_error("cannot create {}: {}", partition_dir(o.dir, p).string(), ec.message());
  }
  return {};
}

// --- BatchBuilder --------------------------------------------------------------------------------

struct BatchBuilder::ZstdCtx {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ~ZstdCtx() { ZSTD_freeCCtx(cctx); }
};

BatchBuilder::BatchBuilder() { clear(); }
BatchBuilder::~BatchBuilder() = default;
BatchBuilder::BatchBuilder(BatchBuilder&&) noexcept = default;
BatchBuilder& BatchBuilder::operator=(BatchBuilder&&) noexcept = default;

void BatchBuilder::clear() {
  buf_.assign(kBatchHeader, '\0');
  count_ = 0;
  first_ts_ = max_ts_ = 0;
}

void BatchBuilder::add(std::string_view key, std::string_view value, int64_t timestamp_ms) {
  if (count_ == 0) first_ts_ = max_ts_ = timestamp_ms;
  max_ts_ = std::max(max_ts_, timestamp_ms);
  int64_t delta = timestamp_ms - first_ts_;
  put_varint(buf_, (static_cast<uint64_t>(delta) << 1) ^ static_cast<uint64_t>(delta >> 63));  // zigzag
  put_varint(buf_, key.size());
  buf_.append(key);
  put_varint(buf_, value.size());
  buf_.append(value);
  ++count_;
}

std::string_view BatchBuilder::finish(int64_t base_offset, bool compress) {
  std::string* out = &buf_;
  uint32_t attributes = 0;
  if (compress) {
    // zstd level 1: several hundred MB/s per core, and JSON readings shrink several-fold, so the disk
    // stops being the limit.
    if (!zstd_) zstd_ = std::make_unique<ZstdCtx>();
    const size_t plain = buf_.size() - kBatchHeader;
    packed_.resize(kBatchHeader + ZSTD_compressBound(plain));
    size_t n = ZSTD_compressCCtx(zstd_->cctx, packed_.data() + kBatchHeader, packed_.size() - kBatchHeader,
                                 buf_.data() + kBatchHeader, plain, 1);
    if (!ZSTD_isError(n) && n < plain) {
      packed_.resize(kBatchHeader + n);
      out = &packed_;
      attributes = kAttrZstd;
    }
  }
  char* p = out->data();
  put32(p, kBatchMagic);
  put32(p + 4, static_cast<uint32_t>(out->size() - kBatchPrefix));
  put64(p + 12, base_offset);
  put32(p + 20, count_);
  put32(p + 24, attributes);
  put64(p + 28, first_ts_);
  put64(p + 36, max_ts_);
  put32(p + 8, crc32c(p + kBatchPrefix, out->size() - kBatchPrefix));
  return *out;
}

// --- LogWriter -----------------------------------------------------------------------------------

struct LogWriter::Partition {
  int32_t id = 0;
  fs::path dir;
  int log_fd = -1, index_fd = -1;
  fs::path log_path;
  int64_t segment_base = 0;
  uint64_t size = 0, index_size = 0, since_index = 0;
  int64_t next_offset = 0;
  // State at mark(), for rollback().
  int64_t mark_base = 0, mark_next = 0;
  uint64_t mark_size = 0, mark_index_size = 0, mark_since_index = 0;

  void close_files() {
    if (log_fd >= 0) ::close(log_fd);
    if (index_fd >= 0) ::close(index_fd);
    log_fd = index_fd = -1;
  }
  ~Partition() { close_files(); }

  Status open_segment(int64_t base, bool create, FsyncPolicy fsync) {
    close_files();
    segment_base = base;
    log_path = dir / segment_name(base, ".log");
    fs::path index_path = dir / segment_name(base, ".index");
    int flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0);
    log_fd = ::open(log_path.c_str(), flags, 0644);
    if (log_fd < 0) return io_error("cannot open {}: {}", log_path.string(), errno_text(errno));
    index_fd = ::open(index_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (index_fd < 0) return io_error("cannot open {}: {}", index_path.string(), errno_text(errno));
    if (create && fsync != FsyncPolicy::kNever) HRFLOW_TRY(fsync_dir(dir));
    return {};
  }
};

LogWriter::LogWriter(LogOptions options) : options_(std::move(options)) {}

LogWriter::~LogWriter() {
  for (auto& p : parts_) {
    if (options_.fsync != FsyncPolicy::kNever && p->log_fd >= 0) {
      ::fdatasync(p->log_fd);
      ::fdatasync(p->index_fd);
    }
  }
  parts_.clear();
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

Result<std::unique_ptr<LogWriter>> LogWriter::open(const LogOptions& options) {
  HRFLOW_TRY(ensure_layout(options));
  std::unique_ptr<LogWriter> w(new LogWriter(options));
  const fs::path lock = options.dir / "writer.lock";
  w->lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (w->lock_fd_ < 0) return io_error("cannot open {}: {}", lock.string(), errno_text(errno));
  if (::flock(w->lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    std::ifstream in(lock);
    std::string pid;
    in >> pid;
    return make_error(ErrorKind::kUnavailable,
                      "another process (pid {}) is writing the stream log {}; the embedded log has one writer "
                      "at a time: stop that process first (or use Kafka for several producers)",
                      pid.empty() ? "?" : pid, options.dir.string());
  }
  std::string pid = fmt::format("{}\n", ::getpid());
  if (::ftruncate(w->lock_fd_, 0) == 0) (void)write_all(w->lock_fd_, pid.data(), pid.size(), 0, lock);
  for (int32_t p = 0; p < options.partitions; ++p) {
    auto part = std::make_unique<Partition>();
    part->id = p;
    part->dir = partition_dir(options.dir, p);
    w->parts_.push_back(std::move(part));
    HRFLOW_TRY(w->recover(p));
  }
  HRFLOW_TRY(w->enforce_retention());
  return w;
}

// Scan the last segment batch by batch, verifying each CRC; cut at the first batch that is torn,
// corrupt or out of sequence, and rewrite the index from what was scanned.
Status LogWriter::recover(int32_t partition) {
  Partition& p = *parts_[partition];
  auto segments = list_segments(p.dir);
  if (segments.empty()) return p.open_segment(0, true, options_.fsync);
  HRFLOW_TRY(p.open_segment(segments.back().first, false, options_.fsync));
  struct stat st {};
  if (::fstat(p.log_fd, &st) != 0) return io_error("cannot stat {}: {}", p.log_path.string(), errno_text(errno));
  const auto file_size = static_cast<uint64_t>(st.st_size);
  uint64_t pos = 0, since_index = kIndexInterval;
  int64_t expected = p.segment_base;
  std::string index, buf;
  std::string why;
  while (pos < file_size) {
    if (file_size - pos < kBatchHeader) {
      why = "an incomplete batch header";
      break;
    }
    char head[kBatchHeader];
    HRFLOW_ASSIGN_OR_RETURN(size_t got, read_at(p.log_fd, head, kBatchHeader, pos, p.log_path.string()));
    if (got < kBatchHeader || !header_sane(head)) {
      why = "a damaged batch header";
      break;
    }
    Header h = parse_header(head);
    if (pos + h.total() > file_size) {
      why = "an incomplete batch";
      break;
    }
    buf.resize(h.total());
    HRFLOW_ASSIGN_OR_RETURN(got, read_at(p.log_fd, buf.data(), h.total(), pos, p.log_path.string()));
    if (got < h.total() || crc32c(buf.data() + kBatchPrefix, h.length) != h.crc) {
      why = "a batch failing its checksum";
      break;
    }
    if (h.base != expected) {
      why = fmt::format("a batch at offset {} where {} was expected", h.base, expected);
      break;
    }
    if (since_index >= kIndexInterval) {
      char e[kIndexEntry];
      put64(e, h.base);
      put64(e + 8, static_cast<int64_t>(pos));
      index.append(e, kIndexEntry);
      since_index = 0;
    }
    since_index += h.total();
    pos += h.total();
    expected = h.base + h.count;
  }
  if (pos < file_size) {
    spdlog::warn("stream log partition {}: cut {} bytes at offset {} ({} at byte {} of {}), left by an "
                 "interrupted write; nothing before it is affected",
                 partition, file_size - pos, expected, why, pos, p.log_path.string());
    if (::ftruncate(p.log_fd, static_cast<off_t>(pos)) != 0) {
      return io_error("cannot cut the torn tail of {}: {}", p.log_path.string(), errno_text(errno));
    }
    if (::fdatasync(p.log_fd) != 0) return io_error("cannot fsync {}: {}", p.log_path.string(), errno_text(errno));
  }
  if (::ftruncate(p.index_fd, 0) != 0) return io_error("cannot rewrite the index of {}", p.log_path.string());
  HRFLOW_TRY(write_all(p.index_fd, index.data(), index.size(), 0, p.log_path));
  if (options_.fsync != FsyncPolicy::kNever) ::fdatasync(p.index_fd);
  p.size = pos;
  p.index_size = index.size();
  p.since_index = since_index;
  p.next_offset = expected;
  return {};
}

int64_t LogWriter::next_offset(int32_t partition) const { return parts_[partition]->next_offset; }

Status LogWriter::roll(Partition& p) {
  if (options_.fsync != FsyncPolicy::kNever) {
    if (::fdatasync(p.log_fd) != 0 || ::fdatasync(p.index_fd) != 0) {
      return io_error("cannot fsync {}: {}", p.log_path.string(), errno_text(errno));
    }
  }
  HRFLOW_TRY(p.open_segment(p.next_offset, true, options_.fsync));
  p.size = p.index_size = 0;
  p.since_index = kIndexInterval;
  return enforce_retention();
}

Status LogWriter::append(int32_t partition, BatchBuilder& batch) {
  if (batch.empty()) return {};
  Partition& p = *parts_[partition];
  if (p.size > 0 && p.size + batch.bytes() > static_cast<uint64_t>(options_.segment_bytes)) HRFLOW_TRY(roll(p));
  const uint32_t count = batch.count();
  std::string_view bytes = batch.finish(p.next_offset, options_.compress);
  Status st = write_all(p.log_fd, bytes.data(), bytes.size(), p.size, p.log_path);
  if (!st.ok()) {
    // Leave no partial batch behind: readers would wait on it and the next open would cut it anyway.
    if (::ftruncate(p.log_fd, static_cast<off_t>(p.size)) != 0) {
      spdlog::warn("cannot cut {} back after a failed write; the next open cuts it", p.log_path.string());
    }
    return st.error().with_context(fmt::format("stream log partition {} offset {}", partition, p.next_offset));
  }
  if (options_.fsync != FsyncPolicy::kNever) {
    // Start writing the batch out now, so the fsync that follows waits for less.
    ::sync_file_range(p.log_fd, static_cast<off_t>(p.size), static_cast<off_t>(bytes.size()), SYNC_FILE_RANGE_WRITE);
  }
  if (p.since_index >= kIndexInterval) {
    char e[kIndexEntry];
    put64(e, p.next_offset);
    put64(e + 8, static_cast<int64_t>(p.size));
    // The index is rebuilt on open, so a failure here costs only seek speed, not data.
    if (write_all(p.index_fd, e, kIndexEntry, p.index_size, p.log_path).ok()) p.index_size += kIndexEntry;
    p.since_index = 0;
  }
  p.since_index += bytes.size();
  p.size += bytes.size();
  p.next_offset += count;
  batch.clear();
  return {};
}

Status LogWriter::sync(int32_t partition) {
  if (options_.fsync == FsyncPolicy::kNever) return {};
  Partition& p = *parts_[partition];
  if (::fdatasync(p.log_fd) != 0) {
    return io_error("cannot fsync the stream log file {}: {}", p.log_path.string(), errno_text(errno));
  }
  return {};
}

void LogWriter::mark() {
  for (auto& p : parts_) {
    p->mark_base = p->segment_base;
    p->mark_next = p->next_offset;
    p->mark_size = p->size;
    p->mark_index_size = p->index_size;
    p->mark_since_index = p->since_index;
  }
}

void LogWriter::rollback() {
  for (auto& p : parts_) {
    if (p->next_offset == p->mark_next) continue;
    // A roll since mark() started a segment at mark_next: empty it instead.
    bool same = p->segment_base == p->mark_base;
    p->size = same ? p->mark_size : 0;
    p->index_size = same ? p->mark_index_size : 0;
    p->since_index = same ? p->mark_since_index : kIndexInterval;
    p->next_offset = p->mark_next;
    if (::ftruncate(p->log_fd, static_cast<off_t>(p->size)) != 0 ||
        ::ftruncate(p->index_fd, static_cast<off_t>(p->index_size)) != 0) {
      spdlog::warn("cannot cut {} back after a failed write; the next open cuts it", p->log_path.string());
    }
  }
}

Status LogWriter::enforce_retention() {
  const auto now = fs::file_time_type::clock::now();
  for (auto& p : parts_) {
    auto segments = list_segments(p->dir);
    if (segments.size() <= 1) continue;
    std::vector<uint64_t> sizes;
    uint64_t total = 0;
    for (auto& [base, path] : segments) {
      std::error_code ec;
      sizes.push_back(fs::file_size(path, ec));
      total += sizes.back();
    }
    size_t first_kept = 0;
    for (size_t i = 0; i + 1 < segments.size(); ++i) {
      std::error_code ec;
      auto mtime = fs::last_write_time(segments[i].second, ec);
      if (ec) break;
      auto age_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - mtime).count();
      bool too_old = options_.retention_ms > 0 && age_ms > options_.retention_ms;
      bool too_big = options_.retention_bytes > 0 && total > static_cast<uint64_t>(options_.retention_bytes);
      if (!too_old && !too_big) break;
      total -= sizes[i];
      first_kept = i + 1;
    }
    for (size_t i = 0; i < first_kept; ++i) {
      fs::path log = segments[i].second;
      fs::path index = log;
      index.replace_extension(".index");
      // Index first: a leftover index without its log is ignored, a log without index still reads.
      std::error_code ec;
      fs::remove(index, ec);
      if (!fs::remove(log, ec) && ec) return io_error("cannot delete {}: {}", log.string(), ec.message());
      spdlog::debug("stream log partition {}: retention deleted segment {}", p->id, log.filename().string());
    }
  }
  return {};
}

// --- PartitionReader -----------------------------------------------------------------------------

PartitionReader::PartitionReader(fs::path topic_dir, int32_t partition)
    : dir_(partition_dir(topic_dir, partition)), partition_(partition) {}

PartitionReader::~PartitionReader() {
  close_segment();
  ZSTD_freeDCtx(static_cast<ZSTD_DCtx*>(dctx_));
}

void PartitionReader::close_segment() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  segment_base_ = -1;
  buf_.clear();
  buf_off_ = 0;
  file_pos_ = 0;
}

Status PartitionReader::seek(int64_t position) {
  close_segment();
  auto segments = list_segments(dir_);
  if (segments.empty()) return {};
  size_t i = 0;
  while (i + 1 < segments.size() && segments[i + 1].first <= position) ++i;
  segment_base_ = segments[i].first;
  segment_path_ = segments[i].second.string();
  fd_ = ::open(segment_path_.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd_ < 0) {
    int e = errno;
    close_segment();
    if (e == ENOENT) return {};  // deleted by retention meanwhile: the next read seeks again
    return io_error("cannot open {}: {}", segment_path_, errno_text(e));
  }
  // Start from the index entry at or before `position`, if it checks out against the log.
  fs::path index_path = segments[i].second;
  index_path.replace_extension(".index");
  std::ifstream in(index_path, std::ios::binary);
  std::string index((std::istreambuf_iterator<char>(in)), {});
  size_t n = index.size() / kIndexEntry;
  size_t lo = 0, hi = n;  // first entry with offset > position
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (get64(index.data() + mid * kIndexEntry) <= position) lo = mid + 1; else hi = mid;
  }
  if (lo > 0) {
    int64_t off = get64(index.data() + (lo - 1) * kIndexEntry);
    int64_t pos = get64(index.data() + (lo - 1) * kIndexEntry + 8);
    char head[kBatchHeader];
    auto got = read_at(fd_, head, kBatchHeader, static_cast<uint64_t>(pos), segment_path_);
    if (got.ok() && *got == kBatchHeader && header_sane(head) && parse_header(head).base == off) {
      file_pos_ = static_cast<uint64_t>(pos);
    }
  }
  return {};
}

// Make at least `need` bytes available from buf_off_; fewer only at the end of the file.
Status PartitionReader::fill(size_t need) {
  if (buf_.size() - buf_off_ >= need) return {};
  buf_.erase(0, buf_off_);
  file_pos_ += buf_off_;
  buf_off_ = 0;
  size_t have = buf_.size();
  size_t want = std::max(need, kReadChunk);
  buf_.resize(want);
  auto got = read_at(fd_, buf_.data() + have, want - have, file_pos_ + have, segment_path_);
  if (!got.ok()) {
    buf_.resize(have);
    return got.error();
  }
  buf_.resize(have + *got);
  return {};
}

Result<size_t> PartitionReader::read(int64_t& position, size_t max, std::vector<Record>& out) {
  if (fd_ >= 0 && position != last_position_) close_segment();  // the caller moved: seek again
  size_t added = 0;
  bool checked_next = false;
  int64_t next_base = -1;
  while (added < max) {
    if (fd_ < 0) {
      HRFLOW_TRY(seek(position));
      if (fd_ < 0) break;  // no segment yet
      if (position < segment_base_) {
        spdlog::warn("stream log partition {}: offsets {}..{} were deleted by retention; continuing at {}",
                     partition_, position, segment_base_ - 1, segment_base_);
        position = segment_base_;
      }
    }
    HRFLOW_TRY(fill(kBatchHeader));
    const size_t avail = buf_.size() - buf_off_;
    bool complete = false;
    Header h;
    if (avail >= kBatchHeader) {
      const char* p = buf_.data() + buf_off_;
      if (!header_sane(p)) {
        return corrupt("stream log partition {}: damaged batch header at byte {} of {} (near offset {}); "
                       "nothing after it in this segment is served",
                       partition_, file_pos_ + buf_off_, segment_path_, position);
      }
      h = parse_header(p);
      HRFLOW_TRY(fill(h.total()));
      complete = buf_.size() - buf_off_ >= h.total();
    }
    if (!complete) {
      // End of what is written in this segment. Forget the partial bytes: a writer restarting after a
      // crash cuts them and writes other bytes there. A later segment means this one was rolled; read
      // this one once more after seeing it, since the writer may have completed it just before rolling.
      buf_.resize(buf_off_);
      if (!checked_next) {
        checked_next = true;
        auto segments = list_segments(dir_);
        auto next = std::find_if(segments.begin(), segments.end(),
                                 [&](const auto& s) { return s.first > segment_base_; });
        if (next == segments.end()) break;
        next_base = next->first;
        continue;
      }
      if (next_base < 0) break;
      if (avail > 0) {
        return corrupt("stream log partition {}: segment {} ends with an incomplete batch at byte {} (offset {})",
                       partition_, segment_path_, file_pos_ + buf_off_, position);
      }
      HRFLOW_TRY(seek(next_base));
      checked_next = false;
      next_base = -1;
      continue;
    }
    const char* b = buf_.data() + buf_off_;
    if (h.base + static_cast<int64_t>(h.count) <= position) {  // entirely before the position: skip
      buf_off_ += h.total();
      continue;
    }
    if (crc32c(b + kBatchPrefix, h.length) != h.crc) {
      return corrupt("stream log partition {}: batch at offset {} (byte {} of {}) fails its checksum; it is not "
                     "served. Restore the segment from a copy, or move it away to skip the damaged records",
                     partition_, h.base, file_pos_ + buf_off_, segment_path_);
    }
    const char* p = b + kBatchHeader;
    const char* end = b + h.total();
    if (h.attributes == kAttrZstd) {
      const unsigned long long plain = ZSTD_getFrameContentSize(p, end - p);
      if (plain == ZSTD_CONTENTSIZE_ERROR || plain == ZSTD_CONTENTSIZE_UNKNOWN || plain > kMaxBatchBytes * 8) {
        return corrupt("stream log partition {}: batch at offset {} in {} has no valid zstd frame", partition_, h.base,
                       segment_path_);
      }
      if (!dctx_) dctx_ = ZSTD_createDCtx();
      plain_.resize(plain);
      size_t n = ZSTD_decompressDCtx(static_cast<ZSTD_DCtx*>(dctx_), plain_.data(), plain_.size(), p, end - p);
      if (ZSTD_isError(n) || n != plain) {
        return corrupt("stream log partition {}: batch at offset {} in {} does not decompress: {}", partition_, h.base,
                       segment_path_, ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short");
      }
      p = plain_.data();
      end = p + plain_.size();
    } else if (h.attributes != 0) {
      return corrupt("stream log partition {}: batch at offset {} uses unknown attributes {:#x}", partition_,
                     h.base, h.attributes);
    }
    bool whole = true;
    for (uint32_t i = 0; i < h.count; ++i) {
      uint64_t zz, klen, vlen;
      if (!get_varint(p, end, zz) || !get_varint(p, end, klen) || klen > size_t(end - p)) goto bad;
      {
        const char* key = p;
        p += klen;
        if (!get_varint(p, end, vlen) || vlen > size_t(end - p)) goto bad;
        const char* value = p;
        p += vlen;
        int64_t offset = h.base + i;
        if (offset < position) continue;
        if (added == max) {
          whole = false;
          break;
        }
        int64_t delta = static_cast<int64_t>(zz >> 1) ^ -static_cast<int64_t>(zz & 1);
        out.push_back(Record{partition_, offset, h.first_ts + delta, std::string(key, klen), std::string(value, vlen)});
        ++added;
        position = offset + 1;
      }
    }
    if (whole) buf_off_ += h.total();
    continue;
  bad:
    return corrupt("stream log partition {}: batch at offset {} in {} has a malformed record", partition_, h.base,
                   segment_path_);
  }
  last_position_ = position;
  return added;
}

Result<int64_t> PartitionReader::start_offset() {
  auto segments = list_segments(dir_);
  return segments.empty() ? int64_t{0} : segments.front().first;
}

Result<int64_t> PartitionReader::end_offset() {
  auto segments = list_segments(dir_);
  if (segments.empty()) return int64_t{0};
  const auto& [base, path] = segments.back();
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open {}: {}", path.string(), errno_text(errno));
  fs::path index_path = path;
  index_path.replace_extension(".index");
  std::ifstream in(index_path, std::ios::binary);
  std::string index((std::istreambuf_iterator<char>(in)), {});
  uint64_t pos = 0;
  int64_t end = base;
  for (size_t n = index.size() / kIndexEntry; n > 0; --n) {  // last entry that checks out
    int64_t off = get64(index.data() + (n - 1) * kIndexEntry);
    int64_t at = get64(index.data() + (n - 1) * kIndexEntry + 8);
    char head[kBatchHeader];
    auto got = read_at(fd, head, kBatchHeader, static_cast<uint64_t>(at), path.string());
    if (got.ok() && *got == kBatchHeader && header_sane(head) && parse_header(head).base == off) {
      pos = static_cast<uint64_t>(at);
      break;
    }
  }
  struct stat st {};
  ::fstat(fd, &st);
  for (;;) {
    char head[kBatchHeader];
    auto got = read_at(fd, head, kBatchHeader, pos, path.string());
    if (!got.ok() || *got < kBatchHeader || !header_sane(head)) break;
    Header h = parse_header(head);
    if (pos + h.total() > static_cast<uint64_t>(st.st_size)) break;
    end = h.base + h.count;
    pos += h.total();
  }
  ::close(fd);
  return end;
}

// --- GroupPositions ------------------------------------------------------------------------------

namespace {
Result<fs::path> positions_path(const fs::path& topic_dir, const std::string& group) {
  if (group.empty() || !std::all_of(group.begin(), group.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
      }) || group[0] == '.') {
    return invalid_argument("consumer group '{}' must be letters, digits, '-', '_' or '.'", group);
  }
  return topic_dir / "groups" / (group + ".positions");
}
}  // namespace

Result<Positions> GroupPositions::load(const fs::path& topic_dir, const std::string& group) {
  HRFLOW_ASSIGN_OR_RETURN(fs::path path, positions_path(topic_dir, group));
  Positions out;
  std::ifstream in(path);
  if (!in) return out;  // never committed
  std::string text((std::istreambuf_iterator<char>(in)), {});
  auto crc_at = text.rfind("crc32c ");
  if (!text.starts_with("hrflow-positions 1\n") || crc_at == std::string::npos) {
    return corrupt("{} is not a positions file (expected 'hrflow-positions 1' ... 'crc32c X')", path.string());
  }
  uint32_t expect = static_cast<uint32_t>(std::stoul(text.substr(crc_at + 7), nullptr, 16));
  if (crc32c(text.data(), crc_at) != expect) {
    return corrupt("{} fails its checksum; delete it to restart group '{}' from the oldest record", path.string(),
                   group);
  }
  std::istringstream lines(text.substr(0, crc_at));
  std::string header;
  std::getline(lines, header);
  int32_t p;
  int64_t off;
  while (lines >> p >> off) out[p] = off;
  return out;
}

Status GroupPositions::store(const fs::path& topic_dir, const std::string& group, const Positions& positions) {
  HRFLOW_ASSIGN_OR_RETURN(fs::path path, positions_path(topic_dir, group));
  std::string text = "hrflow-positions 1\n";
  for (auto [p, off] : positions) text += fmt::format("{} {}\n", p, off);
  text += fmt::format("crc32c {:08x}\n", crc32c(text.data(), text.size()));
  return write_file_atomic(path, text);
}

}  // namespace hrflow::stream
