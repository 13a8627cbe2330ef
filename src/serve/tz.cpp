#include "serve/tz.h"

#include <algorithm>
#include <fstream>
#include <iterator>

namespace hrflow::serve {

namespace {

int64_t read_be(const std::string& data, size_t pos, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<uint8_t>(data[pos + i]);
  if (bytes == 4) return static_cast<int32_t>(static_cast<uint32_t>(v));
  return static_cast<int64_t>(v);
}

struct Header {
  int64_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

Header read_header(const std::string& data, size_t pos) {
  return Header{read_be(data, pos + 20, 4), read_be(data, pos + 24, 4), read_be(data, pos + 28, 4),
                read_be(data, pos + 32, 4), read_be(data, pos + 36, 4), read_be(data, pos + 40, 4)};
}

}  // namespace

TimeZone TimeZone::utc() {
  TimeZone tz;
  tz.name_ = "UTC";
  return tz;
}

Result<TimeZone> TimeZone::load(const std::string& name, const std::string& zoneinfo_dir) {
  if (name == "UTC" || name == "Etc/UTC" || name.empty()) return utc();
  if (name.find("..") != std::string::npos || name.front() == '/') {
    return invalid_argument("time zone '{}' is not a zone name like 'Europe/Berlin'", name);
  }
  std::string path = zoneinfo_dir + "/" + name;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return make_error(ErrorKind::kNotFound, "unknown time zone '{}' (no file {}); use a name like 'Europe/Berlin'",
                      name, path);
  }
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto bad = [&] { return corrupt("time zone file {} is not a valid TZif file", path); };
  if (data.size() < 44 || data.compare(0, 4, "TZif") != 0) return bad();
  Header h = read_header(data, 0);
  int time_size = 4;
  size_t pos = 44;
  if (data[4] >= '2') {  // skip the 32-bit section; use the 64-bit one that follows it
    pos += h.timecnt * 5 + h.typecnt * 6 + h.charcnt + h.leapcnt * 8 + h.isstdcnt + h.isutcnt;
    if (data.size() < pos + 44 || data.compare(pos, 4, "TZif") != 0) return bad();
    h = read_header(data, pos);
    pos += 44;
    time_size = 8;
  }
  size_t need = pos + h.timecnt * (time_size + 1) + h.typecnt * 6;
  if (data.size() < need || h.typecnt == 0) return bad();
  TimeZone tz;
  tz.name_ = name;
  std::vector<int32_t> type_offsets;
  size_t types_pos = pos + h.timecnt * (time_size + 1);
  for (int64_t i = 0; i < h.typecnt; ++i) type_offsets.push_back(static_cast<int32_t>(read_be(data, types_pos + i * 6, 4)));
  for (int64_t i = 0; i < h.timecnt; ++i) {
    tz.transitions_.push_back(read_be(data, pos + i * time_size, time_size));
    auto idx = static_cast<uint8_t>(data[pos + h.timecnt * time_size + i]);
    if (idx >= type_offsets.size()) return bad();
    tz.offsets_.push_back(type_offsets[idx]);
  }
  tz.initial_offset_ = type_offsets[0];
  return tz;
}

int32_t TimeZone::offset_at(int64_t utc_s) const {
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), utc_s);
  if (it == transitions_.begin()) return initial_offset_;
  return offsets_[std::distance(transitions_.begin(), it) - 1];
}

int64_t TimeZone::to_utc(int64_t local_s) const {
  // Candidates: the local time read with the offset before and after each nearby transition. The
  // earliest candidate that maps back to the same local time wins (first occurrence when ambiguous).
  int32_t before = offset_at(local_s - 86400 * 2);
  int32_t after = offset_at(local_s + 86400 * 2);
  int64_t a = local_s - std::max(before, after), b = local_s - std::min(before, after);
  for (int64_t cand : {a, b}) {
    if (to_local(cand) == local_s) return cand;
  }
  for (int32_t off : {before, after}) {
    if (to_local(local_s - off) == local_s) return local_s - off;
  }
  // In a gap: interpret with the offset in force before the change.
  return local_s - before;
}

}  // namespace hrflow::serve
