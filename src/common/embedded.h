// Files compiled into the binary (cmake/embed.cmake: web UI, dashboard, reference data, the warehouse
// project, built-in tests), so an installed hrflow works from any directory. Immutable after start;
// safe to read from any thread.
#pragma once

#include <string_view>
#include <vector>

namespace hrflow {

struct EmbeddedFile {
  std::string_view path;   // as embedded, e.g. "index.html", "models/staging/stg_users.sql"
  std::string_view bytes;  // the file's content
};

struct EmbeddedFiles {
  std::vector<EmbeddedFile> files;
  // The file at `path`, or nullptr.
  const EmbeddedFile* find(std::string_view path) const {
    for (const auto& f : files) {
      if (f.path == path) return &f;
    }
    return nullptr;
  }
};

// The HTTP content type of a file by its extension (text types in UTF-8).
inline std::string_view content_type_of(std::string_view path) {
  auto ends = [&](std::string_view ext) { return path.size() >= ext.size() && path.substr(path.size() - ext.size()) == ext; };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js") || ends(".mjs")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".json")) return "application/json";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  return "application/octet-stream";
}

}  // namespace hrflow
