#include "ingest/lake_scan.h"

#include <unordered_map>

namespace hrflow::ingest::detail {
namespace {

// Column names of raw.heart_rate_stream, in the order of Col.
constexpr const char* kColNames[kNumCols] = {"_airbyte_raw_id", "_airbyte_extracted_at", "_airbyte_meta",
                                             "_ab_source_file_url", "_ab_source_file_last_modified", "user_id",
                                             "heart_rate", "timestamp", "meta"};

// Scans in flight, by id: the SQL names a scan by its id, never by an address.
std::mutex g_scans_mu;
std::unordered_map<uint64_t, LakeScan*> g_scans;
uint64_t g_next_scan_id = 1;

}  // namespace

ScanRegistration::ScanRegistration(LakeScan& scan) {
  std::lock_guard lock(g_scans_mu);
  id_ = g_next_scan_id++;
  g_scans[id_] = &scan;
}

ScanRegistration::~ScanRegistration() {
  std::lock_guard lock(g_scans_mu);
  g_scans.erase(id_);
}


namespace {

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
  f.content_hash = content_hash(t.content);
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

}  // namespace

// Make hrflow_lake_files(UBIGINT scan id) known to the database (once; later calls find it there).
Status register_scan_function(db::Connection& conn) {
  return db::register_table_function(conn, {"hrflow_lake_files", {DUCKDB_TYPE_UBIGINT}, scan_bind, scan_init,
                                            scan_local_init, scan_function});
}

}  // namespace hrflow::ingest::detail
