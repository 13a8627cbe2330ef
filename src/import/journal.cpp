#include "import/journal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "stream/crc32c.h"

namespace hrflow::import {

namespace {

constexpr uint32_t kMagic = 0x4a495248;  // "HRIJ"
#pragma pack(push, 1)
struct Header {
  uint32_t magic;
  uint32_t count;
  uint32_t crc;  // over type, count and the entries
  char type;
};
#pragma pack(pop)

uint32_t checksum(char type, uint32_t count, const JournalEntry* entries) {
  uint32_t crc = stream::crc32c(&type, 1);
  crc = stream::crc32c(&count, sizeof count, crc);
  return stream::crc32c(entries, count * sizeof(JournalEntry), crc);
}

uint64_t hour_key(uint32_t user, uint32_t ts) { return (uint64_t{user} << 32) | (ts / 3600); }

}  // namespace

Result<Journal> Journal::open(const std::filesystem::path& path, const std::set<int64_t>& users) {
  Journal j;
  j.path_ = path;
  j.users_ = users;
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  j.fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (j.fd_ < 0) return io_error("cannot open the import journal {}: {}", path.string(), std::strerror(errno));
  if (::flock(j.fd_, LOCK_EX | LOCK_NB) != 0) {
    return Error{ErrorKind::kUnavailable,
                 fmt::format("another `hrflow import` is running with the journal {}; wait for it to finish",
                             path.string()),
                 true};
  }
  // Read every record, one at a time (memory: the largest batch); stop at the first that is torn
  // or fails its checksum and cut the file there.
  const off_t size = ::lseek(j.fd_, 0, SEEK_END);
  auto read_at = [&](void* into, size_t n, uint64_t at) -> Result<bool> {
    size_t got = 0;
    while (got < n) {
      const ssize_t r = ::pread(j.fd_, static_cast<char*>(into) + got, n - got, static_cast<off_t>(at + got));
      if (r < 0) return io_error("reading {}: {}", path.string(), std::strerror(errno));
      if (r == 0) return false;
      got += static_cast<size_t>(r);
    }
    return true;
  };
  uint64_t pos = 0, valid_end = 0;
  std::vector<JournalEntry> entries, open_batch;
  bool batch_open = false;
  auto hold_all = [&j](const std::vector<JournalEntry>& es) {
    for (const auto& e : es) {
      if (j.users_.count(e.user_id)) j.hold(e.user_id, e.timestamp);
      ++j.loaded_;
    }
  };
  while (pos + sizeof(Header) <= static_cast<uint64_t>(size)) {
    Header h;
    HRFLOW_ASSIGN_OR_RETURN(bool whole, read_at(&h, sizeof h, pos));
    const uint64_t bytes = uint64_t{h.count} * sizeof(JournalEntry);
    if (!whole || h.magic != kMagic || pos + sizeof h + bytes > static_cast<uint64_t>(size)) break;
    entries.resize(h.count);
    HRFLOW_ASSIGN_OR_RETURN(whole, read_at(entries.data(), bytes, pos + sizeof h));
    if (!whole || checksum(h.type, h.count, entries.data()) != h.crc) break;
    pos += sizeof h + bytes;
    valid_end = pos;
    if (h.type == 'P') {
      open_batch.swap(entries);
      batch_open = true;
    } else if (h.type == 'C' && batch_open) {
      hold_all(open_batch);
      batch_open = false;
    } else if (h.type == 'R' && batch_open) {
      hold_all(entries);
      batch_open = false;
    }
  }
  if (valid_end != static_cast<uint64_t>(size)) {
    if (::ftruncate(j.fd_, static_cast<off_t>(valid_end)) != 0) {
      return io_error("cutting the torn end of {}: {}", path.string(), std::strerror(errno));
    }
  }
  ::lseek(j.fd_, static_cast<off_t>(valid_end), SEEK_SET);
  if (batch_open) j.pending_ = std::move(open_batch);
  return j;
}

Journal::Journal(Journal&& o) noexcept
    : path_(std::move(o.path_)),
      fd_(o.fd_),
      users_(std::move(o.users_)),
      hours_(std::move(o.hours_)),
      pending_(std::move(o.pending_)),
      loaded_(o.loaded_) {
  o.fd_ = -1;
}

Journal::~Journal() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock
}

bool Journal::holds(uint32_t user, uint32_t ts) const {
  auto it = hours_.find(hour_key(user, ts));
  if (it == hours_.end()) return false;
  const uint32_t s = ts % 3600;
  return (it->second[s / 64] >> (s % 64)) & 1;
}

void Journal::hold(uint32_t user, uint32_t ts) {
  auto [it, inserted] = hours_.try_emplace(hour_key(user, ts));
  if (inserted) it->second.fill(0);
  const uint32_t s = ts % 3600;
  it->second[s / 64] |= uint64_t{1} << (s % 64);
}

void Journal::release(uint32_t user, uint32_t ts) {
  auto it = hours_.find(hour_key(user, ts));
  if (it == hours_.end()) return;
  const uint32_t s = ts % 3600;
  it->second[s / 64] &= ~(uint64_t{1} << (s % 64));
}

Status Journal::append(char type, const JournalEntry* entries, uint32_t n) {
  Header h{kMagic, n, checksum(type, n, entries), type};
  std::vector<char> buf(sizeof h + size_t{n} * sizeof(JournalEntry));
  std::memcpy(buf.data(), &h, sizeof h);
  if (n) std::memcpy(buf.data() + sizeof h, entries, size_t{n} * sizeof(JournalEntry));
  size_t done = 0;
  while (done < buf.size()) {
    const ssize_t w = ::write(fd_, buf.data() + done, buf.size() - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      return io_error("writing the import journal {}: {} (is the disk full?)", path_.string(), std::strerror(errno));
    }
    done += static_cast<size_t>(w);
  }
  if (::fdatasync(fd_) != 0) return io_error("syncing {}: {}", path_.string(), std::strerror(errno));
  return {};
}

Status Journal::resolve(const std::vector<JournalEntry>& delivered) {
  HRFLOW_TRY(append('R', delivered.data(), static_cast<uint32_t>(delivered.size())));
  for (const auto& e : delivered) {
    if (users_.count(e.user_id)) hold(e.user_id, e.timestamp);
  }
  pending_.clear();
  return {};
}

Status Journal::begin(const std::vector<JournalEntry>& batch) {
  return append('P', batch.data(), static_cast<uint32_t>(batch.size()));
}

Status Journal::commit() { return append('C', nullptr, 0); }

}  // namespace hrflow::import
