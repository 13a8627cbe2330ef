// The import journal: which (user, second) readings imports have delivered to the stream, durable
// across kill -9, so that re-importing a file (or an overlapping later export) sends nothing twice.
//
// File `{import.dir}/readings.journal`: a sequence of checksummed records (CRC-32C), appended only.
//   P <entries>  a batch about to be sent (written and fsynced before the first send)
//   C            the preceding P was acknowledged by the stream in full
//   R <entries>  after a crash: the part of the preceding P that the stream was found to hold
// A torn record at the end (a crash while appending) is cut off when the journal is opened. A P
// without a C or R after it is "pending": the caller finds out from the stream which of its entries
// arrived (resolve) before importing anything else.
//
// Held readings live in memory as one 3,600-bit bitmap per (user, hour) that holds any: about half a
// kilobyte per hour of someone's data, for the users of the current import only. Opening reads the
// file one record at a time (memory: the largest batch, import.batch entries).
//
// One process at a time: open() takes an exclusive lock on the file (a second import gets a clear
// error). Lifecycle: open, resolve a pending batch if any, then begin/commit per batch. One thread.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <set>
#include <unordered_map>
#include <vector>

#include "common/status.h"

namespace hrflow::import {

#pragma pack(push, 1)
struct JournalEntry {
  uint32_t user_id;
  uint32_t timestamp;  // epoch seconds (fits until 2106)
  uint16_t heart_rate;
  uint16_t activity;   // activity_id - 20000
};
#pragma pack(pop)
static_assert(sizeof(JournalEntry) == 12);

class Journal {
 public:
  // Open (creating) the journal and load what it holds for `users`.
  static Result<Journal> open(const std::filesystem::path& path, const std::set<int64_t>& users);
  Journal(Journal&&) noexcept;
  Journal& operator=(Journal&&) = delete;
  Journal(const Journal&) = delete;
  ~Journal();

  bool holds(uint32_t user, uint32_t ts) const;
  // Mark as held in memory (also used within one batch so a file's own duplicates count once).
  void hold(uint32_t user, uint32_t ts);
  void release(uint32_t user, uint32_t ts);

  // The batch a crashed run was sending (empty when none).
  const std::vector<JournalEntry>& pending() const { return pending_; }
  // Record which of the pending entries the stream holds; they become held.
  Status resolve(const std::vector<JournalEntry>& delivered);

  Status begin(const std::vector<JournalEntry>& batch);  // P, fsynced
  Status commit();                                       // C, fsynced

  uint64_t entries_loaded() const { return loaded_; }

 private:
  Journal() = default;
  Status append(char type, const JournalEntry* entries, uint32_t n);
  std::filesystem::path path_;
  int fd_ = -1;
  std::set<int64_t> users_;
  std::unordered_map<uint64_t, std::array<uint64_t, 57>> hours_;
  std::vector<JournalEntry> pending_;
  uint64_t loaded_ = 0;
};

}  // namespace hrflow::import
