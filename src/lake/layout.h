// Object keys of the lake, as the Confluent S3 sink's hourly time-based partitioner writes them:
//   topics/<topic>/year=YYYY/month=MM/day=dd/hour=HH/<topic>+<partition>+<startOffset, 10 digits>.json[.gz|.zst]
// and, for records that cannot be placed by time (not JSON, no valid `timestamp`):
//   errors/<topic>/partition=<p>/<topic>+<partition>+<startOffset, 10 digits>.json[.gz|.zst]
// format_key() and parse_key() are inverses (tested as a round trip). Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/compression.h"
#include "common/status.h"

namespace hrflow::lake {

// The lake's file compression is the common codec (common/compression.h).
using Compression = hrflow::Codec;

Result<Compression> parse_compression(std::string_view name);  // "none" | "gzip" | "zstd"
std::string_view extension(Compression c);                       // ".json", ".json.gz", ".json.zst"

struct FileKey {
  std::string topic;
  int32_t partition = 0;
  int64_t start_offset = 0;
  bool error_file = false;  // under errors/ (then hour_epoch is unused)
  int64_t hour_epoch = 0;   // event-time hour: epoch seconds / 3600
  Compression compression = Compression::kNone;

  bool operator==(const FileKey&) const = default;
};

std::string format_key(const FileKey& key);
// Fails (kInvalidArgument) on anything format_key() would not produce.
Result<FileKey> parse_key(std::string_view key);

// "topics/<topic>/" and "errors/<topic>/": prefixes to list a topic's data and error files.
std::string data_prefix(std::string_view topic);
std::string errors_prefix(std::string_view topic);

}  // namespace hrflow::lake
