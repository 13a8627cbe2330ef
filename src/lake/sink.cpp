#include "lake/sink.h"

#include "common/json_text.h"

#include <openssl/evp.h>
#include <simdjson.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cmath>
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
  int64_t flushed = -1;            // last flush position: everything below is stored
  int64_t committed = -1;
};

LakeSink::LakeSink(ObjectStore& store, SinkOptions options, const Clock& clock)
    : store_(store), options_(std::move(options)), clock_(clock), parser_(std::make_unique<Parser>()) {}

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
  bool good = parser_->timestamp_of(value, ts, why);
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
    if (value.find('\n') != std::string_view::npos || value.find('\r') != std::string_view::npos) {
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

Status LakeSink::write_marker(const Partition& p) {
  std::string body = fmt::format("{{\"partition\":{},\"flush_at\":[", p.id);
  bool first = true;
  for (int64_t at : p.flush_points) {
    if (at <= p.committed) continue;
    body += fmt::format("{}{}", first ? "" : ",", at);
    first = false;
  }
  body += "]}\n";
  return store_.put(flush_marker_key(p.id), body);
}

Status LakeSink::flush(Partition& p, int64_t at) {
  if (p.files.empty()) return {};
  // Record the cut before any file of it is stored: a replay after a crash must cut here too.
  p.flush_points.insert(at);
  HRFLOW_TRY(write_marker(p));
  for (const auto& f : p.files) {
    FileKey key{options_.topic, p.id, f.first_offset, f.bucket == kErrorBucket,
                f.bucket == kErrorBucket ? 0 : f.bucket, options_.compression};
    std::string name = format_key(key);
    if (options_.compression == Compression::kNone) {
      HRFLOW_TRY(store_.put(name, f.data));
      stats_.bytes += f.data.size();
    } else {
      HRFLOW_ASSIGN_OR_RETURN(auto packed, compress(f.data, options_.compression));
      HRFLOW_TRY(store_.put(name, packed));
      stats_.bytes += packed.size();
    }
    ++stats_.files;
  }
  open_count_ -= p.files.size();
  p.files.clear();
  p.segment_has_time = false;
  p.flushed = at;
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
  return {};
}

void LakeSink::drop_partition(int32_t partition) {
  auto it = partitions_.find(partition);
  if (it == partitions_.end()) return;
  open_count_ -= it->second->files.size();
  partitions_.erase(it);
}

SinkPositions LakeSink::committable() const {
  SinkPositions out;
  for (const auto& [id, p] : partitions_) {
    if (p->flushed > p->committed) out[id] = p->flushed;
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

Result<std::string> compress(std::string_view data, Compression c) {
  if (c == Compression::kNone) return std::string(data);
  if (c == Compression::kZstd) {
    std::string out(ZSTD_compressBound(data.size()), '\0');
    size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3);
    if (ZSTD_isError(n)) return make_error(ErrorKind::kInternal, "zstd: {}", ZSTD_getErrorName(n));
    out.resize(n);
    return out;
  }
  z_stream zs{};
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return make_error(ErrorKind::kInternal, "gzip: deflateInit2 failed");
  }
  std::string out(deflateBound(&zs, data.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return make_error(ErrorKind::kInternal, "gzip: deflate failed ({})", rc);
  return out;
}

Result<std::string> decompress(std::string_view data, Compression c) {
  if (c == Compression::kNone) return std::string(data);
  if (c == Compression::kZstd) {
    unsigned long long size = ZSTD_getFrameContentSize(data.data(), data.size());
    if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN) return corrupt("not a zstd frame");
    std::string out(size, '\0');
    size_t n = ZSTD_decompress(out.data(), out.size(), data.data(), data.size());
    if (ZSTD_isError(n)) return corrupt("zstd: {}", ZSTD_getErrorName(n));
    out.resize(n);
    return out;
  }
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) return make_error(ErrorKind::kInternal, "gzip: inflateInit2 failed");
  std::string out;
  char buf[65536];
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    out.append(buf, sizeof buf - zs.avail_out);
  }
  inflateEnd(&zs);
  if (rc != Z_STREAM_END) return corrupt("gzip: stream is damaged ({})", rc);
  return out;
}

}  // namespace hrflow::lake
