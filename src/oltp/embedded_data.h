// The reference data files (names, streets, cities, address formats, activities, ISO 3166-1 country
// codes) compiled into the binary at build time (cmake/embed.cmake), so hrflow needs no data directory.
// Immutable; safe to read from any thread.
#pragma once

#include <string_view>

#include "common/embedded.h"
#include "common/status.h"

namespace hrflow::oltp {

const EmbeddedFiles& embedded_files();

// The content of the embedded file `name` (e.g. "names.csv"), or an error.
inline Result<std::string_view> embedded_file(std::string_view name) {
  if (const EmbeddedFile* f = embedded_files().find(name)) return f->bytes;
  return Error{ErrorKind::kInternal, fmt::format("no embedded data file '{}'", name), false};
}

}  // namespace hrflow::oltp
