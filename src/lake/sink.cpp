#include "lake/sink.h"

#include "common/json_text.h"

#include <openssl/evp.h>
#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <limits>

namespace hrflow::lake {
namespace {

constexpr int64_t kErrorBucket = std::numeric_limits<int64_t>::min();
constexpr int64_t kMaxTimestamp = 253402300799;  // 9999-12-31T23:59:59Z

std::string base64(std::string_view s) {
  std::string out(4 * ((s.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

// A fast path for the common record: one pass over the value that accepts only a strict subset of
// JSON (one line; strings of printable ASCII without escapes; numbers without exponent and with at
// most 18 integer digits; nesting up to 64) and finds the top-level `timestamp`. Whatever it accepts,
// simdjson accepts too and reads the same timestamp from, so it only decides the easy cases; anything
// else (including every bad record) goes to the full parse, which also words the errors.
class FastScan {
 public:
  // True when `value` is in the subset and its `timestamp` is valid; `ts` is then the epoch second.
  static bool timestamp(std::string_view value, int64_t& ts) {
    FastScan s(value);
    s.skip_ws();
    if (s.p_ == s.end_ || *s.p_ != '{' || !s.object(0)) return false;
    s.skip_ws();
    if (s.p_ != s.end_ || s.ts_begin_ == nullptr) return false;
    return s.interpret(ts);
  }

 private:
  explicit FastScan(std::string_view v) : p_(v.data()), end_(v.data() + v.size()) {}

  void skip_ws() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\t')) ++p_;
  }
  // At '"': the string's content, without the quotes.
  bool string(std::string_view& out) {
    const char* start = ++p_;
    for (; p_ != end_; ++p_) {
      auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        out = std::string_view(start, static_cast<size_t>(p_ - start));
        ++p_;
        return true;
      }
      if (c < 0x20 || c > 0x7e || c == '\\') return false;
    }
    return false;
  }
  bool digits(size_t& n) {
    const char* start = p_;
    while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    n = static_cast<size_t>(p_ - start);
    return n > 0;
  }
  bool number(bool& integral) {
    if (*p_ == '-') ++p_;
    const char* int_start = p_;
    size_t n = 0;
    if (!digits(n) || n > 18 || (n > 1 && *int_start == '0')) return false;
    integral = true;
    if (p_ != end_ && *p_ == '.') {
      ++p_;
      if (!digits(n)) return false;
      integral = false;
    }
    return p_ == end_ || (*p_ != 'e' && *p_ != 'E');
  }
  bool literal(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) return false;
    p_ += word.size();
    return true;
  }
  bool value(int depth) {
    if (p_ == end_) return false;
    switch (*p_) {
      case '{': return object(depth + 1);
      case '[': return array(depth + 1);
      case '"': {
        std::string_view s;
        return string(s);
      }
      case 't': return literal("true");
      case 'f': return literal("false");
      case 'n': return literal("null");
      default: {
        bool integral = false;
        return (*p_ == '-' || (*p_ >= '0' && *p_ <= '9')) && number(integral);
      }
    }
  }
  bool object(int depth) {
    if (depth > 64) return false;
    ++p_;  // '{'
    skip_ws();
    if (p_ != end_ && *p_ == '}') {
      ++p_;
      return true;
    }
    for (;;) {
      std::string_view key;
      if (p_ == end_ || *p_ != '"' || !string(key)) return false;
      skip_ws();
      if (p_ == end_ || *p_ != ':') return false;
      ++p_;
      skip_ws();
      const char* v = p_;
      if (!value(depth)) return false;
      if (depth == 0 && ts_begin_ == nullptr && key == "timestamp") {
        ts_begin_ = v;
        ts_end_ = p_;
      }
      skip_ws();
      if (p_ == end_) return false;
      if (*p_ == '}') {
        ++p_;
        return true;
      }
      if (*p_ != ',') return false;
      ++p_;
      skip_ws();
    }
  }
  bool array(int depth) {
    if (depth > 64) return false;
    ++p_;  // '['
    skip_ws();
    if (p_ != end_ && *p_ == ']') {
      ++p_;
      return true;
    }
    for (;;) {
      if (!value(depth)) return false;
      skip_ws();
      if (p_ == end_) return false;
      if (*p_ == ']') {
        ++p_;
        return true;
      }
      if (*p_ != ',') return false;
      ++p_;
      skip_ws();
    }
  }
  // The timestamp token: an integer or decimal number, or a string of digits with an optional
  // fraction (the all-strings form). Anything else, or out of range, is left to the full parse.
  bool interpret(int64_t& ts) const {
    const char* b = ts_begin_;
    const char* e = ts_end_;
    if (*b == '"') {
      ++b;
      --e;
    }
    if (b == e || *b < '0' || *b > '9') return false;  // also rejects negative numbers
    const char* dot = std::find(b, e, '.');
    if (dot == e) {
      int64_t v = 0;
      auto r = std::from_chars(b, e, v);
      if (r.ec != std::errc() || r.ptr != e || v > kMaxTimestamp) return false;
      ts = v;
      return true;
    }
    if (dot + 1 == e || std::find_if(dot + 1, e, [](char c) { return c < '0' || c > '9'; }) != e) return false;
    double seconds = 0;
    auto r = std::from_chars(b, e, seconds);
    if (r.ec != std::errc() || r.ptr != e || !(seconds >= 0 && seconds <= static_cast<double>(kMaxTimestamp))) {
      return false;
    }
    ts = static_cast<int64_t>(std::floor(seconds));
    return true;
  }

  const char* p_;
  const char* end_;
  const char* ts_begin_ = nullptr;  // the top-level timestamp value's token
  const char* ts_end_ = nullptr;
};

}  // namespace

// JSON checks of one record value; one parser reused for every record.
struct LakeSink::Parser {
  simdjson::dom::parser dom;
  std::string minified;

  // Event time in epoch seconds, or an error message for the errors/ prefix.
  bool timestamp_of(std::string_view value, int64_t& ts, std::string& why) {
    simdjson::dom::element doc;
    if (auto err = dom.parse(value.data(), value.size()).get(doc); err) {
      why = fmt::format("not JSON: {}", simdjson::error_message(err));
      return false;
    }
    simdjson::dom::object obj;
    if (doc.get_object().get(obj)) {
      why = "not a JSON object";
      return false;
    }
    simdjson::dom::element t;
    if (obj["timestamp"].get(t)) {
      why = "no `timestamp` field";
      return false;
    }
    double seconds = 0;
    if (t.is_int64()) {
      seconds = static_cast<double>(t.get_int64().value_unsafe());
    } else if (t.is_uint64()) {
      seconds = static_cast<double>(t.get_uint64().value_unsafe());
    } else if (t.is_double()) {
      seconds = t.get_double().value_unsafe();
    } else if (t.is_string()) {
      // The original producer's all-strings form: "1711943972" (optionally with a fraction).
      std::string_view s = t.get_string().value_unsafe();
      char* end = nullptr;
      std::string copy(s);
      seconds = std::strtod(copy.c_str(), &end);
      if (copy.empty() || end != copy.c_str() + copy.size() || copy.find_first_not_of("0123456789.") != std::string::npos) {
        why = fmt::format("`timestamp` \"{}\" is not epoch seconds", s.substr(0, 40));
        return false;
      }
    } else {
      why = "`timestamp` is neither a number nor a numeric string";
      return false;
    }
    if (!(seconds >= 0 && seconds <= static_cast<double>(kMaxTimestamp))) {
      why = fmt::format("`timestamp` {} is outside 1970..9999", seconds);
      return false;
    }
    ts = static_cast<int64_t>(std::floor(seconds));
    return true;
  }
};

struct LakeSink::OpenFile {
  int64_t bucket = 0;  // event-time hour (epoch seconds / 3600), or kErrorBucket
  int64_t first_offset = 0;
  int64_t records = 0;
  uint64_t open_seq = 0;
  std::string data;  // uncompressed lines
};

struct LakeSink::Partition {
  int32_t id = 0;
  int64_t next_offset = -1;  // next offset expected (-1: none seen yet)
  std::vector<OpenFile> files;
  bool segment_has_time = false;
  int64_t segment_base_ts = 0;  // event time of the segment's first well-formed record
  int64_t last_activity_ms = 0;
  std::set<int64_t> flush_points;  // positions that must be file boundaries (see README.md)
  int64_t committed = -1;
};

namespace {
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
}  // namespace

// The storing thread. Cuts are stored in the order they were closed, in rounds: everything queued is
// taken at once, the newest marker of each partition in it is stored first, then all its files, so a
// round costs one wait for the store however many files it holds. A failed round stays queued and is
// retried once its error was reported to the sink's caller.
class LakeSink::Writer {
 public:
  Writer(ObjectStore& store, Compression compression, size_t max_queued_bytes)
      : store_(store), compression_(compression), max_queued_(max_queued_bytes), thread_([this] { loop(); }) {}

  ~Writer() {
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

LakeSink::LakeSink(ObjectStore& store, SinkOptions options, const Clock& clock)
    : store_(store),
      options_(std::move(options)),
      clock_(clock),
      parser_(std::make_unique<Parser>()),
      writer_(std::make_unique<Writer>(store_, options_.compression,
                                       std::max<size_t>(size_t{256} << 20, 2 * static_cast<size_t>(options_.rotate_bytes)))) {}

LakeSink::~LakeSink() = default;

Result<SinkOptions> SinkOptions::from(const Config& config) {
  SinkOptions o;
  o.topic = config.get_string("stream.topic");
  o.flush_size = config.get_int("sink.flush_size");
  o.rotate_bytes = config.get_bytes("sink.rotate_bytes");
  o.rotate_interval_ms = config.get_duration_ms("sink.rotate_interval");
  o.idle_timeout_ms = config.get_duration_ms("sink.idle_timeout");
  o.max_open_files = config.get_int("sink.max_open_files");
  HRFLOW_ASSIGN_OR_RETURN(o.compression, parse_compression(config.get_string("lake.compression")));
  if (o.rotate_bytes <= 0) return invalid_argument("sink.rotate_bytes must be positive");
  if (o.rotate_interval_ms <= 0) return invalid_argument("sink.rotate_interval must be positive");
  return o;
}

std::string LakeSink::flush_marker_key(int32_t partition) const {
  return fmt::format("_hrflow/sink/{}/partition={}.json", options_.topic, partition);
}

LakeSink::Partition& LakeSink::partition_state(int32_t id, int64_t first_offset, Status& status) {
  auto it = partitions_.find(id);
  if (it != partitions_.end()) return *it->second;
  auto p = std::make_unique<Partition>();
  p->id = id;
  // Flush points an earlier run stored but may not have committed: the replay must cut files there.
  auto marker = store_.get(flush_marker_key(id));
  if (marker.ok()) {
    simdjson::dom::parser parser;
    simdjson::dom::array points;
    if (parser.parse(*marker)["flush_at"].get(points)) {
      status = corrupt("{} is not a flush marker; move it away to continue", store_.url_of(flush_marker_key(id)));
      static Partition dummy;
      return dummy;
    }
    for (auto v : points) {
      int64_t at = 0;
      if (!v.get(at) && at > first_offset) p->flush_points.insert(at);
    }
  } else if (marker.error().kind != ErrorKind::kNotFound) {
    status = marker.error().with_context("reading the sink's flush marker");
    static Partition dummy;
    return dummy;
  }
  auto& ref = *p;
  partitions_[id] = std::move(p);
  return ref;
}

Status LakeSink::add(int32_t partition, int64_t offset, std::string_view value) {
  Status st;
  Partition& p = partition_state(partition, offset, st);
  HRFLOW_TRY(st);
  if (offset < p.next_offset) return {};  // redelivered after a rebalance or retry
  // Rotation decisions, all before the record is added, all functions of the record sequence.
  if (!p.files.empty()) {
    bool cut = false;
    // (1) a flush point of an earlier run lies at or before this record
    auto fp = p.flush_points.upper_bound(p.next_offset - 1);
    if (fp != p.flush_points.end() && *fp <= offset) cut = true;
    // (2) a file reached its record or byte limit with the previous record
    for (const auto& f : p.files) {
      if (f.records >= options_.flush_size || static_cast<int64_t>(f.data.size()) >= options_.rotate_bytes) cut = true;
    }
    if (cut) HRFLOW_TRY(flush(p, p.next_offset));
  }
  int64_t ts = 0;
  std::string why;
  // The fast path accepts only one-line values, so `plain` needs no newline check below.
  const bool plain = FastScan::timestamp(value, ts);
  bool good = plain || parser_->timestamp_of(value, ts, why);
  // (3) event-time span of the partition's open files reached rotate_interval
  if (good && !p.files.empty() && p.segment_has_time &&
      (ts - p.segment_base_ts) * 1000 >= options_.rotate_interval_ms) {
    HRFLOW_TRY(flush(p, p.next_offset));
  }
  int64_t bucket = good ? ts / 3600 : kErrorBucket;
  auto file = std::find_if(p.files.begin(), p.files.end(), [&](const OpenFile& f) { return f.bucket == bucket; });
  if (file == p.files.end()) {
    // (4) process-wide cap on open files: close the partition holding the oldest file first
    while (static_cast<int64_t>(open_count_) >= options_.max_open_files) HRFLOW_TRY(close_oldest());
    OpenFile f;
    f.data = writer_->buffer();
    f.bucket = bucket;
    f.first_offset = offset;
    f.open_seq = open_seq_++;
    p.files.push_back(std::move(f));
    ++open_count_;
    file = p.files.end() - 1;
  }
  if (good) {
    if (!p.segment_has_time) {
      p.segment_has_time = true;
      p.segment_base_ts = ts;
    }
    if (!plain && (value.find('\n') != std::string_view::npos || value.find('\r') != std::string_view::npos)) {
      // One record per line: re-serialise multi-line JSON compactly.
      parser_->minified.resize(value.size());
      size_t len = 0;
      if (simdjson::minify(value.data(), value.size(), parser_->minified.data(), len) == simdjson::SUCCESS) {
        file->data.append(parser_->minified.data(), len);
      } else {
        file->data.append(value);  // unreachable: the value parsed as JSON above
      }
    } else {
      file->data.append(value);
    }
    file->data.push_back('\n');
  } else {
    auto& d = file->data;
    d += fmt::format("{{\"partition\":{},\"offset\":{},\"error\":", partition, offset);
    append_json_string(d, why);
    if (simdjson::validate_utf8(value.data(), value.size())) {
      d += ",\"value\":";
      append_json_string(d, value);
    } else {
      d += ",\"value_base64\":\"" + base64(value) + "\"";
    }
    d += "}\n";
    ++stats_.bad_records;
  }
  ++file->records;
  ++stats_.records;
  p.next_offset = offset + 1;
  p.last_activity_ms = clock_.monotonic_ms();
  return {};
}

std::string LakeSink::marker_body(const Partition& p) const {
  std::string body = fmt::format("{{\"partition\":{},\"flush_at\":[", p.id);
  bool first = true;
  for (int64_t at : p.flush_points) {
    if (at <= p.committed) continue;
    body += fmt::format("{}{}", first ? "" : ",", at);
    first = false;
  }
  body += "]}\n";
  return body;
}

Status LakeSink::flush(Partition& p, int64_t at) {
  if (p.files.empty()) return {};
  size_t bytes = 0;
  for (const auto& f : p.files) bytes += f.data.size();
  HRFLOW_TRY(writer_->reserve(bytes));
  // The cut goes into the marker, which the writer stores before any file of the cut: a replay after a
  // crash must cut here too.
  p.flush_points.insert(at);
  Cut cut{p.id, at, flush_marker_key(p.id), marker_body(p), {}, bytes};
  for (auto& f : p.files) {
    FileKey key{options_.topic, p.id, f.first_offset, f.bucket == kErrorBucket,
                f.bucket == kErrorBucket ? 0 : f.bucket, options_.compression};
    cut.files.emplace_back(format_key(key), std::move(f.data));
  }
  writer_->push(std::move(cut));
  open_count_ -= p.files.size();
  p.files.clear();
  p.segment_has_time = false;
  return {};
}

Status LakeSink::close_oldest() {
  Partition* oldest = nullptr;
  uint64_t seq = std::numeric_limits<uint64_t>::max();
  for (auto& [id, p] : partitions_) {
    for (const auto& f : p->files) {
      if (f.open_seq < seq) {
        seq = f.open_seq;
        oldest = p.get();
      }
    }
  }
  if (oldest == nullptr) return make_error(ErrorKind::kInternal, "open-file count out of sync");
  return flush(*oldest, oldest->next_offset);
}

Status LakeSink::tick() {
  HRFLOW_TRY(writer_->check());
  int64_t now = clock_.monotonic_ms();
  for (auto& [id, p] : partitions_) {
    if (p->files.empty()) continue;
    bool full = std::any_of(p->files.begin(), p->files.end(), [&](const OpenFile& f) {
      return f.records >= options_.flush_size || static_cast<int64_t>(f.data.size()) >= options_.rotate_bytes;
    });
    if (full || now - p->last_activity_ms >= options_.idle_timeout_ms) HRFLOW_TRY(flush(*p, p->next_offset));
  }
  return {};
}

Status LakeSink::close_all() {
  for (auto& [id, p] : partitions_) HRFLOW_TRY(flush(*p, p->next_offset));
  return writer_->settle();
}

Status LakeSink::settle() { return writer_->settle(); }

SinkStats LakeSink::stats() const {
  SinkStats s = stats_;
  writer_->counts(s.files, s.bytes);
  return s;
}

void LakeSink::drop_partition(int32_t partition) {
  writer_->drop(partition);
  auto it = partitions_.find(partition);
  if (it == partitions_.end()) return;
  open_count_ -= it->second->files.size();
  partitions_.erase(it);
}

SinkPositions LakeSink::committable() const {
  SinkPositions out;
  for (const auto& [id, at] : writer_->stored()) {
    auto it = partitions_.find(id);
    if (it != partitions_.end() && at > it->second->committed) out[id] = at;
  }
  return out;
}

void LakeSink::mark_committed(const SinkPositions& positions) {
  for (const auto& [id, at] : positions) {
    auto it = partitions_.find(id);
    if (it == partitions_.end()) continue;
    auto& p = *it->second;
    p.committed = std::max(p.committed, at);
    p.flush_points.erase(p.flush_points.begin(), p.flush_points.upper_bound(p.committed));
  }
}

}  // namespace hrflow::lake
