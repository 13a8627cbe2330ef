// The one gzip/zstd codec of hrflow: lake files (sink writes, sync reads), the stream's size
// comparisons, tests. Compression is deterministic (gzip without a time in its header), so the same
// bytes compress to the same file and rewrites after a crash are byte-identical.
//
// Decompression never throws away what could be read: a truncated or damaged stream gives the bytes
// decoded before the damage plus a `damage` text saying what is wrong (sync loads those rows and
// records the damage; callers that need all-or-nothing use `decompress_all`). Concatenated gzip
// members and zstd frames are read in sequence, as the formats allow.
// Thread-safety: free functions without shared state.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace hrflow {

enum class Codec { kNone, kGzip, kZstd };

// Default levels: zstd 3 and gzip 6 (each library's default).
Result<std::string> compress(std::string_view data, Codec codec, int level = 0);

struct Decompressed {
  std::string data;                   // everything decoded (all of it, or up to the damage)
  std::optional<std::string> damage;  // set when the input was truncated or damaged: what and where
  bool damaged() const { return damage.has_value(); }
};
Decompressed decompress(std::string_view data, Codec codec);
// All or an error (kCorrupt) naming the damage.
Result<std::string> decompress_all(std::string_view data, Codec codec);

}  // namespace hrflow
