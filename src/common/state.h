// Where hrflow keeps its state (defaults under `.hrflow/` in the working directory):
//   stream/           embedded stream log          (stream.log.dir)
//   lake/             file lake                    (lake.url = file://...)
//   warehouse.duckdb  the warehouse                (warehouse.path)
//   postgres/         managed PostgreSQL cluster   (used when oltp.url is empty)
//   runs/             run history of `hrflow serve`
// The warehouse has one owner process at a time (DuckDB's single-writer rule): the CLI opens it for
// the duration of one command, or hands the work to `hrflow serve` while that runs.
#pragma once

#include <filesystem>
#include <string>

#include "common/config.h"
#include "common/duckdb.h"
#include "common/status.h"

namespace hrflow {

struct StateLayout {
  std::filesystem::path state_dir;
  std::filesystem::path stream_dir;
  std::filesystem::path warehouse_path;
  std::filesystem::path postgres_dir;
  std::filesystem::path runs_dir;
  std::string lake_url;

  static StateLayout from(const Config& config);
  // Create state_dir (and the warehouse's parent directory) if missing.
  Status ensure_dirs() const;
};

// The warehouse schemas, in data-flow order.
inline constexpr const char* kWarehouseSchemas[] = {"raw", "staging", "serving"};

// Open (creating if needed) the warehouse with the configured threads/memory and make sure the
// schemas exist. Fails with a clear message when another process holds the file.
Result<db::Database> open_warehouse(const Config& config);
// Open the configured warehouse read-only, for queries; the error says what to do when the file is
// missing or another process holds it.
Result<db::Database> open_warehouse_read_only(const Config& config);
Status ensure_warehouse_schemas(db::Connection& conn);

}  // namespace hrflow
