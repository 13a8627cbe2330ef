#include "lake/sink.h"

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

#include "common/json_text.h"
#include "lake/record_time.h"
#include "lake/sink_writer.h"

namespace hrflow::lake {
namespace {

constexpr int64_t kErrorBucket = std::numeric_limits<int64_t>::min();

std::string base64(std::string_view s) {
  std::string out(4 * ((s.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(s.data()), static_cast<int>(s.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

}  // namespace

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
  int64_t segment_opened_ms = 0;  // wall (monotonic) time the segment's first file opened
  std::set<int64_t> flush_points;  // positions that must be file boundaries (see README.md)
  int64_t committed = -1;
};

LakeSink::LakeSink(ObjectStore& store, SinkOptions options, const Clock& clock)
    : store_(store),
      options_(std::move(options)),
      clock_(clock),
      parser_(std::make_unique<RecordTimeParser>()),
      writer_(std::make_unique<SinkWriter>(store_, options_.compression,
                                       std::max<size_t>(size_t{256} << 20, 2 * static_cast<size_t>(options_.rotate_bytes)))) {}

LakeSink::~LakeSink() = default;

Result<SinkOptions> SinkOptions::from(const Config& config) {
  SinkOptions o;
  o.topic = config.get_string("stream.topic");
  o.flush_size = config.get_int("sink.flush_size");
  o.rotate_bytes = config.get_bytes("sink.rotate_bytes");
  o.rotate_interval_ms = config.get_duration_ms("sink.rotate_interval");
  o.idle_timeout_ms = config.get_duration_ms("sink.idle_timeout");
  o.max_file_age_ms = config.get_duration_ms("sink.max_file_age");
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
    if (p.files.empty()) p.segment_opened_ms = clock_.monotonic_ms();
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
  // `committed`: every file whose first offset lies below it is final (a replay starts there), which
  // is what sync needs to know before it merges small files.
  std::string body = fmt::format("{{\"partition\":{},\"committed\":{},\"flush_at\":[", p.id, p.committed);
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
    // Freshness: with max_file_age a segment is cut at most that long after it opened (a circumstantial
    // cut, safe through the marker like an idle close); sync merges a closed hour's small files later.
    bool aged = options_.max_file_age_ms > 0 && now - p->segment_opened_ms >= options_.max_file_age_ms;
    if (full || aged || now - p->last_activity_ms >= options_.idle_timeout_ms) HRFLOW_TRY(flush(*p, p->next_offset));
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
