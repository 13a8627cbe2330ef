// The embedded log behind the StreamProducer / StreamConsumer interfaces.
#include "stream/local.h"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>

#include "stream/log.h"

namespace hrflow::stream {
namespace {

// Records are gathered per partition until this many bytes are buffered in all, then written as one
// batch per partition and fsynced once per partition: few syscalls, large sequential writes.
constexpr size_t kCycleBytes = size_t{8} << 20;
constexpr size_t kMaxRecordBytes = size_t{16} << 20;

// Producer: the caller's thread encodes records into batches; an I/O thread writes and fsyncs the
// previous cycle meanwhile (double buffering), so the disk and the CPU work at the same time.
class LocalProducer final : public StreamProducer {
 public:
  LocalProducer(std::unique_ptr<LogWriter> writer, std::filesystem::path dir)
      : writer_(std::move(writer)), dir_(std::move(dir)) {
    const auto n = static_cast<size_t>(writer_->partitions());
    filling_.resize(n);
    pending_.resize(n);
    io_ = std::thread([this] { io_loop(); });
  }

  ~LocalProducer() override {
    if (Status st = flush(); !st.ok()) spdlog::error("closing the stream log: {}", st.error().message);
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    io_.join();
  }

  Status send(std::string_view key, std::string_view value, int64_t timestamp_ms) override {
    if (failed_.load(std::memory_order_relaxed)) return first_error();
    if (key.size() + value.size() > kMaxRecordBytes) {
      return invalid_argument("record with key '{}' is {} bytes; the stream log takes records up to {} bytes",
                              key.substr(0, 64), key.size() + value.size(), kMaxRecordBytes);
    }
    auto p = partition_for_key(key, writer_->partitions());
    auto& b = filling_[p];
    size_t before = b.bytes();
    b.add(key, value, timestamp_ms);
    filling_bytes_ += b.bytes() - before;
    ++filling_count_;
    if (writer_->fsync_policy() == FsyncPolicy::kAlways) return flush();
    if (filling_bytes_ >= kCycleBytes) submit();
    return {};
  }

  Status flush() override {
    if (filling_count_ > 0) submit();
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !has_pending_ && !busy_; });
    if (error_) return *error_;
    return {};
  }

  uint64_t acknowledged() const override { return acked_.load(); }

  // After flush() the files hold exactly the acknowledged records (a torn tail was cut when the writer
  // opened), so the record at end_offset - 1 is the newest acknowledged one.
  Result<StreamEnd> last_records() override {
    HRFLOW_TRY(flush());
    StreamEnd end;
    end.partitions = writer_->partitions();
    for (int32_t p = 0; p < end.partitions; ++p) {
      PartitionReader reader(dir_, p);
      HRFLOW_ASSIGN_OR_RETURN(int64_t start, reader.start_offset());
      HRFLOW_ASSIGN_OR_RETURN(int64_t stop, reader.end_offset());
      if (stop <= start) continue;  // empty, or emptied by retention
      int64_t position = stop - 1;
      std::vector<Record> out;
      HRFLOW_TRY(reader.read(position, 1, out));
      if (out.empty() || out.back().offset != stop - 1) {
        return corrupt("stream log partition {}: the record at offset {} (the newest) cannot be read back", p, stop - 1);
      }
      end.last[p] = std::move(out.back());
    }
    return end;
  }

 private:
  Status first_error() {
    std::lock_guard lock(mu_);
    return *error_;
  }

  // Hand the filled batches to the I/O thread (waiting while it still has a queued cycle).
  void submit() {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return !has_pending_; });
      std::swap(filling_, pending_);
      pending_count_ = filling_count_;
      has_pending_ = true;
    }
    cv_.notify_all();
    filling_bytes_ = 0;
    filling_count_ = 0;
  }

  void io_loop() {
    std::vector<BatchBuilder> writing(filling_.size());
    for (;;) {
      uint64_t count = 0;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return has_pending_ || stop_; });
        if (!has_pending_) return;
        std::swap(writing, pending_);
        count = pending_count_;
        has_pending_ = false;
        busy_ = true;
      }
      cv_.notify_all();
      Status st = error_ ? Status(*error_) : write_cycle(writing);
      for (auto& b : writing) b.clear();
      {
        std::lock_guard lock(mu_);
        busy_ = false;
        if (st.ok()) {
          acked_ += count;
        } else if (!error_) {
          error_ = st.error();
          failed_ = true;
        }
      }
      cv_.notify_all();
    }
  }

  // One append batch per partition, then one fsync per partition written. On any failure the log is
  // cut back to the previous cycle, so it holds exactly the acknowledged records.
  Status write_cycle(std::vector<BatchBuilder>& batches) {
    writer_->mark();
    Status st;
    std::vector<bool> written(batches.size(), false);
    for (size_t p = 0; p < batches.size() && st.ok(); ++p) {
      written[p] = !batches[p].empty();
      st = writer_->append(static_cast<int32_t>(p), batches[p]);
    }
    if (st.ok()) st = sync_all(written);
    if (!st.ok()) writer_->rollback();
    return st;
  }

  // fdatasync the written partitions at the same time: the file system commits them together (one
  // journal commit instead of one per file), which is what bounds the write rate with small batches.
  Status sync_all(const std::vector<bool>& written) {
    std::vector<Status> results(written.size());
    std::vector<std::thread> threads;
    for (size_t p = 0; p < written.size(); ++p) {
      if (written[p]) threads.emplace_back([&, p] { results[p] = writer_->sync(static_cast<int32_t>(p)); });
    }
    for (auto& t : threads) t.join();
    for (auto& r : results) HRFLOW_TRY(r);
    return {};
  }

  std::unique_ptr<LogWriter> writer_;
  std::filesystem::path dir_;  // the topic directory, for last_records()
  std::vector<BatchBuilder> filling_;  // the caller's thread
  size_t filling_bytes_ = 0;
  uint64_t filling_count_ = 0;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<BatchBuilder> pending_;  // a full cycle waiting for the I/O thread
  uint64_t pending_count_ = 0;
  bool has_pending_ = false, busy_ = false, stop_ = false;
  std::optional<Error> error_;
  std::atomic<bool> failed_{false};
  std::atomic<uint64_t> acked_{0};
  std::thread io_;
};

// Consumer: one per group (an flock on the group), all partitions assigned.
class LocalConsumer final : public StreamConsumer {
 public:
  LocalConsumer(LogOptions options, std::string group, int lock_fd, Positions committed)
      : options_(std::move(options)), group_(std::move(group)), lock_fd_(lock_fd), committed_(std::move(committed)) {}
  ~LocalConsumer() override {
    if (lock_fd_ >= 0) ::close(lock_fd_);
  }

  Status init() {
    for (int32_t p = 0; p < options_.partitions; ++p) {
      readers_.push_back(std::make_unique<PartitionReader>(options_.dir, p));
      auto it = committed_.find(p);
      if (it != committed_.end()) {
        positions_[p] = it->second;
      } else {
        HRFLOW_ASSIGN_OR_RETURN(positions_[p], readers_[p]->start_offset());
      }
    }
    return {};
  }

  Result<std::vector<Record>> poll(size_t max_records, int timeout_ms) override {
    std::vector<Record> out;
    out.reserve(std::min<size_t>(max_records, 65536));  // no regrowth (and copying) while filling
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    const auto n = static_cast<size_t>(options_.partitions);
    for (;;) {
      for (size_t i = 0; i < n && out.size() < max_records; ++i) {
        auto p = static_cast<int32_t>((next_ + i) % n);
        HRFLOW_TRY(readers_[p]->read(positions_[p], max_records - out.size(), out));
      }
      next_ = (next_ + 1) % n;  // start with another partition next time, so none starves
      if (!out.empty()) {
        idle_wait_ms_ = kMinWaitMs;
        return out;
      }
      const auto now = std::chrono::steady_clock::now();
      if (now >= deadline) return out;
      // Waiting for the writer: soon after data, then less often while the log stays quiet, so an idle
      // consumer (the sink inside a serve with nothing arriving) costs next to nothing.
      std::this_thread::sleep_for(std::min(std::chrono::milliseconds(idle_wait_ms_),
                                           std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now)));
      idle_wait_ms_ = std::min(idle_wait_ms_ * 2, kMaxWaitMs);
    }
  }

  Status commit(const Positions& positions) override {
    Positions merged = committed_;
    for (auto [p, off] : positions) {
      if (p < 0 || p >= options_.partitions) {
        return invalid_argument("cannot commit partition {}: the stream log has partitions 0..{}", p,
                                options_.partitions - 1);
      }
      merged[p] = off;
    }
    HRFLOW_TRY(GroupPositions::store(options_.dir, group_, merged));
    committed_ = std::move(merged);
    return {};
  }

  std::vector<int32_t> assignment() const override {
    std::vector<int32_t> all;
    for (int32_t p = 0; p < options_.partitions; ++p) all.push_back(p);
    return all;
  }

  Result<std::map<int32_t, int64_t>> lag() override {
    std::map<int32_t, int64_t> out;
    for (int32_t p = 0; p < options_.partitions; ++p) {
      HRFLOW_ASSIGN_OR_RETURN(int64_t end, readers_[p]->end_offset());
      out[p] = std::max<int64_t>(0, end - positions_[p]);
    }
    return out;
  }

 private:
  LogOptions options_;
  std::string group_;
  int lock_fd_;
  Positions committed_;
  Positions positions_;  // next offset to read per partition
  std::vector<std::unique_ptr<PartitionReader>> readers_;
  size_t next_ = 0;
  static constexpr int64_t kMinWaitMs = 2, kMaxWaitMs = 100;
  int64_t idle_wait_ms_ = kMinWaitMs;  // grows while polls find nothing, back to the minimum on data
};

}  // namespace

Result<std::unique_ptr<StreamProducer>> open_local_producer(const LogOptions& options) {
  HRFLOW_ASSIGN_OR_RETURN(auto writer, LogWriter::open(options));
  return std::unique_ptr<StreamProducer>(new LocalProducer(std::move(writer), options.dir));
}

Result<std::unique_ptr<StreamConsumer>> open_local_consumer(const LogOptions& options, const std::string& group) {
  HRFLOW_TRY(ensure_layout(options));
  HRFLOW_ASSIGN_OR_RETURN(Positions committed, GroupPositions::load(options.dir, group));  // validates the name
  auto lock_path = options.dir / "groups" / (group + ".lock");
  int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("cannot open {}: {}", lock_path.string(), std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return make_error(ErrorKind::kUnavailable,
                      "consumer group '{}' is already being read by another process on the stream log {}; "
                      "the embedded log serves one consumer per group: stop the other one first",
                      group, options.dir.string());
  }
  auto consumer = std::make_unique<LocalConsumer>(options, group, fd, std::move(committed));
  HRFLOW_TRY(consumer->init());
  return std::unique_ptr<StreamConsumer>(std::move(consumer));
}

}  // namespace hrflow::stream
