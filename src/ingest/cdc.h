// The PostgreSQL CDC source of `hrflow sync oltp`: PostgreSQL tables -> warehouse raw.<table>.
//
// First run: create the publication (FOR TABLE users, activities) and the logical replication slot
// (pgoutput) if missing; create the slot with an exported snapshot and copy the tables inside that
// snapshot, so the copy and the change stream meet exactly at the slot's consistent point. Then read
// pgoutput changes: one raw row per insert/update/delete (append, Airbyte's CDC columns).
//
// Durability: the rows of whole PostgreSQL transactions and the position reached (the commit's end
// LSN) are committed in ONE warehouse transaction (raw._hrflow_cdc_state), and only then is that
// position acknowledged to PostgreSQL, which may then free its WAL. A crash at any moment replays from
// the stored position: PostgreSQL resends what was not acknowledged and transactions at or below the
// stored position are skipped, so nothing is lost or loaded twice. A slot that was dropped or lost is
// detected and reported with the command that re-snapshots.
//
// Lifecycle: CdcSource::run() once per command; with `follow` it streams until options.stop asks and
// reconnects with backoff when PostgreSQL goes away. Not thread-safe; one owner of the warehouse.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "common/config.h"
#include "common/duckdb.h"
#include "common/status.h"
#include "common/stop.h"

namespace hrflow::ingest {

struct CdcOptions {
  std::string url;          // PostgreSQL connection URL
  std::string slot = "airbyte_slot";
  std::string publication = "airbyte_publication";
  bool follow = false;      // keep streaming until stopped (else: stop once caught up)
  bool resnapshot = false;  // drop the slot (if any) and take a new snapshot
  bool progress = true;     // progress lines on stderr
  uint64_t batch_rows = 50000;                            // rows per warehouse commit, at most
  std::chrono::milliseconds batch_age{250};               // commit a batch at most this late
  std::chrono::milliseconds status_interval{10000};       // send standby status this often when idle
  std::chrono::milliseconds max_backoff{30000};           // --follow: reconnect backoff ceiling
  StopToken stop;  // ends streaming (and --follow) after committing what was read
};

struct CdcStats {
  uint64_t snapshot_rows = 0;
  uint64_t inserts = 0, updates = 0, deletes = 0;
  uint64_t transactions = 0;
  uint64_t reconnects = 0;
  uint64_t lsn = 0;  // position stored and acknowledged at the end
  bool snapshot_taken = false;
  std::map<std::string, uint64_t> rows_by_table;  // raw table name -> snapshot rows + changes stored

  uint64_t changes() const { return inserts + updates + deletes; }
};

// The PostgreSQL URL to read from: oltp.url, or the managed server (oltp.port, oltp.database).
std::string oltp_url(const Config& config);

class CdcSource {
 public:
  static Result<CdcStats> run(const CdcOptions& options, db::Database& warehouse);
};

// Name of the warehouse table that holds the CDC position (one row per slot).
inline constexpr const char* kCdcStateTable = "_hrflow_cdc_state";

}  // namespace hrflow::ingest
