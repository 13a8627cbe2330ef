#include "ingest/lake.h"

#include <spdlog/spdlog.h>
#include <simdjson.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstring>
#include <memory>
#include <mutex>
#include <cmath>
#include <optional>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "common/duckdb_table_function.h"
#include "common/progress.h"
#include "common/stop.h"
#include "ingest/airbyte.h"

namespace hrflow::ingest {
namespace {

namespace od = simdjson::ondemand;

// Stable 64-bit hash of a URL for the compacted history (FNV-1a).
uint64_t url_hash(std::string_view s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

// Columns of raw.heart_rate_stream, in order.
enum Col { kRawId, kExtractedAt, kMeta, kFileUrl, kFileModified, kUserId, kHeartRate, kTimestamp, kRecordMeta, kNumCols };

constexpr const char* kStreamDdl =
    "CREATE TABLE IF NOT EXISTS raw.heart_rate_stream (_airbyte_raw_id UUID, _airbyte_extracted_at TIMESTAMPTZ, "
    "_airbyte_meta JSON, _ab_source_file_url VARCHAR, _ab_source_file_last_modified TIMESTAMPTZ, user_id BIGINT, "
    "heart_rate DOUBLE, \"timestamp\" BIGINT, meta JSON)";

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

struct Todo {
  lake::ObjectInfo info;
  lake::FileKey key;
  std::string url;
  bool reload;
};

struct Known {
  int64_t modified_us = 0;
  uint64_t size = 0;
  std::string etag;
};

// Column names of raw.heart_rate_stream, in the order of Col.
constexpr const char* kColNames[kNumCols] = {"_airbyte_raw_id", "_airbyte_extracted_at", "_airbyte_meta",
                                             "_ab_source_file_url", "_ab_source_file_last_modified", "user_id",
                                             "heart_rate", "timestamp", "meta"};

// One batch of files as the table function hrflow_lake_files(<scan id>) yields them to
// `INSERT INTO raw.heart_rate_stream SELECT * FROM hrflow_lake_files(id)`. DuckDB runs the scan and the
// insert on its own threads (one file per thread at a time, taken in cursor order), so its parallel
// insert writes and compresses row groups on every core. The appender, by contrast, copied each chunk
// into a collection that one thread then inserted.
struct LakeScan {
  struct File {
    LakeStats stats;  // this file's rows and flags
    int64_t extracted_us = 0;
    std::string damage;  // "url: what" when a compressed file was truncated or damaged
    bool done = false;   // every row handed to the insert
  };
  lake::ObjectStore& store;
  const std::vector<Todo>& todo;
  size_t begin, end;  // this batch: todo[begin, end)
  db::ColumnTypes& types;
  const Clock& clock;
  Progress& progress;
  uint64_t rows_before;  // rows loaded by earlier batches, for the progress line
  const StopToken& stop;
  std::vector<File> files = std::vector<File>(end - begin);
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;  // guards progress and what follows
  uint64_t rows = 0, files_done = 0;
};

// Scans in flight, by id: the SQL names a scan by its id, never by an address.
std::mutex g_scans_mu;
std::unordered_map<uint64_t, LakeScan*> g_scans;
uint64_t g_next_scan_id = 1;

// The scan's id for the query, withdrawn when it goes out of scope.
class ScanRegistration {
 public:
  explicit ScanRegistration(LakeScan& scan) {
    std::lock_guard lock(g_scans_mu);
    id_ = g_next_scan_id++;
    g_scans[id_] = &scan;
  }
  ~ScanRegistration() {
    std::lock_guard lock(g_scans_mu);
    g_scans.erase(id_);
  }
  ScanRegistration(const ScanRegistration&) = delete;
  ScanRegistration& operator=(const ScanRegistration&) = delete;
  uint64_t id() const { return id_; }

 private:
  uint64_t id_;
};

// A DuckDB thread's scanning state: the file it is on, decompressed, and the loader parsing it chunk
// by chunk straight into DuckDB's output chunks.
struct ScanThread {
  size_t file = SIZE_MAX;  // index into LakeScan::files
  std::string content;
  std::optional<FileLoader> loader;
  UuidGenerator uuids;
};

void scan_bind(duckdb_bind_info info) {
  uint64_t id = duckdb_get_uint64(db::OwnedValue(duckdb_bind_get_parameter(info, 0)).get());
  LakeScan* scan = nullptr;
  {
    std::lock_guard lock(g_scans_mu);
    if (auto it = g_scans.find(id); it != g_scans.end()) scan = it->second;
  }
  if (!scan) return duckdb_bind_set_error(info, "hrflow_lake_files: no such scan (it is only used by hrflow sync lake)");
  for (uint64_t c = 0; c < scan->types.size(); ++c) duckdb_bind_add_result_column(info, kColNames[c], scan->types.data()[c]);
  duckdb_bind_set_bind_data(info, scan, nullptr);
}

void scan_init(duckdb_init_info info) {
  auto* scan = static_cast<LakeScan*>(duckdb_init_get_bind_data(info));
  duckdb_init_set_max_threads(info, std::max<size_t>(scan->end - scan->begin, 1));
}

void scan_local_init(duckdb_init_info info) {
  duckdb_init_set_init_data(info, new ScanThread, [](void* p) { delete static_cast<ScanThread*>(p); });
}

// Read the scan's file `k` and start parsing it on `t`.
Status scan_file(LakeScan& scan, size_t k, ScanThread& t) {
  const Todo& todo = scan.todo[scan.begin + k];
  // Into the thread's buffer of the previous file: no fresh memory to fault in per file.
  if (auto st = scan.store.get_into(todo.info.key, t.content); !st.ok()) {
    return st.error().with_context(fmt::format("reading {}", todo.url));
  }
  LakeScan::File& f = scan.files[k];
  f.stats.bytes = todo.info.size;
  f.extracted_us = scan.clock.now_ms() * 1000;
  bool error_file = todo.key.error_file;
  std::string trailing_error;
  prepare_content(t.content, todo.key.compression, todo.url, error_file, trailing_error, f.stats);
  f.damage = trailing_error;
  t.loader.emplace(scan.types, t.uuids, error_file);
  t.loader->begin(t.content.data(), t.content.size(), todo.url, todo.info.last_modified_ms * 1000, f.extracted_us,
                  std::move(trailing_error));
  t.file = k;
  return {};
}

// Parses the next rows of this thread's file into `out`, taking the next file of the batch when it is
// done. An empty output ends this thread's part of the scan.
void scan_function(duckdb_function_info info, duckdb_data_chunk out) {
  auto* scan = static_cast<LakeScan*>(duckdb_function_get_bind_data(info));
  auto* t = static_cast<ScanThread*>(duckdb_function_get_local_init_data(info));
  try {
    for (;;) {
      if (t->loader) {
        LakeScan::File& f = scan->files[t->file];
        auto rows = t->loader->fill(out, f.stats);
        if (!rows.ok()) {
          scan->failed = true;
          auto e = rows.error().with_context(fmt::format("loading {}", scan->todo[scan->begin + t->file].url));
          return duckdb_function_set_error(info, e.message.c_str());
        }
        if (*rows > 0) return duckdb_data_chunk_set_size(out, *rows);
        // Called again after the file's last rows: all of them went to the insert.
        f.done = true;
        t->loader.reset();
        std::lock_guard lock(scan->mu);
        scan->rows += f.stats.rows;
        ++scan->files_done;
        scan->progress.set_detail(fmt::format("file {}/{}", scan->begin + scan->files_done, scan->todo.size()));
        scan->progress.update(scan->rows_before + scan->rows);
      }
      size_t k = scan->failed || scan->stop.stop_requested() ? SIZE_MAX : scan->next++;
      if (k >= scan->end - scan->begin) return duckdb_data_chunk_set_size(out, 0);
      if (auto st = scan_file(*scan, k, *t); !st.ok()) {
        scan->failed = true;
        return duckdb_function_set_error(info, st.error().message.c_str());
      }
    }
  } catch (const std::exception& e) {
    scan->failed = true;
    duckdb_function_set_error(info, fmt::format("hrflow_lake_files: {}", e.what()).c_str());
  }
}

// Make hrflow_lake_files(UBIGINT scan id) known to the database (once; later calls find it there).
Status register_scan_function(db::Connection& conn) {
  return db::register_table_function(conn, {"hrflow_lake_files", {DUCKDB_TYPE_UBIGINT}, scan_bind, scan_init,
                                            scan_local_init, scan_function});
}

// Files per transaction at most (the other bound is LakeOptions::batch_bytes).
constexpr size_t kBatchFiles = 1000;

// Load todo[begin, end) in one transaction: the old rows of changed files deleted, the rows inserted by
// DuckDB's parallel insert from hrflow_lake_files, the history entries written, then one commit. Returns
// false (nothing committed) when a stop was requested before every file was scanned: a batch is loaded
// whole or not at all.
Result<bool> load_batch(db::Connection& conn, db::ColumnTypes& types, lake::ObjectStore& store,
                        const std::vector<Todo>& todo, size_t begin, size_t end, const Clock& clock,
                        Progress& progress, LakeStats& stats, std::unordered_map<std::string, Known>& history,
                        const StopToken& stop) {
  HRFLOW_ASSIGN_OR_RETURN(auto txn, db::Transaction::begin(conn));
  std::vector<uint64_t> replaced(end - begin, 0);
  for (size_t i = begin; i < end; ++i) {
    if (!todo[i].reload) continue;
    // The file changed under the same name: its new content replaces the rows of the old one.
    const std::string url = db::quote_literal(todo[i].url);
    HRFLOW_ASSIGN_OR_RETURN(auto old, conn.scalar(fmt::format(
                                          "SELECT count(*) FROM raw.heart_rate_stream WHERE _ab_source_file_url = {}", url)));
    replaced[i - begin] = std::stoull(old.value_or("0"));
    HRFLOW_TRY(conn.execute(fmt::format("DELETE FROM raw.heart_rate_stream WHERE _ab_source_file_url = {}", url)));
    HRFLOW_TRY(conn.execute(fmt::format("DELETE FROM raw.{} WHERE url_hash = {}", kLakeCompactedTable, url_hash(todo[i].url))));
  }
  LakeScan scan{store, todo, begin, end, types, clock, progress, stats.rows, stop};
  {
    ScanRegistration reg(scan);
    HRFLOW_TRY(conn.execute(
        fmt::format("INSERT INTO raw.heart_rate_stream SELECT * FROM hrflow_lake_files({}::UBIGINT)", reg.id())));
  }
  for (const auto& f : scan.files) {
    if (!f.done) return false;  // stopped: the transaction rolls back
  }
  std::string values;
  for (size_t i = begin; i < end; ++i) {
    const Todo& t = todo[i];
    const LakeScan::File& f = scan.files[i - begin];
    values += fmt::format("{}({}, make_timestamptz({}::BIGINT), {}, {}, {}, {}, make_timestamptz({}::BIGINT))",
                          values.empty() ? "" : ", ", db::quote_literal(t.url), t.info.last_modified_ms * 1000,
                          t.info.size, db::quote_literal(t.info.etag), f.stats.rows, f.stats.rows_with_errors,
                          f.extracted_us);
  }
  HRFLOW_TRY(conn.execute(fmt::format("INSERT OR REPLACE INTO raw.{} VALUES {}", kLakeHistoryTable, values)));
  HRFLOW_TRY(txn.commit());

  for (size_t i = begin; i < end; ++i) {
    const Todo& t = todo[i];
    const LakeScan::File& f = scan.files[i - begin];
    history[t.url] = Known{t.info.last_modified_ms * 1000, t.info.size, t.info.etag};
    if (!f.damage.empty()) spdlog::warn("sync lake: {}", f.damage);
    if (f.stats.files_empty) spdlog::info("sync lake: {} is empty", t.url);
    if (t.reload) spdlog::warn("sync lake: {} changed since it was loaded; its rows were replaced by the new content", t.url);
    (t.reload ? stats.files_reloaded : stats.files_loaded) += 1;
    stats.bytes += f.stats.bytes;
    stats.rows += f.stats.rows;
    stats.rows_with_errors += f.stats.rows_with_errors;
    stats.rows_coerced += f.stats.rows_coerced;
    stats.rows_replaced += replaced[i - begin];
    stats.files_damaged += f.stats.files_damaged;
    stats.files_empty += f.stats.files_empty;
  }
  return true;
}

}  // namespace

Status ensure_lake_tables(db::Connection& conn) {
  HRFLOW_TRY(conn.execute("SET TimeZone = 'UTC'"));
  HRFLOW_TRY(conn.execute(kStreamDdl));
  HRFLOW_TRY(conn.execute(fmt::format(
      "CREATE TABLE IF NOT EXISTS raw.{} (url VARCHAR PRIMARY KEY, last_modified TIMESTAMPTZ, size BIGINT, "
      "etag VARCHAR, rows BIGINT, error_rows BIGINT, loaded_at TIMESTAMPTZ)",
      kLakeHistoryTable)));
  return conn.execute(fmt::format(
      "CREATE TABLE IF NOT EXISTS raw.{} (url_hash UBIGINT PRIMARY KEY, last_modified TIMESTAMPTZ, size BIGINT)",
      kLakeCompactedTable));
}

Status load_lake_content(db::Connection& conn, std::string& content, lake::Compression compression,
                         const std::string& url, int64_t modified_us, int64_t extracted_us, LakeStats& stats,
                         bool error_file) {
  HRFLOW_ASSIGN_OR_RETURN(auto types, table_types(conn));
  ParsedFile parsed;
  HRFLOW_TRY(parse_file(types, content, compression, url, modified_us, extracted_us, error_file, parsed));
  return append_parsed(conn, parsed, stats);
}

std::vector<size_t> plan_batches(const std::vector<uint64_t>& sizes, uint64_t batch_bytes, size_t max_files) {
  std::vector<size_t> ends;
  uint64_t rest = 0;
  for (uint64_t s : sizes) rest += s;
  for (size_t begin = 0; begin < sizes.size();) {
    size_t end = begin;
    uint64_t bytes = 0;
    while (end < sizes.size() && end - begin < max_files && (end == begin || bytes < batch_bytes)) bytes += sizes[end++];
    rest -= bytes;
    if (rest < batch_bytes / 2 && sizes.size() - begin <= max_files) {
      end = sizes.size();
      rest = 0;
    }
    ends.push_back(end);
    begin = end;
  }
  return ends;
}

Result<LakeStats> LakeSource::run(lake::ObjectStore& store, db::Database& database, const LakeOptions& o,
                                  const Clock& clock) {
  LakeStats stats;
  int64_t t0 = clock.monotonic_ms();
  HRFLOW_ASSIGN_OR_RETURN(auto conn, db::Connection::connect(database));
  HRFLOW_TRY(conn.execute("CREATE SCHEMA IF NOT EXISTS raw"));
  HRFLOW_TRY(ensure_lake_tables(conn));

  std::unordered_map<std::string, Known> history;
  {
    HRFLOW_ASSIGN_OR_RETURN(auto r, conn.query(fmt::format(
                                        "SELECT url, epoch_us(last_modified), size, coalesce(etag, '') FROM raw.{}",
                                        kLakeHistoryTable)));
    for (uint64_t i = 0; i < r.row_count(); ++i) {
      history[*r.get_string(i, 0)] = {r.get_int64(i, 1).value_or(0), static_cast<uint64_t>(r.get_int64(i, 2).value_or(0)),
                                      r.get_string(i, 3).value_or("")};
    }
  }
  std::unordered_map<uint64_t, Known> compacted;
  {
    HRFLOW_ASSIGN_OR_RETURN(auto r, conn.query(fmt::format(
                                        "SELECT CAST(url_hash AS VARCHAR), epoch_us(last_modified), size FROM raw.{}",
                                        kLakeCompactedTable)));
    for (uint64_t i = 0; i < r.row_count(); ++i) {
      compacted[std::stoull(*r.get_string(i, 0))] = {r.get_int64(i, 1).value_or(0),
                                                      static_cast<uint64_t>(r.get_int64(i, 2).value_or(0)), ""};
    }
  }

  HRFLOW_ASSIGN_OR_RETURN(auto objects, store.list(""));
  std::vector<Todo> todo;
  for (auto& obj : objects) {
    if (obj.key.starts_with("_hrflow/")) continue;  // the sink's bookkeeping (replay markers)
    ++stats.files_listed;
    auto key = lake::parse_key(obj.key);
    if (!key.ok()) {
      stats.skipped.push_back(key.error().message);
      continue;
    }
    std::string url = store.url_of(obj.key);
    int64_t modified_us = obj.last_modified_ms * 1000;
    if (auto it = history.find(url); it != history.end()) {
      const Known& k = it->second;
      if (k.modified_us == modified_us && k.size == obj.size && k.etag == obj.etag) {
        ++stats.files_unchanged;
        continue;
      }
      todo.push_back({obj, *key, url, true});
    } else if (auto ct = compacted.find(url_hash(url)); ct != compacted.end()) {
      if (ct->second.modified_us == modified_us && ct->second.size == obj.size) {
        ++stats.files_unchanged;
        continue;
      }
      todo.push_back({obj, *key, url, true});
    } else {
      todo.push_back({obj, *key, url, false});  // new, whatever its modification time
    }
  }
  // Cursor order: oldest modification first, so `_ab_source_file_last_modified` grows as files land.
  std::sort(todo.begin(), todo.end(), [](const Todo& a, const Todo& b) {
    return std::tie(a.info.last_modified_ms, a.info.key) < std::tie(b.info.last_modified_ms, b.info.key);
  });

  // Files are loaded in batches, one transaction each: the rows and the history entries of a batch
  // commit together (a crash reloads the whole batch, never part of it). Batching spares a commit (a
  // WAL sync) per file, which dominates when the sink writes many small files, and partly filled row
  // groups, which each commit leaves for DuckDB's checkpoints to rewrite.
  Progress progress("sync lake", "rows", 0, o.progress);
  if (!todo.empty()) {
    HRFLOW_TRY(register_scan_function(conn));
    // DuckDB's insert runs on all its threads only when it need not keep the scan's order; each file is
    // still scanned by one thread, so its rows stay together and in order. This connection's setting only.
    HRFLOW_TRY(conn.execute("SET SESSION preserve_insertion_order = false"));
    HRFLOW_ASSIGN_OR_RETURN(auto types, table_types(conn));
    std::vector<uint64_t> sizes;
    for (const Todo& t : todo) sizes.push_back(t.info.size);
    size_t begin = 0;
    for (size_t end : plan_batches(sizes, o.batch_bytes, kBatchFiles)) {
      if (o.stop.stop_requested()) break;
      HRFLOW_ASSIGN_OR_RETURN(bool whole,
                              load_batch(conn, types, store, todo, begin, end, clock, progress, stats, history, o.stop));
      if (!whole) break;
      begin = end;
    }
  }
  progress.finish();

  // Compaction when the history is full: entries older than (cursor - days) keep only a URL hash.
  if (static_cast<int64_t>(history.size()) > o.history_max_files) {
    int64_t cursor = 0;
    for (const auto& [url, k] : history) cursor = std::max(cursor, k.modified_us);
    int64_t cutoff = cursor - o.days_to_sync_if_history_full * 86400LL * 1000000LL;
    std::vector<std::pair<std::string, Known>> old;
    for (const auto& [url, k] : history) {
      if (k.modified_us < cutoff) old.emplace_back(url, k);
    }
    if (!old.empty()) {
      HRFLOW_ASSIGN_OR_RETURN(auto txn, db::Transaction::begin(conn));
      for (const auto& [url, k] : old) {
        HRFLOW_TRY(conn.execute(fmt::format("INSERT OR REPLACE INTO raw.{} VALUES ({}, make_timestamptz({}::BIGINT), {})",
                                            kLakeCompactedTable, url_hash(url), k.modified_us, k.size)));
        HRFLOW_TRY(conn.execute(fmt::format("DELETE FROM raw.{} WHERE url = {}", kLakeHistoryTable, db::quote_literal(url))));
      }
      HRFLOW_TRY(txn.commit());
      spdlog::info("sync lake: history full ({} files); compacted {} entries older than {} days before the cursor",
                   history.size(), old.size(), o.days_to_sync_if_history_full);
    }
  }
  stats.seconds = static_cast<double>(clock.monotonic_ms() - t0) / 1000.0;
  return stats;
}

}  // namespace hrflow::ingest
