#include "simulator/formats.h"

#include <avro.h>
#include <fmt/format.h>

#include <cstdio>
#include <fstream>

#include "common/compression.h"
#include "common/duckdb.h"

namespace hrflow::sim {

const char* const kAvroSchemaJson = R"({"type":"record","name":"HeartRate","namespace":"hrflow","fields":[
{"name":"user_id","type":"long"},{"name":"heart_rate","type":"int"},{"name":"timestamp","type":"long"},
{"name":"meta","type":{"type":"record","name":"Meta","fields":[{"name":"activity_id","type":"long"},
{"name":"location","type":{"type":"record","name":"Location","fields":[{"name":"latitude","type":"double"},
{"name":"longitude","type":"double"}]}}]}}]})";

namespace {

// --- RAII over libavro handles ---------------------------------------------------------------------
struct AvroSchema {
  avro_schema_t s = nullptr;
  AvroSchema() = default;
  AvroSchema(const AvroSchema&) = delete;
  AvroSchema& operator=(const AvroSchema&) = delete;
  ~AvroSchema() {
    if (s) avro_schema_decref(s);
  }
};
struct AvroClass {
  avro_value_iface_t* c = nullptr;
  AvroClass() = default;
  AvroClass(const AvroClass&) = delete;
  AvroClass& operator=(const AvroClass&) = delete;
  ~AvroClass() {
    if (c) avro_value_iface_decref(c);
  }
};
struct AvroValue {
  avro_value_t v{};
  bool valid = false;
  AvroValue() = default;
  AvroValue(const AvroValue&) = delete;
  AvroValue& operator=(const AvroValue&) = delete;
  ~AvroValue() {
    if (valid) avro_value_decref(&v);
  }
};
struct AvroMemWriter {
  avro_writer_t w = nullptr;
  AvroMemWriter() = default;
  AvroMemWriter(const AvroMemWriter&) = delete;
  AvroMemWriter& operator=(const AvroMemWriter&) = delete;
  ~AvroMemWriter() {
    if (w) avro_writer_free(w);
  }
};
struct AvroFileWriter {
  avro_file_writer_t w = nullptr;
  AvroFileWriter() = default;
  AvroFileWriter(const AvroFileWriter&) = delete;
  AvroFileWriter& operator=(const AvroFileWriter&) = delete;
  ~AvroFileWriter() {
    if (w) avro_file_writer_close(w);
  }
  Status close() {
    int rc = avro_file_writer_close(w);
    w = nullptr;
    if (rc != 0) return io_error("closing the Avro container file: {}", avro_strerror());
    return {};
  }
};

Status avro_check(int rc, std::string_view what) {
  if (rc != 0) return make_error(ErrorKind::kInternal, "libavro: {}: {}", what, avro_strerror());
  return {};
}

// One reusable generic value for the schema, filled per reading.
class AvroRecord {
 public:
  static Result<std::unique_ptr<AvroRecord>> create() {
    auto r = std::make_unique<AvroRecord>();
    if (avro_schema_from_json_length(kAvroSchemaJson, std::strlen(kAvroSchemaJson), &r->schema.s) != 0) {
      return make_error(ErrorKind::kInternal, "libavro rejected the reading schema: {}", avro_strerror());
    }
    r->cls.c = avro_generic_class_from_schema(r->schema.s);
    if (!r->cls.c) return make_error(ErrorKind::kInternal, "libavro: {}", avro_strerror());
    HRFLOW_TRY(avro_check(avro_generic_value_new(r->cls.c, &r->value.v), "new value"));
    r->value.valid = true;
    avro_value_t meta, loc;
    HRFLOW_TRY(avro_check(avro_value_get_by_name(&r->value.v, "user_id", &r->user, nullptr), "user_id"));
    HRFLOW_TRY(avro_check(avro_value_get_by_name(&r->value.v, "heart_rate", &r->hr, nullptr), "heart_rate"));
    HRFLOW_TRY(avro_check(avro_value_get_by_name(&r->value.v, "timestamp", &r->ts, nullptr), "timestamp"));
    HRFLOW_TRY(avro_check(avro_value_get_by_name(&r->value.v, "meta", &meta, nullptr), "meta"));
    HRFLOW_TRY(avro_check(avro_value_get_by_name(&meta, "activity_id", &r->act, nullptr), "activity_id"));
    HRFLOW_TRY(avro_check(avro_value_get_by_name(&meta, "location", &loc, nullptr), "location"));
    HRFLOW_TRY(avro_check(avro_value_get_by_name(&loc, "latitude", &r->lat, nullptr), "latitude"));
    HRFLOW_TRY(avro_check(avro_value_get_by_name(&loc, "longitude", &r->lon, nullptr), "longitude"));
    return r;
  }
  Status set(const Reading& x) {
    HRFLOW_TRY(avro_check(avro_value_set_long(&user, x.user_id), "set user_id"));
    HRFLOW_TRY(avro_check(avro_value_set_int(&hr, x.heart_rate), "set heart_rate"));
    HRFLOW_TRY(avro_check(avro_value_set_long(&ts, x.timestamp), "set timestamp"));
    HRFLOW_TRY(avro_check(avro_value_set_long(&act, x.activity_id), "set activity_id"));
    HRFLOW_TRY(avro_check(avro_value_set_double(&lat, x.latitude_e6 / 1e6), "set latitude"));
    HRFLOW_TRY(avro_check(avro_value_set_double(&lon, x.longitude_e6 / 1e6), "set longitude"));
    return {};
  }
  AvroSchema schema;
  AvroClass cls;
  AvroValue value;
  avro_value_t user{}, hr{}, ts{}, act{}, lat{}, lon{};
};

Result<uint64_t> compressed_size(const std::string& data, Codec codec) {
  HRFLOW_ASSIGN_OR_RETURN(auto z, compress(data, codec));
  return z.size();
}

Result<std::string> read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return io_error("cannot read {}", p.string());
  return std::string(std::istreambuf_iterator<char>(in), {});
}

Status add_compressed(FormatRow& row, const std::string& bytes) {
  HRFLOW_ASSIGN_OR_RETURN(row.zstd_bytes, compressed_size(bytes, Codec::kZstd));
  HRFLOW_ASSIGN_OR_RETURN(row.gzip_bytes, compressed_size(bytes, Codec::kGzip));
  return {};
}

Result<std::string> avro_binary(AvroRecord& rec, const std::vector<Reading>& records, size_t count) {
  std::string out;
  std::vector<char> buf(256);
  AvroMemWriter w;
  w.w = avro_writer_memory(buf.data(), static_cast<int64_t>(buf.size()));
  for (size_t i = 0; i < count; ++i) {
    HRFLOW_TRY(rec.set(records[i]));
    avro_writer_reset(w.w);
    HRFLOW_TRY(avro_check(avro_value_write(w.w, &rec.value.v), "write datum"));
    out.append(buf.data(), static_cast<size_t>(avro_writer_tell(w.w)));
  }
  return out;
}

Result<std::string> avro_container(AvroRecord& rec, const std::vector<Reading>& records, size_t count,
                                   const std::filesystem::path& path) {
  std::filesystem::remove(path);
  AvroFileWriter fw;
  HRFLOW_TRY(avro_check(avro_file_writer_create_with_codec(path.c_str(), rec.schema.s, &fw.w, "null", 64 * 1024),
                        "create container file"));
  for (size_t i = 0; i < count; ++i) {
    HRFLOW_TRY(rec.set(records[i]));
    HRFLOW_TRY(avro_check(avro_file_writer_append_value(fw.w, &rec.value.v), "append"));
  }
  HRFLOW_TRY(fw.close());
  return read_file(path);
}

Result<uint64_t> parquet_size(db::Connection& conn, const std::vector<Reading>& records, size_t count,
                              const std::filesystem::path& path, std::string_view compression) {
  HRFLOW_TRY(conn.execute("CREATE OR REPLACE TABLE readings (user_id BIGINT, heart_rate INTEGER, \"timestamp\" BIGINT, "
                          "activity_id BIGINT, latitude DOUBLE, longitude DOUBLE)"));
  {
    HRFLOW_ASSIGN_OR_RETURN(auto app, conn.appender("main", "readings"));
    for (size_t i = 0; i < count; ++i) {
      const auto& r = records[i];
      HRFLOW_TRY(app.append(r.user_id));
      HRFLOW_TRY(app.append(static_cast<int32_t>(r.heart_rate)));
      HRFLOW_TRY(app.append(r.timestamp));
      HRFLOW_TRY(app.append(r.activity_id));
      HRFLOW_TRY(app.append(r.latitude_e6 / 1e6));
      HRFLOW_TRY(app.append(r.longitude_e6 / 1e6));
      HRFLOW_TRY(app.end_row());
    }
    HRFLOW_TRY(app.close());
  }
  std::filesystem::remove(path);
  // The nested meta/location of the contract as a struct column, as a lake would store it.
  HRFLOW_TRY(conn.execute(fmt::format(
      "COPY (SELECT user_id, heart_rate, \"timestamp\", {{'activity_id': activity_id, 'location': "
      "{{'latitude': latitude, 'longitude': longitude}}}} AS meta FROM readings) TO {} (FORMAT parquet, COMPRESSION {})",
      db::quote_literal(path.string()), compression)));
  return static_cast<uint64_t>(std::filesystem::file_size(path));
}

}  // namespace

Result<FormatsReport> measure_formats(const std::vector<Reading>& records, const std::filesystem::path& dir) {
  if (records.empty()) return invalid_argument("no records to measure");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return io_error("cannot create {}: {}", dir.string(), ec.message());
  FormatsReport report;
  report.records = records.size();
  const size_t n = records.size();

  auto json_lines = [&](bool strings, size_t count) {
    std::string s;
    s.reserve(count * 150);
    char buf[kMaxJsonBytes];
    for (size_t i = 0; i < count; ++i) {
      char* e = strings ? format_json_strings(records[i], buf) : format_json(records[i], buf);
      s.append(buf, static_cast<size_t>(e - buf));
      s.push_back('\n');
    }
    return s;
  };
  for (bool strings : {false, true}) {
    FormatRow row;
    row.format = strings ? "JSON, all strings" : "JSON (integers)";
    row.note = strings ? "what the original producer sent; one record per line" : "the contract; one record per line";
    std::string all = json_lines(strings, n);
    row.raw_bytes = all.size();
    HRFLOW_TRY(add_compressed(row, all));
    row.one_record_bytes = json_lines(strings, 1).size();
    report.rows.push_back(row);
  }

  HRFLOW_ASSIGN_OR_RETURN(auto rec, AvroRecord::create());
  {
    FormatRow row;
    row.format = "Avro binary, schema once";
    row.note = "schema sent once (as a registry would), then bare datums";
    HRFLOW_ASSIGN_OR_RETURN(std::string data, avro_binary(*rec, records, n));
    std::string all = std::string(kAvroSchemaJson) + data;
    row.raw_bytes = all.size();
    HRFLOW_TRY(add_compressed(row, all));
    HRFLOW_ASSIGN_OR_RETURN(std::string one, avro_binary(*rec, records, 1));
    row.one_record_bytes = std::strlen(kAvroSchemaJson) + one.size();
    report.rows.push_back(row);
  }
  {
    FormatRow row;
    row.format = "Avro container file";
    row.note = "schema in the header, 64 KiB blocks with sync markers, codec null";
    HRFLOW_ASSIGN_OR_RETURN(std::string file, avro_container(*rec, records, n, dir / "readings.avro"));
    row.raw_bytes = file.size();
    HRFLOW_TRY(add_compressed(row, file));
    HRFLOW_ASSIGN_OR_RETURN(std::string one, avro_container(*rec, records, 1, dir / "one.avro"));
    row.one_record_bytes = one.size();
    report.rows.push_back(row);
  }
  HRFLOW_ASSIGN_OR_RETURN(auto db, db::Database::open(":memory:", {{"threads", "1"}}));
  HRFLOW_ASSIGN_OR_RETURN(auto conn, db::Connection::connect(db));
  for (std::string_view codec : {"snappy", "zstd"}) {
    FormatRow row;
    row.format = fmt::format("Parquet ({})", codec);
    row.note = "DuckDB COPY, columnar with per-column encodings; compression inside the file";
    HRFLOW_ASSIGN_OR_RETURN(row.raw_bytes, parquet_size(conn, records, n, dir / "readings.parquet", codec));
    HRFLOW_ASSIGN_OR_RETURN(row.one_record_bytes, parquet_size(conn, records, 1, dir / "one.parquet", codec));
    report.rows.push_back(row);
  }
  return report;
}

std::string format_report(const FormatsReport& r) {
  const double n = static_cast<double>(r.records);
  std::string out = fmt::format("bytes per record over {} simulated readings\n\n", r.records);
  out += fmt::format("{:<26} {:>9} {:>9} {:>9} {:>20}\n", "format", "raw", "zstd", "gzip", "1-record file, bytes");
  auto cell = [&](uint64_t bytes) { return bytes ? fmt::format("{:.1f}", static_cast<double>(bytes) / n) : std::string("-"); };
  for (const auto& row : r.rows) {
    out += fmt::format("{:<26} {:>9} {:>9} {:>9} {:>20}\n", row.format, cell(row.raw_bytes), cell(row.zstd_bytes),
                       cell(row.gzip_bytes), row.one_record_bytes);
  }
  out += "\n(zstd level 3 and gzip level 6 over all records as one stream, as batch or file compression does)\n";
  for (const auto& row : r.rows) out += fmt::format("  {:<26} {}\n", row.format, row.note);
  out += R"(
Why a one-record file misleads: every container format pays a fixed cost per file - the Avro
container's header carries the whole schema, a 16-byte sync marker and block counts; Parquet writes
magic bytes, column chunk metadata and a footer with the schema and statistics. With one record that
overhead is almost the whole file, so Avro and Parquet look several times *bigger* than JSON. Spread
over many records it vanishes: the schema is sent once, numbers are varints or columns, and the
field names that JSON repeats in every record are never written. Compression likewise needs many
records to find the repetition. Compressed in batches the row formats nearly converge: zstd removes
most of what JSON repeats. Compare formats at the batch sizes the pipeline really uses.
)";
  return out;
}

}  // namespace hrflow::sim
