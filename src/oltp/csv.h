// A small RFC 4180 CSV reader (quoted fields, doubled quotes, newlines inside quotes) over text in
// memory, tracking line numbers for error messages. Used for the embedded reference data and for
// reading `hrflow oltp export` files back. Not thread-safe; one reader per text.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace hrflow::oltp {

class CsvReader {
 public:
  // `origin` names the text in errors ("users.csv").
  CsvReader(std::string_view text, std::string origin) : text_(text), origin_(std::move(origin)) {}

  // Read the next record into `fields`; false at the end of the text.
  Result<bool> next(std::vector<std::string>& fields);
  // Line on which the last record returned by next() started (1-based).
  size_t line() const { return record_line_; }
  const std::string& origin() const { return origin_; }
  // "users.csv:12"
  std::string where() const { return origin_ + ":" + std::to_string(record_line_); }

 private:
  std::string_view text_;
  std::string origin_;
  size_t pos_ = 0, line_ = 1, record_line_ = 0;
};

// Quote a field for CSV output when it needs it.
std::string csv_quote(std::string_view field);

// Index of `name` in a header row, or an error naming the file and the missing column.
Result<size_t> csv_column(const std::vector<std::string>& header, std::string_view name, const std::string& origin);

}  // namespace hrflow::oltp
