// SQL text quoting shared by the DuckDB and PostgreSQL code (both follow the SQL standard here):
// identifiers in double quotes, literals in single quotes, the quote character doubled inside.
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace hrflow {

inline std::string quote_with(std::string_view text, char quote) {
  std::string out(1, quote);
  out.reserve(text.size() + 2);
  for (char c : text) {
    if (c == quote) out += quote;
    out += c;
  }
  return out + quote;
}
inline std::string quote_identifier(std::string_view name) { return quote_with(name, '"'); }  // my ""slot""
inline std::string quote_literal(std::string_view value) { return quote_with(value, '\''); }  // 'it''s'

}  // namespace hrflow
