// Parsing lake files into raw.heart_rate_stream's rows (internal to the lake source): the JSON-lines
// record parser that writes DuckDB data chunks directly (FileLoader), and the per-file steps around it
// (decompression with damage kept, parse into chunks, append). Used by lake.cpp (batch loads, single
// files) and lake_scan.cpp (the parallel table function). Touches no connection except where named.
// Thread-safety: one FileLoader per thread.
#pragma once

#include <duckdb.h>
#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <charconv>
#include <cmath>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "common/duckdb.h"
#include "common/duckdb_table_function.h"
#include "ingest/airbyte.h"
#include "ingest/lake.h"

namespace hrflow::ingest::detail {

namespace od = simdjson::ondemand;

// Columns of raw.heart_rate_stream, in order.
enum Col { kRawId, kExtractedAt, kMeta, kFileUrl, kFileModified, kUserId, kHeartRate, kTimestamp, kRecordMeta, kNumCols };

// Parses the JSON lines of one file into data chunks: fill() writes the next rows into a chunk given by
// the caller (DuckDB's output chunk in the scan), load() into chunks of its own for the appender.
// Touches no connection.
class FileLoader {
 public:
  FileLoader(db::ColumnTypes& types, UuidGenerator& uuids, bool error_file) : types_(types), uuids_(uuids), error_file_(error_file) {}
  FileLoader(const FileLoader&) = delete;
  FileLoader& operator=(const FileLoader&) = delete;

  // Start on `buf`, `len` bytes of content that must stay valid until the last fill(); simdjson's
  // padding is needed only past the last lines, which are copied to a padded scratch buffer (no copy of
  // the whole file to pad it). `trailing_error` is noted on the last line.
  void begin(const char* buf, size_t len, const std::string& url, int64_t modified_us, int64_t extracted_us,
             std::string trailing_error) {
    url_ = url;
    // Every row of a chunk comes from this one file: the URL column is a constant vector, not a copy per row.
    url_value_ = db::OwnedValue(duckdb_create_varchar_length(url_.data(), url_.size()));
    modified_us_ = modified_us;
    extracted_us_ = extracted_us;
    uuids_.start(extracted_us / 1000);  // the file's ids: one sequence, in line order
    buf_ = buf;
    len_ = len;
    pos_ = 0;
    line_no_ = where_line_ = 0;
    trailing_error_ = std::move(trailing_error);
  }

  // Parse the next lines into `chunk` (of the table's column types) until it is full or the content
  // ends; returns the rows written, 0 once the content is done.
  Result<uint64_t> fill(duckdb_data_chunk chunk, LakeStats& stats) {
    start_chunk(chunk);
    while (pos_ < len_ && rows_ < duckdb_vector_size()) {
      const char* nl = static_cast<const char*>(std::memchr(buf_ + pos_, '\n', len_ - pos_));
      size_t end = nl ? static_cast<size_t>(nl - buf_) : len_;
      ++line_no_;
      std::string_view line(buf_ + pos_, end - pos_);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      bool blank = std::all_of(line.begin(), line.end(), [](char c) { return c == ' ' || c == '\t'; });
      size_t capacity = len_ - pos_;
      pos_ = end + 1;
      if (blank) continue;
      if (line.size() + simdjson::SIMDJSON_PADDING > capacity) {
        scratch_.assign(line);
        scratch_.resize(line.size() + simdjson::SIMDJSON_PADDING, '\0');
        line = std::string_view(scratch_.data(), line.size());
        capacity = scratch_.size();
      }
      HRFLOW_TRY(add_line(line, capacity, end >= len_ ? trailing_error_ : std::string(), stats));
    }
    return rows_;
  }

  // Parse all of `buf` into chunks of its own, appended to `out`.
  Status load(const char* buf, size_t len, const std::string& url, int64_t modified_us, int64_t extracted_us,
              const std::string& trailing_error, LakeStats& stats, std::vector<db::DataChunk>& out) {
    begin(buf, len, url, modified_us, extracted_us, trailing_error);
    for (;;) {
      db::DataChunk chunk(types_);
      HRFLOW_ASSIGN_OR_RETURN(uint64_t rows, fill(chunk.get(), stats));
      if (rows == 0) return {};
      chunk.set_size(rows);
      out.push_back(std::move(chunk));
    }
  }

 private:
  // Pointers into the vectors of the chunk the next rows go to.
  void start_chunk(duckdb_data_chunk chunk) {
    rows_ = 0;
    auto vec = [&](int c) { return duckdb_data_chunk_get_vector(chunk, c); };
    raw_id_ = static_cast<duckdb_hugeint*>(duckdb_vector_get_data(vec(kRawId)));
    extracted_ = static_cast<int64_t*>(duckdb_vector_get_data(vec(kExtractedAt)));
    modified_ = static_cast<int64_t*>(duckdb_vector_get_data(vec(kFileModified)));
    user_id_ = static_cast<int64_t*>(duckdb_vector_get_data(vec(kUserId)));
    heart_rate_ = static_cast<double*>(duckdb_vector_get_data(vec(kHeartRate)));
    timestamp_ = static_cast<int64_t*>(duckdb_vector_get_data(vec(kTimestamp)));
    duckdb_vector_reference_value(vec(kFileUrl), url_value_.get());
    for (int c : {kMeta, kRecordMeta}) vectors_[c] = vec(c);
    // Every row starts valid (whatever a reused chunk held), so a row only marks what it lacks.
    for (int c : {kUserId, kHeartRate, kTimestamp, kRecordMeta}) {
      duckdb_vector_ensure_validity_writable(vec(c));
      validity_[c] = duckdb_vector_get_validity(vec(c));
      std::memset(validity_[c], 0xff, (duckdb_vector_size() + 63) / 64 * sizeof(uint64_t));
    }
  }

  void set_null(int col) { duckdb_validity_set_row_invalid(validity_[col], rows_); }
  void put_string(int col, std::string_view s) {
    duckdb_vector_assign_string_element_len(vectors_[col], rows_, s.data(), s.size());
  }
  // A string of static storage (as kCleanMeta), referenced rather than copied: it outlives any use
  // DuckDB makes of the chunk.
  void put_static_string(int col, std::string_view s) {
    auto* out = static_cast<duckdb_string_t*>(duckdb_vector_get_data(vectors_[col])) + rows_;
    *out = {};
    out->value.pointer.length = static_cast<uint32_t>(s.size());
    if (s.size() <= sizeof out->value.inlined.inlined) {
      std::memcpy(out->value.inlined.inlined, s.data(), s.size());
    } else {
      std::memcpy(out->value.pointer.prefix, s.data(), sizeof out->value.pointer.prefix);
      out->value.pointer.ptr = const_cast<char*>(s.data());
    }
  }

  // "url:line" of the current line, built only when a message needs it (most lines need none).
  const std::string& where() {
    if (where_line_ != line_no_) {
      where_ = fmt::format("{}:{}", url_, line_no_);
      where_line_ = line_no_;
    }
    return where_;
  }

  void note_change(std::string_view field, std::string_view change, std::string_view reason) {
    if (!changes_.empty()) changes_ += ',';
    changes_ += R"({"field":)";
    append_json_string(changes_, field);
    changes_ += R"(,"change":)";
    append_json_string(changes_, change);
    changes_ += R"(,"reason":)";
    append_json_string(changes_, reason);
    changes_ += '}';
  }
  void note_error(std::string_view message) {
    if (!errors_.empty()) errors_ += ',';
    append_json_string(errors_, message);
  }

  // A number field: JSON number, or a string holding one (coerced and noted).
  template <typename T>
  bool read_number(od::value v, std::string_view field, T& out) {
    od::json_type type;
    if (v.type().get(type)) {
      note_error(fmt::format("{}: field {} is not valid JSON", where(), field));
      return false;
    }
    if (type == od::json_type::number) {
      if constexpr (std::is_integral_v<T>) {
        int64_t i;
        if (!v.get_int64().get(i)) {
          out = i;
          return true;
        }
        double d;
        if (!v.get_double().get(d) && std::isfinite(d)) {
          out = static_cast<T>(std::llround(d));
          note_change(field, "COERCED", "SOURCE_FRACTION_ROUNDED");
          return true;
        }
      } else {
        double d;
        if (!v.get_double().get(d)) {
          out = d;
          return true;
        }
      }
      note_error(fmt::format("{}: field {} is out of range", where(), field));
      return false;
    }
    if (type == od::json_type::string) {
      std::string_view s;
      if (v.get_string().get(s)) {
        note_error(fmt::format("{}: field {} is not a valid string", where(), field));
        return false;
      }
      while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
      while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
      double d = 0;
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
      if (ec == std::errc() && p == s.data() + s.size() && std::isfinite(d)) {
        if constexpr (std::is_integral_v<T>) {
          out = static_cast<T>(std::llround(d));
        } else {
          out = d;
        }
        note_change(field, "COERCED", "SOURCE_STRING_TO_NUMBER");
        return true;
      }
      std::string shown(s.substr(0, 40));
      note_change(field, "NULLED", "SOURCE_NOT_A_NUMBER");
      note_error(fmt::format("{}: field {} is \"{}\", not a number", where(), field, shown));
      return false;
    }
    if (type == od::json_type::null) {
      note_error(fmt::format("{}: field {} is null", where(), field));
      return false;
    }
    note_change(field, "NULLED", "SOURCE_WRONG_TYPE");
    note_error(fmt::format("{}: field {} is not a number", where(), field));
    return false;
  }

  // A line of an errors/ file: {"partition":p,"offset":o,"error":"...","value":"..."|"value_base64":"..."}.
  // Loaded as a row with NULL fields, the sink's reason in the errors and the original value as record.
  Status add_rejected(std::string_view line, size_t capacity, const std::string& trailing_error, LakeStats& stats) {
    changes_.clear();
    errors_.clear();
    int64_t partition = -1, offset = -1;
    std::string_view reason = "unknown reason", value = line;
    od::document doc;
    od::object obj;
    auto err = parser_.iterate(line.data(), line.size(), capacity).get(doc);
    if (!err) err = doc.get_object().get(obj);
    if (!err) {
      for (auto field : obj) {
        std::string_view key;
        od::value v;
        if (field.unescaped_key().get(key) || field.value().get(v)) break;
        // A field of the wrong type keeps its default; the row is an error row either way.
        if (key == "partition" && v.get_int64().get(partition)) partition = -1;
        if (key == "offset" && v.get_int64().get(offset)) offset = -1;
        if (key == "error" && v.get_string().get(reason)) reason = "unknown reason";
        if ((key == "value" || key == "value_base64") && v.get_string().get(value)) value = line;
      }
    }
    // The views point into the parser's string buffer, which the next iterate() reuses: copy now.
    std::string record(value);
    note_error(fmt::format("{}: rejected by the lake sink (partition {}, offset {}): {}", where(), partition, offset, reason));
    if (!trailing_error.empty()) note_error(trailing_error);
    return emit(false, 0, false, 0, false, 0, {}, &record, stats);
  }

  Status add_line(std::string_view line, size_t capacity, const std::string& trailing_error, LakeStats& stats) {
    if (error_file_) return add_rejected(line, capacity, trailing_error, stats);
    changes_.clear();
    errors_.clear();
    bool have_user = false, have_hr = false, have_ts = false, have_meta = false;
    int64_t user = 0, ts = 0;
    double hr = 0;
    std::string_view meta;
    std::string meta_from_string;
    bool unreadable = false;
    od::document doc;
    auto err = parser_.iterate(line.data(), line.size(), capacity).get(doc);
    od::object obj;
    if (!err) err = doc.get_object().get(obj);
    if (!err) {
      for (auto field : obj) {
        std::string_view key;
        if ((err = field.unescaped_key().get(key))) break;
        od::value v;
        if ((err = field.value().get(v))) break;
        if (key == "user_id") {
          have_user = read_number(v, key, user);
        } else if (key == "heart_rate") {
          have_hr = read_number(v, key, hr);
        } else if (key == "timestamp") {
          have_ts = read_number(v, key, ts);
        } else if (key == "meta") {
          od::json_type type;
          if ((err = v.type().get(type))) break;
          if (type == od::json_type::object || type == od::json_type::array) {
            od::object mo;
            od::array ma;
            if (type == od::json_type::object ? (err = v.get_object().get(mo)) || (err = mo.raw_json().get(meta))
                                             : (err = v.get_array().get(ma)) || (err = ma.raw_json().get(meta))) {
              break;
            }
            have_meta = true;
          } else if (type == od::json_type::string) {
            // An object sent as a JSON string (the original producer's habit): keep it as JSON.
            std::string_view s;
            if ((err = v.get_string().get(s))) break;
            simdjson::dom::parser check;
            simdjson::padded_string ps(s);
            simdjson::dom::element e;
            if (!check.parse(ps).get(e) && (e.is_object() || e.is_array())) {
              meta_from_string.assign(s);
              note_change("meta", "COERCED", "SOURCE_STRING_TO_JSON");
            } else {
              meta_from_string.clear();
              append_json_string(meta_from_string, s);
            }
            meta = meta_from_string;
            have_meta = true;
          } else if (type != od::json_type::null) {
            std::string_view tok = v.raw_json_token();
            while (!tok.empty() && (tok.back() == ' ' || tok.back() == ',' || tok.back() == '}')) tok.remove_suffix(1);
            meta = tok;
            have_meta = true;
          }
        }
      }
    }
    if (err) {
      unreadable = true;
      have_user = have_hr = have_ts = have_meta = false;
      changes_.clear();
      errors_.clear();
      std::string msg = fmt::format("{}: unreadable JSON ({})", where(), simdjson::error_message(err));
      if (!trailing_error.empty()) msg += "; " + trailing_error;
      note_error(msg);
    } else {
      if (!have_user && errors_.find("user_id") == std::string::npos) note_error(fmt::format("{}: user_id is missing", where()));
      if (!have_hr && errors_.find("heart_rate") == std::string::npos) note_error(fmt::format("{}: heart_rate is missing", where()));
      if (!have_ts && errors_.find("timestamp") == std::string::npos) note_error(fmt::format("{}: timestamp is missing", where()));
      if (!trailing_error.empty()) note_error(trailing_error);
    }
    std::string record;
    if (unreadable) record.assign(line);
    return emit(have_user, user, have_hr, hr, have_ts, ts, have_meta ? std::optional<std::string_view>(meta) : std::nullopt,
                unreadable ? &record : nullptr, stats);
  }

  // Append one row; `record` (the original text, kept when it could not be read) goes into _airbyte_meta.
  Status emit(bool have_user, int64_t user, bool have_hr, double hr, bool have_ts, int64_t ts,
              std::optional<std::string_view> meta, std::string* record, LakeStats& stats) {
    uint64_t hi, lo;
    uuids_.next_bits(hi, lo);
    raw_id_[rows_] = duckdb_hugeint{lo, static_cast<int64_t>(hi ^ 0x8000000000000000ULL)};
    extracted_[rows_] = extracted_us_;
    modified_[rows_] = modified_us_;
    if (have_user) user_id_[rows_] = user; else set_null(kUserId);
    if (have_hr) heart_rate_[rows_] = hr; else set_null(kHeartRate);
    if (have_ts) timestamp_[rows_] = ts; else set_null(kTimestamp);
    if (meta) {
      put_string(kRecordMeta, *meta);
    } else {
      set_null(kRecordMeta);
    }
    if (changes_.empty() && errors_.empty()) {
      put_static_string(kMeta, kCleanMeta);
    } else {
      std::string m = R"({"changes":[)" + changes_ + R"(],"errors":[)" + errors_ + "]";
      if (record) {
        // Keep the record itself: nothing is dropped. Invalid UTF-8 bytes are replaced to stay valid JSON.
        std::string& text = *record;
        if (!simdjson::validate_utf8(text.data(), text.size())) {
          for (auto& c : text) {
            if (static_cast<unsigned char>(c) >= 0x80) c = '?';
          }
        }
        m += R"(,"record":)";
        append_json_string(m, text);
      }
      m += '}';
      put_string(kMeta, m);
      if (!errors_.empty()) ++stats.rows_with_errors;
      if (!changes_.empty() && errors_.empty()) ++stats.rows_coerced;
    }
    ++stats.rows;
    ++rows_;
    return {};
  }

  db::ColumnTypes& types_;
  const char* buf_ = nullptr;
  size_t len_ = 0, pos_ = 0;
  std::string trailing_error_;
  std::string scratch_;
  UuidGenerator& uuids_;
  bool error_file_;
  db::OwnedValue url_value_;
  uint64_t line_no_ = 0, where_line_ = 0;
  std::string where_;
  od::parser parser_;
  uint64_t rows_ = 0;
  std::string url_, changes_, errors_;
  int64_t modified_us_ = 0, extracted_us_ = 0;
  duckdb_hugeint* raw_id_ = nullptr;
  int64_t *extracted_ = nullptr, *modified_ = nullptr, *user_id_ = nullptr, *timestamp_ = nullptr;
  double* heart_rate_ = nullptr;
  uint64_t* validity_[kNumCols] = {};
  duckdb_vector vectors_[kNumCols] = {};
};

// One lake file parsed into data chunks on the parse thread, waiting to be appended.
struct ParsedFile {
  std::string url;
  uint64_t bytes = 0;  // as stored (compressed size for .gz/.zst)
  int64_t extracted_us = 0;
  std::vector<db::DataChunk> chunks;
  LakeStats stats;  // this file's rows and flags only
  std::string damage;  // "url: what" when a compressed file was truncated or damaged
};

Result<db::ColumnTypes> table_types(db::Connection& conn);
void prepare_content(std::string& content, lake::Compression compression, const std::string& url, bool& error_file,
                     std::string& trailing_error, LakeStats& stats);
Status parse_file(db::ColumnTypes& types, std::string& content, lake::Compression compression, const std::string& url,
                  int64_t modified_us, int64_t extracted_us, bool error_file, ParsedFile& out);
Status append_parsed(db::Connection& conn, ParsedFile& f, LakeStats& stats);

}  // namespace hrflow::ingest::detail
