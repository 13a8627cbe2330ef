#include "ingest/lake.h"

#include <spdlog/spdlog.h>
#include <simdjson.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "common/cli.h"
#include "common/progress.h"
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

// RAII over a DuckDB data chunk and its column types.
class Chunk {
 public:
  explicit Chunk(db::Appender& app) {
    uint64_t n = app.column_count();
    for (uint64_t i = 0; i < n; ++i) types_.push_back(app.column_type(i));
    chunk_ = duckdb_create_data_chunk(types_.data(), types_.size());
  }
  ~Chunk() {
    duckdb_destroy_data_chunk(&chunk_);
    for (auto& t : types_) duckdb_destroy_logical_type(&t);
  }
  Chunk(const Chunk&) = delete;
  Chunk& operator=(const Chunk&) = delete;
  duckdb_data_chunk get() const { return chunk_; }
  duckdb_vector vec(uint64_t col) const { return duckdb_data_chunk_get_vector(chunk_, col); }

 private:
  std::vector<duckdb_logical_type> types_;
  duckdb_data_chunk chunk_ = nullptr;
};

// Columns of raw.heart_rate_stream, in order.
enum Col { kRawId, kExtractedAt, kMeta, kFileUrl, kFileModified, kUserId, kHeartRate, kTimestamp, kRecordMeta, kNumCols };

constexpr const char* kStreamDdl =
    "CREATE TABLE IF NOT EXISTS raw.heart_rate_stream (_airbyte_raw_id UUID, _airbyte_extracted_at TIMESTAMPTZ, "
    "_airbyte_meta JSON, _ab_source_file_url VARCHAR, _ab_source_file_last_modified TIMESTAMPTZ, user_id BIGINT, "
    "heart_rate DOUBLE, \"timestamp\" BIGINT, meta JSON)";

// Parses the JSON lines of one file into data chunks and appends them.
class FileLoader {
 public:
  FileLoader(db::Appender& app, UuidGenerator& uuids, bool error_file)
      : app_(app), chunk_(app), uuids_(uuids), error_file_(error_file) {
    bind();
  }
  ~FileLoader() {
    if (url_value_) duckdb_destroy_value(&url_value_);
  }
  FileLoader(const FileLoader&) = delete;
  FileLoader& operator=(const FileLoader&) = delete;

  // `buf` holds `len` bytes of content followed by at least SIMDJSON_PADDING bytes.
  Status load(const char* buf, size_t len, size_t capacity, const std::string& url, int64_t modified_us,
              int64_t extracted_us, const std::string& trailing_error, LakeStats& stats) {
    url_ = url;
    // Every row of a chunk comes from this one file: the URL column is a constant vector, not a copy per row.
    if (url_value_) duckdb_destroy_value(&url_value_);
    url_value_ = duckdb_create_varchar_length(url_.data(), url_.size());
    duckdb_vector_reference_value(chunk_.vec(kFileUrl), url_value_);
    modified_us_ = modified_us;
    extracted_us_ = extracted_us;
    size_t pos = 0;
    uint64_t line_no = 0;
    while (pos < len) {
      const char* nl = static_cast<const char*>(std::memchr(buf + pos, '\n', len - pos));
      size_t end = nl ? static_cast<size_t>(nl - buf) : len;
      ++line_no;
      std::string_view line(buf + pos, end - pos);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      bool blank = std::all_of(line.begin(), line.end(), [](char c) { return c == ' ' || c == '\t'; });
      if (!blank) {
        bool last = end >= len;
        HRFLOW_TRY(add_line(line, capacity - pos, line_no, last ? trailing_error : std::string(), stats));
      }
      pos = end + 1;
    }
    return flush();
  }

  Status flush() {
    if (rows_ == 0) return {};
    duckdb_data_chunk_set_size(chunk_.get(), rows_);
    HRFLOW_TRY(app_.append_chunk(chunk_.get()));
    duckdb_data_chunk_reset(chunk_.get());
    rows_ = 0;
    bind();
    return {};
  }

 private:
  void bind() {
    raw_id_ = static_cast<duckdb_hugeint*>(duckdb_vector_get_data(chunk_.vec(kRawId)));
    extracted_ = static_cast<int64_t*>(duckdb_vector_get_data(chunk_.vec(kExtractedAt)));
    modified_ = static_cast<int64_t*>(duckdb_vector_get_data(chunk_.vec(kFileModified)));
    user_id_ = static_cast<int64_t*>(duckdb_vector_get_data(chunk_.vec(kUserId)));
    heart_rate_ = static_cast<double*>(duckdb_vector_get_data(chunk_.vec(kHeartRate)));
    timestamp_ = static_cast<int64_t*>(duckdb_vector_get_data(chunk_.vec(kTimestamp)));
    if (url_value_) duckdb_vector_reference_value(chunk_.vec(kFileUrl), url_value_);
    for (int c : {kUserId, kHeartRate, kTimestamp, kRecordMeta}) {
      duckdb_vector_ensure_validity_writable(chunk_.vec(c));
      validity_[c] = duckdb_vector_get_validity(chunk_.vec(c));
    }
  }

  void set_null(int col) { duckdb_validity_set_row_invalid(validity_[col], rows_); }
  void set_valid(int col) { duckdb_validity_set_row_valid(validity_[col], rows_); }
  void put_string(int col, std::string_view s) {
    duckdb_vector_assign_string_element_len(chunk_.vec(col), rows_, s.data(), s.size());
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

  Status add_line(std::string_view line, size_t capacity, uint64_t line_no, const std::string& trailing_error,
                  LakeStats& stats) {
    line_no_ = line_no;
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
    if (have_user) set_valid(kUserId), user_id_[rows_] = user; else set_null(kUserId);
    if (have_hr) set_valid(kHeartRate), heart_rate_[rows_] = hr; else set_null(kHeartRate);
    if (have_ts) set_valid(kTimestamp), timestamp_[rows_] = ts; else set_null(kTimestamp);
    if (meta) {
      set_valid(kRecordMeta);
      put_string(kRecordMeta, *meta);
    } else {
      set_null(kRecordMeta);
    }
    if (changes_.empty() && errors_.empty()) {
      put_string(kMeta, kCleanMeta);
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
    if (++rows_ == duckdb_vector_size()) return flush();
    return {};
  }

  db::Appender& app_;
  Chunk chunk_;
  UuidGenerator& uuids_;
  bool error_file_;
  duckdb_value url_value_ = nullptr;
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
};

struct Known {
  int64_t modified_us = 0;
  uint64_t size = 0;
  std::string etag;
};

}  // namespace

std::string decompress(std::string_view data, lake::Compression c, std::string& error) {
  std::string out;
  error.clear();
  if (c == lake::Compression::kGzip) {
    z_stream zs{};
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
      error = "cannot initialise gzip";
      return out;
    }
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs.avail_in = static_cast<uInt>(data.size());
    char buf[1 << 16];
    int rc = Z_OK;
    while (rc == Z_OK) {
      zs.next_out = reinterpret_cast<Bytef*>(buf);
      zs.avail_out = sizeof buf;
      rc = inflate(&zs, Z_NO_FLUSH);
      out.append(buf, sizeof buf - zs.avail_out);
      if (rc == Z_BUF_ERROR && zs.avail_in == 0) break;
      // Concatenated gzip members (allowed by the format): continue with the next one.
      if (rc == Z_STREAM_END && zs.avail_in > 0) rc = inflateReset(&zs);
    }
    if (rc != Z_STREAM_END) error = fmt::format("gzip stream is truncated or damaged ({})", zs.msg ? zs.msg : "unexpected end");
    inflateEnd(&zs);
  } else if (c == lake::Compression::kZstd) {
    ZSTD_DCtx* dctx = ZSTD_createDCtx();
    ZSTD_inBuffer in{data.data(), data.size(), 0};
    std::string buf(ZSTD_DStreamOutSize(), '\0');
    size_t ret = 1;
    while (in.pos < in.size) {
      ZSTD_outBuffer o{buf.data(), buf.size(), 0};
      ret = ZSTD_decompressStream(dctx, &o, &in);
      if (ZSTD_isError(ret)) {
        error = fmt::format("zstd stream is damaged ({})", ZSTD_getErrorName(ret));
        break;
      }
      out.append(buf.data(), o.pos);
      if (o.pos == 0 && in.pos == in.size) break;
    }
    for (int i = 0; error.empty() && ret != 0 && i < 1 << 20; ++i) {  // flush what the decoder still holds
      ZSTD_outBuffer o{buf.data(), buf.size(), 0};
      ret = ZSTD_decompressStream(dctx, &o, &in);
      if (ZSTD_isError(ret)) break;
      out.append(buf.data(), o.pos);
      if (o.pos == 0) break;
    }
    if (error.empty() && ret != 0) error = "zstd stream is truncated";
    ZSTD_freeDCtx(dctx);
  }
  return out;
}

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
  std::string trailing_error;
  if (compression != lake::Compression::kNone) {
    content = decompress(content, compression, trailing_error);
    if (!trailing_error.empty()) trailing_error = fmt::format("{}: {}", url, trailing_error);
  }
  size_t len = content.size();
  content.resize(len + simdjson::SIMDJSON_PADDING, '\0');
  HRFLOW_ASSIGN_OR_RETURN(auto app, conn.appender("raw", "heart_rate_stream"));
  thread_local UuidGenerator uuids;
  FileLoader loader(app, uuids, error_file);
  HRFLOW_TRY(loader.load(content.data(), len, content.size(), url, modified_us, extracted_us, trailing_error, stats));
  if (!trailing_error.empty() && len == 0) {
    // Nothing could be decompressed at all: keep one row that says so, rather than nothing.
    std::string note(simdjson::SIMDJSON_PADDING + 2, '\0');
    note[0] = '{';
    note[1] = '}';
    FileLoader note_loader(app, uuids, false);
    HRFLOW_TRY(note_loader.load(note.data(), 2, note.size(), url, modified_us, extracted_us, trailing_error, stats));
  }
  if (!trailing_error.empty()) {
    ++stats.files_damaged;
    spdlog::warn("sync lake: {}", trailing_error);
  }
  if (len == 0 && trailing_error.empty()) {
    ++stats.files_empty;
    spdlog::info("sync lake: {} is empty", url);
  }
  return app.close();
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
  struct Todo {
    lake::ObjectInfo info;
    lake::FileKey key;
    std::string url;
    bool reload;
  };
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
  // commit together (a crash reloads the whole batch, never part of it), and batching spares a commit
  // (a WAL sync) per file, which dominates when the sink writes many small files.
  constexpr size_t kBatchFiles = 1000;
  Progress progress("sync lake", "rows", 0, o.progress);
  std::optional<db::Transaction> txn;
  uint64_t batch_bytes = 0;
  size_t batch_files = 0;
  for (size_t i = 0; i < todo.size() && !stop_requested(); ++i) {
    const Todo& t = todo[i];
    progress.set_detail(fmt::format("file {}/{}", i + 1, todo.size()));
    auto got = store.get(t.info.key);
    if (!got.ok()) return got.error().with_context(fmt::format("reading {}", t.url));
    std::string data = std::move(got).value();
    stats.bytes += data.size();
    batch_bytes += data.size();
    uint64_t rows_before = stats.rows, errors_before = stats.rows_with_errors;
    int64_t extracted = clock.now_ms() * 1000;
    if (!txn) {
      HRFLOW_ASSIGN_OR_RETURN(auto begun, db::Transaction::begin(conn));
      txn.emplace(std::move(begun));
    }
    if (t.reload) {
      // The file changed under the same name: its new content replaces the rows of the old one.
      HRFLOW_ASSIGN_OR_RETURN(auto old, conn.scalar(fmt::format(
                                            "SELECT count(*) FROM raw.heart_rate_stream WHERE _ab_source_file_url = {}",
                                            db::quote_literal(t.url))));
      stats.rows_replaced += std::stoull(old.value_or("0"));
      HRFLOW_TRY(conn.execute(fmt::format("DELETE FROM raw.heart_rate_stream WHERE _ab_source_file_url = {}",
                                          db::quote_literal(t.url))));
      HRFLOW_TRY(conn.execute(fmt::format("DELETE FROM raw.{} WHERE url_hash = {}", kLakeCompactedTable, url_hash(t.url))));
    }
    auto st = load_lake_content(conn, data, t.key.compression, t.url, t.info.last_modified_ms * 1000, extracted, stats,
                                t.key.error_file);
    if (!st.ok()) return st.error().with_context(fmt::format("loading {}", t.url));
    HRFLOW_TRY(conn.execute(fmt::format(
        "INSERT OR REPLACE INTO raw.{} VALUES ({}, make_timestamptz({}::BIGINT), {}, {}, {}, {}, "
        "make_timestamptz({}::BIGINT))",
        kLakeHistoryTable, db::quote_literal(t.url), t.info.last_modified_ms * 1000, t.info.size,
        db::quote_literal(t.info.etag), stats.rows - rows_before, stats.rows_with_errors - errors_before, extracted)));
    if (++batch_files >= kBatchFiles || batch_bytes >= o.batch_bytes || i + 1 == todo.size() || stop_requested()) {
      HRFLOW_TRY(txn->commit());
      txn.reset();
      batch_files = 0;
      batch_bytes = 0;
    }
    if (t.reload) {
      ++stats.files_reloaded;
      spdlog::warn("sync lake: {} changed since it was loaded; its rows were replaced by the new content", t.url);
    } else {
      ++stats.files_loaded;
    }
    history[t.url] = {t.info.last_modified_ms * 1000, t.info.size, t.info.etag};
    progress.update(stats.rows);
  }
  if (txn) HRFLOW_TRY(txn->commit());  // stopped between a file and its batch's end
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
