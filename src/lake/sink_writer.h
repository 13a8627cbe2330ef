// The sink's storing thread (internal to LakeSink, see sink.cpp and README.md): cuts (a partition's
// marker and the files one flush closed) are queued and stored in rounds, markers first; positions
// become committable only when their round is stored. Compression happens here, off the parse path.
// Thread-safety: push/reserve/check/settle/drop from the sink's thread; the writer runs its own.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/compression.h"
#include "common/status.h"
#include "lake/storage.h"

namespace hrflow::lake {

// A cut handed to the writer: the partition's marker (every cut position not yet committed, this one
// included) and the files it closed.
struct Cut {
  int32_t partition = 0;
  int64_t at = 0;
  std::string marker_key;
  std::string marker;
  std::vector<std::pair<std::string, std::string>> files;  // key, uncompressed lines
  size_t bytes = 0;
};

// The storing thread. Cuts are stored in the order they were closed, in rounds: everything queued is
// taken at once, the newest marker of each partition in it is stored first, then all its files, so a
// round costs one wait for the store however many files it holds. A failed round stays queued and is
// retried once its error was reported to the sink's caller.
class SinkWriter {
 public:
  SinkWriter(ObjectStore& store, Compression compression, size_t max_queued_bytes)
      : store_(store), compression_(compression), max_queued_(max_queued_bytes), thread_([this] { loop(); }) {}

  ~SinkWriter() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;  // what is still queued is dropped, as in a crash: it was never committed
    }
    cv_.notify_all();
    thread_.join();
  }

  // Wait for room for `bytes` more; fails, having changed nothing, when a store failed.
  Status reserve(size_t bytes) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return error_ || queued_bytes_ == 0 || queued_bytes_ + bytes <= max_queued_; });
    return take_error();
  }
  void push(Cut cut) {
    {
      std::lock_guard lock(mu_);
      queued_bytes_ += cut.bytes;
      queue_.push_back(std::move(cut));
    }
    cv_.notify_all();
  }
  Status check() {
    std::lock_guard lock(mu_);
    return take_error();
  }
  Status settle() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return error_ || (queue_.empty() && !busy_); });
    return take_error();
  }
  // Forget a partition taken away: its queued cuts are not stored (the round in progress finishes).
  void drop(int32_t partition) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !busy_; });
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (it->partition == partition) {
        queued_bytes_ -= it->bytes;
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
    stored_.erase(partition);
    if (queue_.empty()) error_.reset();
    cv_.notify_all();
  }
  // Partition -> position below which every file is stored.
  std::map<int32_t, int64_t> stored() const {
    std::lock_guard lock(mu_);
    return stored_;
  }
  void counts(uint64_t& files, uint64_t& bytes) const {
    std::lock_guard lock(mu_);
    files = files_;
    bytes = bytes_;
  }
  // An empty buffer for a new file, reusing the memory of a stored one: growing fresh buffers costs
  // a page fault per page and a copy per doubling.
  std::string buffer() {
    std::lock_guard lock(mu_);
    if (spare_.empty()) return {};
    std::string b = std::move(spare_.back());
    spare_.pop_back();
    return b;
  }

 private:
  // Report a failure once; the failed round is retried after that.
  Status take_error() {
    if (!error_) return {};
    Error e = std::move(*error_);
    error_.reset();
    cv_.notify_all();
    return e;
  }

  void loop() {
    for (;;) {
      std::deque<Cut> round;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return stop_ || (!queue_.empty() && !error_); });
        if (stop_) return;
        round.swap(queue_);
        busy_ = true;
      }
      uint64_t files = 0, bytes = 0;
      Status st = store(round, files, bytes);
      {
        std::lock_guard lock(mu_);
        busy_ = false;
        if (st.ok()) {
          for (auto& c : round) {
            auto [it, fresh] = stored_.try_emplace(c.partition, c.at);
            if (!fresh) it->second = std::max(it->second, c.at);
            queued_bytes_ -= c.bytes;
            for (auto& f : c.files) {
              if (spare_.size() >= kMaxSpare) break;
              f.second.clear();
              spare_.push_back(std::move(f.second));
            }
          }
          files_ += files;
          bytes_ += bytes;
        } else {
          error_ = st.error();
          while (!round.empty()) {  // back in front of what was queued meanwhile, in order
            queue_.push_front(std::move(round.back()));
            round.pop_back();
          }
        }
      }
      cv_.notify_all();
    }
  }

  Status store(const std::deque<Cut>& round, uint64_t& files, uint64_t& bytes) {
    // A partition's newest marker lists the positions of all its cuts in the round (none of them can
    // be committed yet), so storing it covers them all.
    std::map<int32_t, const Cut*> newest;
    for (const auto& c : round) newest[c.partition] = &c;
    std::vector<PutRequest> puts;
    for (const auto& [p, c] : newest) puts.push_back({c->marker_key, c->marker});
    HRFLOW_TRY(store_.put_all(puts));
    puts.clear();
    std::vector<std::string> packed;
    if (compression_ != Compression::kNone) {
      for (const auto& c : round) {
        for (const auto& [key, data] : c.files) {
          HRFLOW_ASSIGN_OR_RETURN(auto z, compress(data, compression_));
          packed.push_back(std::move(z));
        }
      }
    }
    size_t i = 0;
    for (const auto& c : round) {
      for (const auto& [key, data] : c.files) {
        std::string_view body = compression_ == Compression::kNone ? std::string_view(data) : packed[i++];
        puts.push_back({key, body});
        bytes += body.size();
        ++files;
      }
    }
    return store_.put_all(puts);
  }

  ObjectStore& store_;
  const Compression compression_;
  const size_t max_queued_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Cut> queue_;
  size_t queued_bytes_ = 0;
  bool busy_ = false;
  bool stop_ = false;
  std::optional<Error> error_;
  std::map<int32_t, int64_t> stored_;
  uint64_t files_ = 0, bytes_ = 0;
  static constexpr size_t kMaxSpare = 16;
  std::vector<std::string> spare_;
  std::thread thread_;  // last: starts after everything above is initialised
};

}  // namespace hrflow::lake
