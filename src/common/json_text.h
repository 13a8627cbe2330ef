// Writing JSON text by hand on hot paths (lake records, Airbyte metadata): a string as a JSON literal.
#pragma once

#include <string>
#include <string_view>

#include <fmt/format.h>

namespace hrflow {

// Append `s` to `out` as a JSON string literal (quotes and escapes; control characters as \uXXXX).
inline void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) out += fmt::format("\\u{:04x}", c);
        else out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
}

}  // namespace hrflow
