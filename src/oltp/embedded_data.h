// The reference data files (names, streets, cities, address formats, activities, ISO 3166-1 country
// codes) compiled into the binary at build time by embed.cmake, so hrflow needs no data directory.
// Immutable; safe to read from any thread.
#pragma once

#include <string_view>
#include <vector>

#include "common/status.h"

namespace hrflow::oltp {

struct EmbeddedFile {
  std::string_view name;     // e.g. "names.csv", "country_codes.csv"
  std::string_view content;  // the file's bytes
};

const std::vector<EmbeddedFile>& embedded_files();

// The content of the embedded file `name`, or kNotFound.
inline Result<std::string_view> embedded_file(std::string_view name) {
  for (const auto& f : embedded_files()) {
    if (f.name == name) return f.content;
  }
  return Error{ErrorKind::kInternal, fmt::format("no embedded data file '{}'", name), false};
}

}  // namespace hrflow::oltp
