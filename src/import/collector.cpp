#include "import/collector.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cmath>
#include <cstring>

#include "common/civil_time.h"

namespace hrflow::import {

const char* const kActivityNames[23] = {
    "Stand",  "Sit",         "Sleep",   "Walk",    "Run",      "Cycling",    "Elliptical", "Rower",
    "Stair Stepper", "HIIT", "Hiking",  "Yoga",    "Functional Strength Training", "Dance", "Cooldown",
    "Core Training", "Pilates", "Tai Chi", "Swimming", "Wheelchair", "Multisport", "Kickboxing", "Other"};

std::optional<uint8_t> activity_index(std::string_view name) {
  for (uint8_t i = 0; i < 23; ++i) {
    if (name == kActivityNames[i]) return i;
  }
  return std::nullopt;
}

namespace {
constexpr size_t kSpillBufferEntries = 1 << 16;  // 1 MiB of readings per write
constexpr size_t kExcerptBytes = 2000;           // of a bad record, kept in the errors file
}  // namespace

Result<Collector> Collector::create(std::filesystem::path spill_path, std::filesystem::path errors_path) {
  Collector c;
  c.spill_path_ = std::move(spill_path);
  c.errors_path_ = std::move(errors_path);
  std::error_code ec;
  std::filesystem::create_directories(c.spill_path_.parent_path(), ec);
  c.spill_ = std::fopen(c.spill_path_.c_str(), "wb");
  if (!c.spill_) return io_error("cannot create {}: {}", c.spill_path_.string(), std::strerror(errno));
  std::filesystem::remove(c.errors_path_, ec);  // errors of an earlier run of the same import are stale
  c.buffer_.reserve(kSpillBufferEntries);
  return c;
}

Collector::Collector(Collector&& o) noexcept
    : spill_path_(std::move(o.spill_path_)),
      errors_path_(std::move(o.errors_path_)),
      spill_(o.spill_),
      errors_file_(o.errors_file_),
      buffer_(std::move(o.buffer_)),
      subjects_(std::move(o.subjects_)),
      by_label_(std::move(o.by_label_)),
      earliest_(std::move(o.earliest_)),
      workouts_(std::move(o.workouts_)),
      skipped_(std::move(o.skipped_)),
      errors_(std::move(o.errors_)),
      readings_(o.readings_),
      skipped_total_(o.skipped_total_),
      errors_total_(o.errors_total_),
      io_failure_(std::move(o.io_failure_)) {
  o.spill_ = nullptr;
  o.errors_file_ = nullptr;
}

Collector::~Collector() {
  if (spill_) std::fclose(spill_);
  if (errors_file_) std::fclose(errors_file_);
}

uint32_t Collector::subject(const SubjectInfo& info) {
  auto it = by_label_.find(info.label);
  if (it == by_label_.end()) {
    const auto idx = static_cast<uint32_t>(subjects_.size());
    subjects_.push_back(info);
    earliest_.push_back(std::numeric_limits<int64_t>::max());
    by_label_.emplace(info.label, idx);
    return idx;
  }
  SubjectInfo& s = subjects_[it->second];
  auto merge = [](auto& into, const auto& from) {
    if (from) into = from;
  };
  merge(s.date_of_birth, info.date_of_birth);
  merge(s.sex, info.sex);
  merge(s.blood_type, info.blood_type);
  merge(s.first_name, info.first_name);
  merge(s.last_name, info.last_name);
  merge(s.address, info.address);
  merge(s.country_code, info.country_code);
  return it->second;
}

std::optional<uint32_t> Collector::find_subject(std::string_view label) const {
  auto it = by_label_.find(label);
  if (it == by_label_.end()) return std::nullopt;
  return it->second;
}

void Collector::push(uint32_t subject, int64_t timestamp, double bpm, Context context, uint8_t activity) {
  buffer_.push_back({timestamp, subject, static_cast<uint16_t>(std::lround(bpm)), static_cast<uint8_t>(context),
                     activity});
  earliest_[subject] = std::min(earliest_[subject], timestamp);
  ++readings_;
  if (buffer_.size() >= kSpillBufferEntries) flush_spill();
}

void Collector::flush_spill() {
  if (buffer_.empty() || !spill_) return;
  if (std::fwrite(buffer_.data(), sizeof(SpilledReading), buffer_.size(), spill_) != buffer_.size() &&
      !io_failure_) {
    io_failure_ = io_error("writing {}: {} (is the disk full?)", spill_path_.string(), std::strerror(errno));
  }
  buffer_.clear();
}

void Collector::skip(const std::string& reason, uint64_t n) {
  skipped_[reason] += n;
  skipped_total_ += n;
}

void Collector::error(const std::string& reason, const Place& place, std::string_view excerpt) {
  errors_[reason] += 1;
  ++errors_total_;
  if (!errors_file_ && !io_failure_) {
    errors_file_ = std::fopen(errors_path_.c_str(), "wb");
    if (!errors_file_) {
      io_failure_ = io_error("cannot create the errors file {}: {}", errors_path_.string(), std::strerror(errno));
    }
  }
  if (!errors_file_) return;
  nlohmann::json j;
  j["file"] = place.file;
  if (place.line > 0) j["line"] = place.line;
  if (place.offset >= 0) j["offset"] = place.offset;
  if (!place.where.empty()) j["where"] = place.where;
  j["reason"] = reason;
  j["record"] = std::string(excerpt.substr(0, kExcerptBytes));
  const std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  if (std::fwrite(line.data(), 1, line.size(), errors_file_) != line.size() && !io_failure_) {
    io_failure_ = io_error("writing {}: {}", errors_path_.string(), std::strerror(errno));
  }
}

Status Collector::finish() {
  flush_spill();
  if (spill_ && std::fflush(spill_) != 0 && !io_failure_) {
    io_failure_ = io_error("writing {}: {}", spill_path_.string(), std::strerror(errno));
  }
  if (errors_file_) std::fflush(errors_file_);
  if (io_failure_) return *io_failure_;
  return {};
}

Result<SpillReader> SpillReader::open(const std::filesystem::path& path) {
  SpillReader r;
  r.path_ = path;
  r.f_ = std::fopen(path.c_str(), "rb");
  if (!r.f_) return io_error("cannot open {}: {}", path.string(), std::strerror(errno));
  return r;
}

SpillReader::SpillReader(SpillReader&& o) noexcept : f_(o.f_), path_(std::move(o.path_)) { o.f_ = nullptr; }

SpillReader::~SpillReader() {
  if (f_) std::fclose(f_);
}

Status SpillReader::next(std::vector<SpilledReading>& out, size_t max) {
  out.resize(max);
  const size_t n = std::fread(out.data(), sizeof(SpilledReading), max, f_);
  out.resize(n);
  if (n < max && std::ferror(f_)) return io_error("reading {}: {}", path_.string(), std::strerror(errno));
  return {};
}

namespace {

bool digits(std::string_view s, size_t pos, size_t n, int& out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  out = v;
  return true;
}

}  // namespace

Result<int64_t> parse_time_with_offset(std::string_view s) {
  int y, mo, d, h, mi, se;
  if (!digits(s, 0, 4, y) || s.size() < 19 || s[4] != '-' || !digits(s, 5, 2, mo) || s[7] != '-' ||
      !digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != ' ') || !digits(s, 11, 2, h) || s[13] != ':' ||
      !digits(s, 14, 2, mi) || s[16] != ':' || !digits(s, 17, 2, se)) {
    return invalid_argument("'{}' is not a date and time (YYYY-MM-DD HH:MM:SS with an offset)", s);
  }
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) {
    return invalid_argument("'{}' is not a valid date and time", s);
  }
  size_t p = 19;
  if (p < s.size() && (s[p] == '.' || s[p] == ',')) {
    ++p;
    while (p < s.size() && s[p] >= '0' && s[p] <= '9') ++p;
  }
  while (p < s.size() && s[p] == ' ') ++p;
  int offset_s = 0;
  if (p < s.size() && (s[p] == 'Z' || s[p] == 'z')) {
    ++p;
  } else if (p < s.size() && (s[p] == '+' || s[p] == '-')) {
    const int sign = s[p] == '-' ? -1 : 1;
    int oh, om;
    if (!digits(s, p + 1, 2, oh)) return invalid_argument("'{}': the UTC offset is not +HH:MM or +HHMM", s);
    size_t q = p + 3;
    if (q < s.size() && s[q] == ':') ++q;
    if (!digits(s, q, 2, om) || oh > 18 || om > 59) {
      return invalid_argument("'{}': the UTC offset is not +HH:MM or +HHMM", s);
    }
    p = q + 2;
    offset_s = sign * (oh * 3600 + om * 60);
  } else {
    return invalid_argument("'{}' has no UTC offset (Z or +HH:MM): the instant is unknown", s);
  }
  if (p != s.size()) return invalid_argument("'{}': unexpected text after the time", s);
  const int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  return days * 86400 + h * 3600 + mi * 60 + std::min(se, 59) - offset_s;
}

std::optional<int32_t> parse_date_yyyymmdd(std::string_view s) {
  int y, m, d;
  if (s.size() < 10 || !digits(s, 0, 4, y) || s[4] != '-' || !digits(s, 5, 2, m) || s[7] != '-' ||
      !digits(s, 8, 2, d) || m < 1 || m > 12 || d < 1 || d > 31 || y < 1900 || y > 2099) {
    return std::nullopt;
  }
  return y * 10000 + m * 100 + d;
}

}  // namespace hrflow::import
