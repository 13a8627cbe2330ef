// The table function hrflow_lake_files(<scan id>) (internal to the lake source): DuckDB's own threads
// read, decompress and parse one batch of lake files straight into its parallel insert, one file per
// thread at a time, in cursor order. A scan is registered under an id for the one INSERT that reads
// it (the SQL names a scan by its id, never by an address).
#pragma once

#include <atomic>
#include <mutex>
#include <vector>

#include "common/progress.h"
#include "common/stop.h"
#include "ingest/lake_records.h"
#include "lake/storage.h"

namespace hrflow::ingest::detail {

// A lake file to load: its listing, parsed key, URL and whether it replaces an earlier load.
struct Todo {
  lake::ObjectInfo info;
  lake::FileKey key;
  std::string url;
  bool reload;
};

// One batch of files as the table function hrflow_lake_files(<scan id>) yields them to
// `INSERT INTO raw.heart_rate_stream SELECT * FROM hrflow_lake_files(id)`. DuckDB runs the scan and the
// insert on its own threads (one file per thread at a time, taken in cursor order), so its parallel
// insert writes and compresses row groups on every core. The appender, by contrast, copied each chunk
// into a collection that one thread then inserted.
struct LakeScan {
  struct File {
    LakeStats stats;  // this file's rows and flags
    int64_t extracted_us = 0;
    uint64_t content_hash = 0;  // of the stored bytes (content_hash()), kept in the load history
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

// The scan's id for the query, withdrawn when it goes out of scope.
class ScanRegistration {
 public:
  explicit ScanRegistration(LakeScan& scan);
  ~ScanRegistration();
  ScanRegistration(const ScanRegistration&) = delete;
  ScanRegistration& operator=(const ScanRegistration&) = delete;
  uint64_t id() const { return id_; }

 private:
  uint64_t id_;
};

// Make hrflow_lake_files(UBIGINT scan id) known to the database (once; later calls find it there).
Status register_scan_function(db::Connection& conn);

}  // namespace hrflow::ingest::detail
