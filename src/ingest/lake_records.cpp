#include "ingest/lake_records.h"

namespace hrflow::ingest::detail {

// The column types of raw.heart_rate_stream as the appender expects them (JSON columns keep the alias, so
// appending our chunks casts nothing).
Result<db::ColumnTypes> table_types(db::Connection& conn) {
  HRFLOW_ASSIGN_OR_RETURN(auto app, conn.appender("raw", "heart_rate_stream"));
  return app.column_types();
}

// Turn one stored file (`content`, compressed as `compression`) into the text to parse, in place: a
// damaged or truncated stream keeps what could be read and sets `trailing_error` (noted on the last
// line); one that yields nothing at all becomes a single "{}" line carrying the error, so the file leaves
// a row that says so rather than nothing. Counts the file as damaged or empty in `stats`.
void prepare_content(std::string& content, lake::Compression compression, const std::string& url, bool& error_file,
                     std::string& trailing_error, LakeStats& stats) {
  trailing_error.clear();
  if (compression != lake::Compression::kNone) {
    Decompressed d = decompress(content, compression);
    content = std::move(d.data);
    if (d.damaged()) trailing_error = fmt::format("{}: {}", url, *d.damage);
  }
  if (!trailing_error.empty()) {
    ++stats.files_damaged;
    if (content.empty()) {
      content = "{}";
      error_file = false;
    }
  } else if (content.empty()) {
    ++stats.files_empty;
  }
}

// Decompress and parse one file into `out` (no connection involved; `content` is used as scratch space).
Status parse_file(db::ColumnTypes& types, std::string& content, lake::Compression compression, const std::string& url,
                  int64_t modified_us, int64_t extracted_us, bool error_file, ParsedFile& out) {
  out.url = url;
  out.extracted_us = extracted_us;
  std::string trailing_error;
  prepare_content(content, compression, url, error_file, trailing_error, out.stats);
  thread_local UuidGenerator uuids;
  FileLoader loader(types, uuids, error_file);
  HRFLOW_TRY(loader.load(content.data(), content.size(), url, modified_us, extracted_us, trailing_error, out.stats,
                         out.chunks));
  out.damage = trailing_error;
  return {};
}

// Append a parsed file's rows (inside the caller's transaction if one is open) and add its counts to `stats`.
Status append_parsed(db::Connection& conn, ParsedFile& f, LakeStats& stats) {
  HRFLOW_ASSIGN_OR_RETURN(auto app, conn.appender("raw", "heart_rate_stream"));
  for (auto& chunk : f.chunks) HRFLOW_TRY(app.append_chunk(chunk.get()));
  HRFLOW_TRY(app.close());
  f.chunks.clear();
  if (!f.damage.empty()) spdlog::warn("sync lake: {}", f.damage);
  if (f.stats.files_empty) spdlog::info("sync lake: {} is empty", f.url);
  stats.rows += f.stats.rows;
  stats.rows_with_errors += f.stats.rows_with_errors;
  stats.rows_coerced += f.stats.rows_coerced;
  stats.files_damaged += f.stats.files_damaged;
  stats.files_empty += f.stats.files_empty;
  return {};
}

}  // namespace hrflow::ingest::detail
