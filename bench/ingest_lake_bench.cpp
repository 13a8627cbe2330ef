// Lake -> raw rows/s: hrflow's lake source (LakeSource::run) against DuckDB's own
// read_json(..., columns=...) into a table, over the same lake files, in the same run.
// Usage: ingest_lake_bench <files> <rows per file> <repetitions>
// Each repetition loads into a fresh on-disk DuckDB database for both tools and prints both times.
// Then: medians, the ratio (the median of each repetition's ratio), the storage floor (DuckDB copying
// the loaded rows into another table, which no loader can beat) and both databases' sizes.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

#include <unistd.h>

#include "common/duckdb.h"
#include "ingest/lake.h"
#include "lake/file_store.h"
#include "lake/layout.h"

namespace fs = std::filesystem;
using namespace hrflow;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

int fail(const std::string& what) {
  std::fprintf(stderr, "ingest_lake_bench: %s\n", what.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  int files = argc > 1 ? std::atoi(argv[1]) : 40;
  int rows = argc > 2 ? std::atoi(argv[2]) : 50000;
  int reps = argc > 3 ? std::atoi(argv[3]) : 3;
  fs::path dir = fs::temp_directory_path() / fmt::format("hrflow-ingest-bench-{}", getpid());
  fs::create_directories(dir);
  auto store_r = lake::FileStore::open(dir / "lake");
  if (!store_r.ok()) return fail(store_r.error().message);
  auto& store = **store_r;

  // Records as the sink writes them (the original producer's shape).
  uint64_t total = 0, bytes = 0;
  for (int f = 0; f < files; ++f) {
    std::string content;
    for (int i = 0; i < rows; ++i) {
      int64_t ts = 1711940400 + f * 60 + i / 1000;
      content += fmt::format(
          R"({{"user_id":{},"heart_rate":{},"timestamp":{},"meta":{{"activity_id":{},"location":{{"latitude":{:.6f},"longitude":{:.6f}}}}}}})",
          10000 + (f * rows + i) % 5000, 55 + i % 120, ts, 20000 + i % 40, 37.4 + (i % 1000) * 1e-5,
          -121.9 - (i % 700) * 1e-5);
      content += '\n';
    }
    bytes += content.size();
    total += static_cast<uint64_t>(rows);
    auto k = lake::format_key({"hr-data-topic", f % 4, static_cast<int64_t>(f / 4) * rows, false, 1711940400 / 3600,
                               lake::Compression::kNone});
    if (auto st = store.put(k, content); !st.ok()) return fail(st.error().message);
  }
  std::printf("lake: %d files, %s rows, %.1f MB of JSON lines\n", files, std::to_string(total).c_str(), bytes / 1e6);

  std::vector<double> ours, duck, copy;
  double ours_mb = 0, duck_mb = 0;  // database file sizes after the load (checkpointed), last repetition
  for (int r = 0; r < reps; ++r) {
    {
      fs::path db_path = dir / fmt::format("hrflow-{}.duckdb", r);
      auto database = db::Database::open(db_path.string());
      if (!database.ok()) return fail(database.error().message);
      ingest::LakeOptions o;
      o.progress = false;
      auto t = std::chrono::steady_clock::now();
      auto stats = ingest::LakeSource::run(store, *database, o);
      double s = seconds_since(t);
      if (!stats.ok()) return fail(stats.error().message);
      if (stats->rows != total) return fail(fmt::format("hrflow loaded {} rows, expected {}", stats->rows, total));
      ours.push_back(static_cast<double>(total) / s);
    }
    ours_mb = static_cast<double>(fs::file_size(dir / fmt::format("hrflow-{}.duckdb", r))) / 1e6;
    fs::remove(dir / fmt::format("hrflow-{}.duckdb", r));
    fs::remove(dir / fmt::format("hrflow-{}.duckdb.wal", r));
    {
      fs::path db_path = dir / fmt::format("duckdb-{}.duckdb", r);
      auto database = db::Database::open(db_path.string());
      if (!database.ok()) return fail(database.error().message);
      auto conn = db::Connection::connect(*database);
      if (!conn.ok()) return fail(conn.error().message);
      auto t = std::chrono::steady_clock::now();
      // The same target columns (file URL and modification time included), typed by a schema we give.
      auto st = conn->execute(fmt::format(
          "CREATE TABLE heart_rate_stream AS SELECT gen_random_uuid() AS _airbyte_raw_id, now() AS _airbyte_extracted_at, "
          "'{{\"changes\":[],\"errors\":[]}}'::JSON AS _airbyte_meta, filename AS _ab_source_file_url, "
          "now() AS _ab_source_file_last_modified, user_id, heart_rate, \"timestamp\", meta FROM read_json('{}/topics/**/*.json', "
          "format='newline_delimited', filename=true, columns={{user_id:'BIGINT', heart_rate:'DOUBLE', "
          "\"timestamp\":'BIGINT', meta:'JSON'}})",
          (dir / "lake").string()));
      double s = seconds_since(t);
      if (!st.ok()) return fail(st.error().message);
      auto n = conn->scalar("SELECT count(*) FROM heart_rate_stream");
      if (!n.ok() || !n->has_value() || std::stoull(**n) != total) return fail("DuckDB loaded a different row count");
      duck.push_back(static_cast<double>(total) / s);
      if (auto c = conn->execute("CHECKPOINT"); !c.ok()) return fail(c.error().message);
      duck_mb = static_cast<double>(fs::file_size(db_path)) / 1e6;
      // The storage floor: the same rows copied from table to table, no JSON at all. A loader that
      // parsed for free would still pay this, so it bounds every loader's ratio to read_json.
      t = std::chrono::steady_clock::now();
      st = conn->execute("CREATE TABLE heart_rate_copy AS SELECT * FROM heart_rate_stream");
      s = seconds_since(t);
      if (!st.ok()) return fail(st.error().message);
      copy.push_back(static_cast<double>(total) / s);
    }
    fs::remove(dir / fmt::format("duckdb-{}.duckdb", r));
    fs::remove(dir / fmt::format("duckdb-{}.duckdb.wal", r));
    std::printf("  repetition %d: hrflow %.2f s, read_json %.2f s, ratio %.2fx\n", r + 1, total / ours.back(),
                total / duck.back(), ours.back() / duck.back());
    std::fflush(stdout);
  }
  double a = median(ours), b = median(duck), c = median(copy);
  // Each repetition runs both loaders back to back, under the same conditions of a shared machine: the
  // headline is the median of those paired ratios; the ratio of the two medians is printed too.
  std::vector<double> paired;
  for (size_t r = 0; r < ours.size(); ++r) paired.push_back(ours[r] / duck[r]);
  std::printf("lake -> raw   hrflow sync lake: median %.0f rows/s   DuckDB read_json(columns=...): median %.0f rows/s   "
              "ratio %.2fx (median of %zu paired runs; ratio of the medians %.2fx; target >= 1.5x)\n",
              a, b, median(paired), paired.size(), a / b);
  std::printf("storage floor: DuckDB copying the loaded rows table to table (no parsing): median %.0f rows/s = %.2fx "
              "read_json; hrflow reaches %.0f%% of it\n",
              c, c / b, 100 * a / c);
  std::printf("database size after the load: hrflow %.1f MB, read_json %.1f MB\n", ours_mb, duck_mb);
  fs::remove_all(dir);
  return 0;
}
