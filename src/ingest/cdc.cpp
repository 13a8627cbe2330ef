#include "ingest/cdc.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <ctime>
#include <map>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/backoff.h"
#include "common/clock.h"
#include "common/progress.h"
#include "ingest/airbyte.h"
#include "common/pg.h"
#include "ingest/pgoutput.h"

namespace hrflow::ingest {
namespace {

using Clock = std::chrono::steady_clock;
using Field = std::optional<std::string>;

// DuckDB type for a PostgreSQL type OID; values arrive as text and DuckDB casts them on append.
std::string duckdb_type_for(uint32_t oid) {
  switch (oid) {
    case 16: return "BOOLEAN";
    case 20: return "BIGINT";
    case 21: return "SMALLINT";
    case 23: return "INTEGER";
    case 26: return "BIGINT";
    case 700: return "FLOAT";
    case 701: return "DOUBLE";
    case 1700: return "DOUBLE";
    case 1082: return "DATE";
    case 1083: return "TIME";
    case 1114: return "TIMESTAMP";
    case 1184: return "TIMESTAMPTZ";
    case 114:
    case 3802: return "JSON";
    case 2950: return "UUID";
    default: return "VARCHAR";
  }
}

// The Airbyte columns around the PostgreSQL ones.
constexpr const char* kLeadingColumns[] = {"_airbyte_raw_id", "_airbyte_extracted_at", "_airbyte_meta"};
constexpr const char* kLeadingTypes[] = {"UUID", "TIMESTAMPTZ", "JSON"};
constexpr const char* kTrailingColumns[] = {"_ab_cdc_lsn", "_ab_cdc_updated_at", "_ab_cdc_deleted_at"};
constexpr const char* kTrailingTypes[] = {"BIGINT", "TIMESTAMPTZ", "TIMESTAMPTZ"};

struct SourceColumn {
  std::string name;
  uint32_t type_oid = 0;
  bool key = false;
};

// One change (or snapshot row) waiting to be written: the values of the source columns in the order
// of the raw table's source columns, plus the CDC columns.
struct PendingRow {
  size_t table = 0;
  std::vector<Field> values;
  std::string meta;
  uint64_t lsn = 0;
  int64_t updated_at_us = 0;
  bool deleted = false;
};

// A raw table in the warehouse: raw.<name>, its source columns (in table order) and, for the
// current PostgreSQL relation, where each relation column goes.
struct RawTable {
  std::string name;
  std::vector<std::string> columns;  // source columns in the raw table's order
};

class Warehouse {
 public:
  explicit Warehouse(db::Connection conn) : conn_(std::move(conn)) {}

  Status init() {
    HRFLOW_TRY(conn_.execute("SET TimeZone = 'UTC'"));
    return conn_.execute(fmt::format(
        "CREATE TABLE IF NOT EXISTS raw.{} (slot VARCHAR PRIMARY KEY, lsn BIGINT NOT NULL, snapshot_lsn BIGINT, "
        "updated_at TIMESTAMPTZ)",
        kCdcStateTable));
  }

  Result<std::optional<uint64_t>> stored_lsn(const std::string& slot) {
    HRFLOW_ASSIGN_OR_RETURN(auto v, conn_.scalar(fmt::format("SELECT lsn FROM raw.{} WHERE slot = {}", kCdcStateTable,
                                                              db::quote_literal(slot))));
    if (!v) return std::optional<uint64_t>{};
    return std::optional<uint64_t>{std::stoull(*v)};
  }

  // Make raw.<name> exist with (at least) these source columns; returns its index.
  Result<size_t> table(const std::string& name, const std::vector<SourceColumn>& source) {
    size_t idx = 0;
    for (; idx < tables_.size(); ++idx) {
      if (tables_[idx].name == name) break;
    }
    if (idx == tables_.size()) {
      HRFLOW_ASSIGN_OR_RETURN(auto exists, conn_.scalar(fmt::format(
                                               "SELECT count(*) FROM information_schema.tables WHERE "
                                               "table_catalog = current_database() AND table_schema = 'raw' AND "
                                               "table_name = {}",
                                               db::quote_literal(name))));
      if (exists.value_or("0") == "0") {
        std::string ddl = fmt::format("CREATE TABLE raw.{} (", db::quote_identifier(name));
        for (size_t i = 0; i < 3; ++i) ddl += fmt::format("{} {}, ", kLeadingColumns[i], kLeadingTypes[i]);
        for (const auto& c : source) ddl += fmt::format("{} {}, ", db::quote_identifier(c.name), duckdb_type_for(c.type_oid));
        for (size_t i = 0; i < 3; ++i) ddl += fmt::format("{} {}{}", kTrailingColumns[i], kTrailingTypes[i], i < 2 ? ", " : ")");
        HRFLOW_TRY(conn_.execute(ddl));
      }
      RawTable t{name, {}};
      HRFLOW_ASSIGN_OR_RETURN(auto cols, conn_.query(fmt::format(
                                             "SELECT column_name FROM information_schema.columns WHERE "
                                             "table_catalog = current_database() AND table_schema = 'raw' AND "
                                             "table_name = {} ORDER BY ordinal_position",
                                             db::quote_literal(name))));
      for (uint64_t r = 0; r < cols.row_count(); ++r) {
        std::string c = cols.get_string(r, 0).value_or("");
        if (c.rfind("_airbyte_", 0) == 0 || c.rfind("_ab_cdc_", 0) == 0) continue;
        t.columns.push_back(c);
      }
      tables_.push_back(std::move(t));
    }
    // Columns added in PostgreSQL since the table was created are added here (appended to the end,
    // after the CDC columns: DuckDB adds columns at the end).
    for (const auto& c : source) {
      auto& cols = tables_[idx].columns;
      if (std::find(cols.begin(), cols.end(), c.name) != cols.end()) continue;
      HRFLOW_TRY(conn_.execute(fmt::format("ALTER TABLE raw.{} ADD COLUMN {} {}", db::quote_identifier(name),
                                           db::quote_identifier(c.name), duckdb_type_for(c.type_oid))));
      spdlog::info("sync oltp: column {}.{} appeared in PostgreSQL; added to raw.{}", name, c.name, name);
      tables_[idx].columns.clear();
      tables_.erase(tables_.begin() + static_cast<long>(idx));
      return table(name, source);
    }
    return idx;
  }

  const RawTable& at(size_t idx) const { return tables_[idx]; }

  // Versions already in raw.<name> as "key values\x1fupdated_at_us" (for a re-snapshot).
  Result<std::vector<std::string>> existing_versions(const std::string& name, const std::vector<std::string>& keys) {
    std::string key_expr;
    for (const auto& k : keys) key_expr += fmt::format("coalesce(CAST({} AS VARCHAR), '') || chr(31) || ", db::quote_identifier(k));
    HRFLOW_ASSIGN_OR_RETURN(auto r, conn_.query(fmt::format(
                                        "SELECT {}CAST(epoch_us(_ab_cdc_updated_at) AS VARCHAR) FROM raw.{} WHERE "
                                        "_ab_cdc_deleted_at IS NULL",
                                        key_expr, db::quote_identifier(name))));
    std::vector<std::string> out;
    for (uint64_t i = 0; i < r.row_count(); ++i) out.push_back(r.get_string(i, 0).value_or(""));
    std::sort(out.begin(), out.end());
    return out;
  }

  // Append `rows` and store `lsn` for `slot` in one transaction.
  Status commit(const std::vector<PendingRow>& rows, const std::string& slot, uint64_t lsn,
                std::optional<uint64_t> snapshot_lsn) {
    HRFLOW_ASSIGN_OR_RETURN(auto txn, db::Transaction::begin(conn_));
    HRFLOW_TRY(append(rows));
    std::string now = format_timestamp_utc(SystemClock::instance().now_ms() * 1000);
    if (snapshot_lsn) {
      HRFLOW_TRY(conn_.execute(fmt::format("INSERT OR REPLACE INTO raw.{} VALUES ({}, {}, {}, '{}')", kCdcStateTable,
                                           db::quote_literal(slot), lsn, *snapshot_lsn, now)));
    } else {
      HRFLOW_TRY(conn_.execute(fmt::format("UPDATE raw.{} SET lsn = {}, updated_at = '{}' WHERE slot = {}",
                                           kCdcStateTable, lsn, now, db::quote_literal(slot))));
    }
    return txn.commit();
  }

 private:
  Status append(const std::vector<PendingRow>& rows) {
    if (rows.empty()) return {};
    int64_t now_ms = SystemClock::instance().now_ms();
    std::string extracted = format_timestamp_utc(now_ms * 1000);
    uuids_.start(now_ms);
    char uuid[36];
    for (size_t t = 0; t < tables_.size(); ++t) {
      bool any = std::any_of(rows.begin(), rows.end(), [t](const PendingRow& r) { return r.table == t; });
      if (!any) continue;
      // The raw table's physical column order: leading, source columns and CDC columns, with source
      // columns added later at the very end.
      HRFLOW_ASSIGN_OR_RETURN(auto order, conn_.query(fmt::format(
                                              "SELECT column_name FROM information_schema.columns WHERE "
                                              "table_catalog = current_database() AND table_schema = 'raw' AND "
                                              "table_name = {} ORDER BY ordinal_position",
                                              db::quote_literal(tables_[t].name))));
      // slot: -1..-3 leading, -4..-6 trailing, >= 0 index into the source columns
      std::vector<int> slots;
      for (uint64_t r = 0; r < order.row_count(); ++r) {
        std::string c = order.get_string(r, 0).value_or("");
        int s = -100;
        for (int i = 0; i < 3; ++i) {
          if (c == kLeadingColumns[i]) s = -1 - i;
          if (c == kTrailingColumns[i]) s = -4 - i;
        }
        if (s == -100) {
          const auto& cols = tables_[t].columns;
          s = static_cast<int>(std::find(cols.begin(), cols.end(), c) - cols.begin());
        }
        slots.push_back(s);
      }
      HRFLOW_ASSIGN_OR_RETURN(auto app, conn_.appender("raw", tables_[t].name));
      for (const auto& row : rows) {
        if (row.table != t) continue;
        for (int s : slots) {
          switch (s) {
            case -1: uuids_.next(uuid); HRFLOW_TRY(app.append(std::string_view(uuid, 36))); break;
            case -2: HRFLOW_TRY(app.append(std::string_view(extracted))); break;
            case -3: HRFLOW_TRY(app.append(std::string_view(row.meta))); break;
            case -4: HRFLOW_TRY(app.append(static_cast<int64_t>(row.lsn))); break;
            case -5: HRFLOW_TRY(app.append(std::string_view(format_timestamp_utc(row.updated_at_us)))); break;
            case -6:
              if (row.deleted) {
                HRFLOW_TRY(app.append(std::string_view(format_timestamp_utc(row.updated_at_us))));
              } else {
                HRFLOW_TRY(app.append_null());
              }
              break;
            default:
              if (s >= 0 && static_cast<size_t>(s) < row.values.size() && row.values[static_cast<size_t>(s)]) {
                HRFLOW_TRY(app.append(std::string_view(*row.values[static_cast<size_t>(s)])));
              } else {
                HRFLOW_TRY(app.append_null());
              }
          }
        }
        if (auto st = app.end_row(); !st.ok()) {
          return st.error().with_context(fmt::format("writing a change of table {} at LSN {} into raw.{}",
                                                     tables_[t].name, format_lsn(row.lsn), tables_[t].name));
        }
      }
      HRFLOW_TRY(app.close());
    }
    return {};
  }

  db::Connection conn_;
  std::vector<RawTable> tables_;
  UuidGenerator uuids_;
};

struct SlotInfo {
  bool exists = false;
  std::string plugin, database, wal_status;
  std::optional<uint64_t> confirmed_flush;
  std::optional<std::string> active_pid;
};

Result<SlotInfo> slot_info(PgConnection& pg, const std::string& slot) {
  HRFLOW_ASSIGN_OR_RETURN(auto r, pg.exec("SELECT plugin, database, confirmed_flush_lsn::text, wal_status, "
                                          "active_pid::text FROM pg_replication_slots WHERE slot_name = $1",
                                          {slot}));
  SlotInfo s;
  if (r.rows() == 0) return s;
  s.exists = true;
  s.plugin = r.text(0, 0);
  s.database = r.text(0, 1);
  if (auto v = r.text_or_null(0, 2)) {
    HRFLOW_ASSIGN_OR_RETURN(uint64_t lsn, parse_lsn(*v));
    s.confirmed_flush = lsn;
  }
  s.wal_status = r.text_or_null(0, 3).value_or("");
  s.active_pid = r.text_or_null(0, 4);
  return s;
}

Error slot_lost(const CdcOptions& o, const std::string& why) {
  return Error{ErrorKind::kNotFound,
               fmt::format("the replication slot '{}' {}; the changes PostgreSQL made since hrflow's last sync "
                           "cannot be read any more. Run `hrflow sync oltp --resnapshot` to take a new snapshot "
                           "of the tables (rows already in the warehouse are kept; versions it already has are "
                           "not loaded again)",
                           o.slot, why),
               false};
}

struct Publication {
  struct Table {
    std::string schema, name;
    std::vector<SourceColumn> columns;
  };
  std::vector<Table> tables;
};

// Create the publication if missing; return its tables and their columns.
Result<Publication> ensure_publication(PgConnection& pg, const CdcOptions& o) {
  HRFLOW_ASSIGN_OR_RETURN(auto found, pg.exec("SELECT 1 FROM pg_publication WHERE pubname = $1", {o.publication}));
  if (found.rows() == 0) {
    for (const char* t : {"users", "activities"}) {
      HRFLOW_ASSIGN_OR_RETURN(auto exists, pg.exec("SELECT to_regclass($1) IS NOT NULL", {std::string(t)}));
      if (exists.text(0, 0) != "t") {
        return Error{ErrorKind::kNotFound,
                     fmt::format("PostgreSQL {} has no table '{}' to publish; create the operational tables first "
                                 "(`hrflow oltp up` creates and fills them)",
                                 pg.where(), t),
                     false};
      }
    }
    auto created = pg.exec(fmt::format("CREATE PUBLICATION {} FOR TABLE users, activities",
                                       quote_identifier(o.publication)));
    // Another sync may have created it a moment ago: that is fine.
    if (!created.ok() && created.error().message.find("already exists") == std::string::npos) return created.error();
    if (created.ok()) spdlog::info("sync oltp: created publication '{}' for users, activities", o.publication);
  }
  HRFLOW_ASSIGN_OR_RETURN(auto tables, pg.exec("SELECT schemaname, tablename FROM pg_publication_tables WHERE "
                                               "pubname = $1 ORDER BY tablename",
                                               {o.publication}));
  Publication pub;
  for (int i = 0; i < tables.rows(); ++i) {
    Publication::Table t{tables.text(i, 0), tables.text(i, 1), {}};
    HRFLOW_ASSIGN_OR_RETURN(
        auto cols, pg.exec("SELECT a.attname, a.atttypid::int, coalesce((SELECT true FROM pg_index i WHERE "
                           "i.indrelid = a.attrelid AND i.indisprimary AND a.attnum = ANY(i.indkey)), false) "
                           "FROM pg_attribute a WHERE a.attrelid = (quote_ident($1) || '.' || quote_ident($2))::regclass "
                           "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
                           {t.schema, t.name}));
    for (int c = 0; c < cols.rows(); ++c) {
      t.columns.push_back({cols.text(c, 0), static_cast<uint32_t>(std::stoul(cols.text(c, 1))), cols.text(c, 2) == "t"});
    }
    pub.tables.push_back(std::move(t));
  }
  if (pub.tables.empty()) {
    return Error{ErrorKind::kInvalidArgument,
                 fmt::format("publication '{}' on PostgreSQL {} publishes no tables; drop it (DROP PUBLICATION {}) "
                             "and sync again to have it recreated for users, activities",
                             o.publication, pg.where(), quote_identifier(o.publication)),
                 false};
  }
  return pub;
}

// The streaming session: decodes pgoutput, batches whole transactions, commits and acknowledges.
class Stream {
 public:
  Stream(const CdcOptions& o, Warehouse& wh, CdcStats& stats, Progress& progress, uint64_t stored)
      : o_(o), wh_(wh), stats_(stats), progress_(progress), stored_(stored) {}

  // Stream from the stored position. Returns when caught up with `target` (one-shot) or when a stop
  // is requested; connection failures come back as retriable errors.
  Status run(PgConnection& repl, std::optional<uint64_t> target) {
    HRFLOW_TRY(repl.start_copy_both(fmt::format(
        "START_REPLICATION SLOT {} LOGICAL {} (proto_version '1', publication_names {})", quote_identifier(o_.slot),
        format_lsn(stored_), quote_literal(quote_identifier(o_.publication)))));
    auto last_status = Clock::now();
    auto last_reply_request = Clock::now() - std::chrono::seconds(1);
    uint64_t server_end = 0;
    std::string msg;
    for (;;) {
      if (o_.stop.stop_requested()) break;
      HRFLOW_ASSIGN_OR_RETURN(CopyRead got, repl.read_copy(msg, std::chrono::milliseconds(100)));
      if (got == CopyRead::kEnd) {
        return Error{ErrorKind::kUnavailable, fmt::format("PostgreSQL {} ended the replication stream", repl.where()),
                     true};
      }
      if (got == CopyRead::kData) {
        HRFLOW_ASSIGN_OR_RETURN(auto env, pgoutput::parse_envelope(msg));
        if (env.kind == pgoutput::Envelope::kKeepalive) {
          server_end = std::max(server_end, env.keepalive.wal_end);
          if (env.keepalive.reply_requested) {
            HRFLOW_TRY(send_status(repl, false));
            last_status = Clock::now();
          }
        } else {
          HRFLOW_TRY(on_message(env.data));
        }
      }
      bool idle = got == CopyRead::kNone;
      if (!batch_.empty() && (idle || batch_.size() >= o_.batch_rows || Clock::now() - batch_start_ >= o_.batch_age)) {
        HRFLOW_TRY(flush(repl));
        last_status = Clock::now();
      }
      // Nothing in flight: the position can move up to what the server has read, so that WAL with
      // no changes for us (other tables, other databases) is freed too.
      bool settled = !in_txn_ && batch_.empty();
      if (settled && server_end > stored_ &&
          (Clock::now() - last_status >= o_.status_interval || (target && server_end >= *target))) {
        HRFLOW_TRY(wh_.commit({}, o_.slot, server_end, std::nullopt));
        stored_ = server_end;
        HRFLOW_TRY(send_status(repl, false));
        last_status = Clock::now();
      }
      if (target && settled && server_end >= *target && stored_ >= std::min(server_end, *target)) break;
      if (idle) {
        // Ask the server how far it has read: its keepalive answer tells when we are caught up.
        if (target && Clock::now() - last_reply_request >= std::chrono::milliseconds(200)) {
          HRFLOW_TRY(send_status(repl, true));
          last_reply_request = last_status = Clock::now();
        } else if (Clock::now() - last_status >= o_.status_interval) {
          HRFLOW_TRY(send_status(repl, false));
          last_status = Clock::now();
        }
      }
    }
    if (!batch_.empty()) HRFLOW_TRY(flush(repl));
    return {};
  }

  uint64_t stored() const { return stored_; }

 private:
  Status send_status(PgConnection& repl, bool reply) {
    return repl.put_copy(pgoutput::standby_status_update(stored_, SystemClock::instance().now_ms() * 1000, reply));
  }

  Status flush(PgConnection& repl) {
    HRFLOW_TRY(wh_.commit(batch_, o_.slot, batch_end_, std::nullopt));
    stored_ = batch_end_;
    stats_.lsn = stored_;
    progress_.add(batch_.size());
    batch_.clear();
    return send_status(repl, false);
  }

  Status on_message(const pgoutput::XLogData& data) {
    HRFLOW_ASSIGN_OR_RETURN(auto m, pgoutput::parse_message(data.payload));
    using M = pgoutput::Message;
    switch (m.kind) {
      case M::kBegin:
        in_txn_ = true;
        txn_time_ = m.commit_time_unix_us;
        txn_.clear();
        txn_counts_ = {0, 0, 0};
        return {};
      case M::kCommit:
        in_txn_ = false;
        if (m.end_lsn <= stored_) {  // already in the warehouse (replayed after a crash before the ack)
          txn_.clear();
          return {};
        }
        if (batch_.empty()) batch_start_ = Clock::now();
        for (auto& r : txn_) {
          ++stats_.rows_by_table[wh_.at(r.table).name];
          batch_.push_back(std::move(r));
        }
        txn_.clear();
        batch_end_ = m.end_lsn;
        stats_.inserts += txn_counts_[0];
        stats_.updates += txn_counts_[1];
        stats_.deletes += txn_counts_[2];
        ++stats_.transactions;
        return {};
      case M::kRelation: {
        std::vector<SourceColumn> cols;
        for (const auto& c : m.relation.columns) cols.push_back({c.name, c.type_oid, c.key});
        HRFLOW_ASSIGN_OR_RETURN(size_t idx, wh_.table(m.relation.name, cols));
        Rel rel{idx, {}};
        const auto& raw_cols = wh_.at(idx).columns;
        for (const auto& c : m.relation.columns) {
          rel.positions.push_back(static_cast<size_t>(std::find(raw_cols.begin(), raw_cols.end(), c.name) - raw_cols.begin()));
        }
        rel.names.reserve(m.relation.columns.size());
        for (const auto& c : m.relation.columns) rel.names.push_back(c.name);
        rel.width = raw_cols.size();
        relations_[m.relation.oid] = std::move(rel);
        return {};
      }
      case M::kInsert:
      case M::kUpdate:
      case M::kDelete: {
        auto it = relations_.find(m.relation_oid);
        if (it == relations_.end()) {
          return corrupt("pgoutput change for relation {} at LSN {} arrived before its Relation message",
                         m.relation_oid, format_lsn(data.wal_start));
        }
        const Rel& rel = it->second;
        PendingRow row;
        row.table = rel.table;
        row.lsn = data.wal_start;
        row.updated_at_us = txn_time_;
        row.values.assign(rel.width, std::nullopt);
        const pgoutput::Tuple& tuple = m.kind == M::kDelete ? *m.old_tuple : m.new_tuple;
        std::string changes;
        for (size_t i = 0; i < tuple.size() && i < rel.positions.size(); ++i) {
          const auto& v = tuple[i];
          if (v.kind == pgoutput::Value::kText) {
            row.values[rel.positions[i]] = v.text;
          } else if (v.kind == pgoutput::Value::kUnchanged) {
            // PostgreSQL does not resend unchanged TOASTed values; say so rather than pretend NULL.
            if (!changes.empty()) changes += ',';
            changes += R"({"field":)";
            append_json_string(changes, rel.names[i]);
            changes += R"(,"change":"NULLED","reason":"SOURCE_RETRIEVAL_ERROR"})";
          }
        }
        row.meta = changes.empty() ? std::string(kCleanMeta) : R"({"changes":[)" + changes + R"(],"errors":[]})";
        row.deleted = m.kind == M::kDelete;
        ++txn_counts_[m.kind == M::kInsert ? 0 : m.kind == M::kUpdate ? 1 : 2];
        txn_.push_back(std::move(row));
        return {};
      }
      case M::kTruncate:
        spdlog::warn("sync oltp: a TRUNCATE at LSN {} is not represented in the raw tables (they keep every "
                     "version); downstream models still see the rows",
                     format_lsn(data.wal_start));
        return {};
      case M::kOther:
        return {};
    }
    return {};
  }

  struct Rel {
    size_t table = 0;
    std::vector<size_t> positions;
    std::vector<std::string> names;
    size_t width = 0;
  };

  const CdcOptions& o_;
  Warehouse& wh_;
  CdcStats& stats_;
  Progress& progress_;
  uint64_t stored_;
  std::unordered_map<uint32_t, Rel> relations_;
  bool in_txn_ = false;
  int64_t txn_time_ = 0;
  std::array<uint64_t, 3> txn_counts_{};
  std::vector<PendingRow> txn_, batch_;
  uint64_t batch_end_ = 0;
  Clock::time_point batch_start_;
};

// "2024-04-01 12:00:00.123456+00" (TimeZone=UTC, DateStyle=ISO) -> microseconds since the epoch.
Result<int64_t> parse_pg_timestamp(const std::string& ts) {
  int y, mo, d, h, mi;
  double s;
  if (std::sscanf(ts.c_str(), "%d-%d-%d %d:%d:%lf", &y, &mo, &d, &h, &mi, &s) != 6) {
    return corrupt("unexpected PostgreSQL timestamp '{}'", ts);
  }
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  return static_cast<int64_t>(timegm(&tm)) * 1000000 + static_cast<int64_t>(s * 1e6 + 0.5);
}

// Create the slot with an exported snapshot and copy the published tables inside it.
Result<uint64_t> take_snapshot(const CdcOptions& o, PgConnection& pg, Warehouse& wh, const Publication& pub,
                               CdcStats& stats) {
  HRFLOW_ASSIGN_OR_RETURN(auto repl, PgConnection::connect(o.url, {.replication = true}));
  HRFLOW_ASSIGN_OR_RETURN(auto created, repl.exec(fmt::format("CREATE_REPLICATION_SLOT {} LOGICAL pgoutput EXPORT_SNAPSHOT",
                                                              quote_identifier(o.slot))));
  HRFLOW_ASSIGN_OR_RETURN(uint64_t consistent, parse_lsn(created.text(0, 1)));
  std::string snapshot = created.text(0, 2);
  spdlog::info("sync oltp: created replication slot '{}' at {}; copying the tables in its snapshot", o.slot,
               format_lsn(consistent));

  HRFLOW_TRY(pg.exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  HRFLOW_TRY(pg.exec(fmt::format("SET TRANSACTION SNAPSHOT {}", quote_literal(snapshot))));
  HRFLOW_ASSIGN_OR_RETURN(auto tcs, pg.exec("SELECT current_setting('track_commit_timestamp') = 'on', now()::text"));
  bool commit_ts = tcs.text(0, 0) == "t";
  // When track_commit_timestamp is on, a row's version time is its inserting transaction's commit
  // time (rows older than the setting have none); otherwise the snapshot's time.
  std::string version_time =
      commit_ts ? "coalesce(pg_xact_commit_timestamp(t.xmin), now())::text" : "now()::text";

  Progress progress("sync oltp snapshot", "rows", 0, o.progress);
  std::vector<PendingRow> rows;
  std::vector<Field> fields;
  for (const auto& t : pub.tables) {
    HRFLOW_ASSIGN_OR_RETURN(size_t idx, wh.table(t.name, t.columns));
    const auto& raw_cols = wh.at(idx).columns;
    std::vector<size_t> positions;
    std::string select;
    for (const auto& c : t.columns) {
      positions.push_back(static_cast<size_t>(std::find(raw_cols.begin(), raw_cols.end(), c.name) - raw_cols.begin()));
      select += "t." + quote_identifier(c.name) + ", ";
    }
    std::string sql = fmt::format("COPY (SELECT {}{} FROM {}.{} t) TO STDOUT", select, version_time,
                                  quote_identifier(t.schema), quote_identifier(t.name));
    uint64_t line_no = 0;
    HRFLOW_TRY(pg.copy_out(sql, [&](std::string_view line) -> Status {
      ++line_no;
      if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
      if (!parse_copy_text_line(line, fields) || fields.size() != t.columns.size() + 1 || !fields.back()) {
        return corrupt("snapshot of {}.{}: row {} is not in COPY text format", t.schema, t.name, line_no);
      }
      PendingRow row;
      row.table = idx;
      row.values.assign(raw_cols.size(), std::nullopt);
      for (size_t i = 0; i < t.columns.size(); ++i) row.values[positions[i]] = std::move(fields[i]);
      row.meta = std::string(kCleanMeta);
      row.lsn = consistent;
      // "2024-04-01 12:00:00.123+00" -> microseconds: let DuckDB parse it; keep text here.
      row.updated_at_us = 0;
      row.values.push_back(std::move(fields.back()));  // version time, taken off below
      rows.push_back(std::move(row));
      progress.add(1);
      return {};
    }));
  }
  HRFLOW_TRY(pg.exec("COMMIT"));
  // Version times came as text; convert them once here (format_timestamp_utc needs microseconds).
  for (auto& row : rows) {
    std::string ts = *row.values.back();
    row.values.pop_back();
    HRFLOW_ASSIGN_OR_RETURN(int64_t us, parse_pg_timestamp(ts));
    row.updated_at_us = us;
  }
  if (o.resnapshot) {
    // Keep the raw tables free of duplicate versions: a version (key, commit time) already loaded is
    // not appended again.
    size_t before = rows.size();
    for (const auto& t : pub.tables) {
      HRFLOW_ASSIGN_OR_RETURN(size_t idx, wh.table(t.name, t.columns));
      const auto& raw_cols = wh.at(idx).columns;
      std::vector<std::string> keys;
      std::vector<size_t> key_pos;
      for (const auto& c : t.columns) {
        if (!c.key) continue;
        keys.push_back(c.name);
        key_pos.push_back(static_cast<size_t>(std::find(raw_cols.begin(), raw_cols.end(), c.name) - raw_cols.begin()));
      }
      if (keys.empty()) continue;
      HRFLOW_ASSIGN_OR_RETURN(auto have, wh.existing_versions(t.name, keys));
      std::erase_if(rows, [&](const PendingRow& r) {
        if (r.table != idx) return false;
        std::string k;
        for (size_t p : key_pos) k += r.values[p].value_or("") + '\x1f';
        k += std::to_string(r.updated_at_us);
        return std::binary_search(have.begin(), have.end(), k);
      });
    }
    spdlog::info("sync oltp: re-snapshot: {} rows, {} of them versions already in the warehouse", before,
                 before - rows.size());
  }
  HRFLOW_TRY(wh.commit(rows, o.slot, consistent, consistent));
  progress.finish();
  stats.snapshot_rows = rows.size();
  for (const auto& r : rows) ++stats.rows_by_table[wh.at(r.table).name];
  stats.snapshot_taken = true;
  stats.lsn = consistent;
  return consistent;
}

}  // namespace

std::string oltp_url(const Config& config) {
  std::string url = config.get_string("oltp.url");
  if (!url.empty()) return url;
  return fmt::format("postgresql://postgres@127.0.0.1:{}/{}", config.get_int("oltp.port"),
                     config.get_string("oltp.database"));
}

Result<CdcStats> CdcSource::run(const CdcOptions& o, db::Database& database) {
  CdcStats stats;
  HRFLOW_ASSIGN_OR_RETURN(auto conn, db::Connection::connect(database));
  Warehouse wh(std::move(conn));
  HRFLOW_TRY(wh.init());

  Backoff backoff({500, o.max_backoff.count()});
  const StopToken& stop = o.stop;
  Progress progress("sync oltp", "changes", 0, o.progress);
  for (;;) {
    Status session = [&]() -> Status {
      HRFLOW_ASSIGN_OR_RETURN(auto pg, PgConnection::connect(o.url));
      HRFLOW_ASSIGN_OR_RETURN(auto wal, pg.exec("SELECT current_setting('wal_level')"));
      if (wal.text(0, 0) != "logical") {
        return invalid_argument("PostgreSQL {} has wal_level = {}; CDC needs wal_level = logical (set it in "
                                "postgresql.conf and restart PostgreSQL)",
                                pg.where(), wal.text(0, 0));
      }
      HRFLOW_ASSIGN_OR_RETURN(auto pub, ensure_publication(pg, o));
      HRFLOW_ASSIGN_OR_RETURN(auto stored, wh.stored_lsn(o.slot));
      HRFLOW_ASSIGN_OR_RETURN(auto slot, slot_info(pg, o.slot));
      bool resnapshot = o.resnapshot && !stats.snapshot_taken;
      // A sync that was killed leaves its walsender behind for a moment: give it time to notice.
      for (int i = 0; i < 100 && slot.exists && slot.active_pid; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        HRFLOW_ASSIGN_OR_RETURN(slot, slot_info(pg, o.slot));
      }
      if (slot.exists && slot.active_pid) {
        return Error{ErrorKind::kUnavailable,
                     fmt::format("replication slot '{}' is in use by PostgreSQL process {} (another `hrflow sync`?); "
                                 "stop it first",
                                 o.slot, *slot.active_pid),
                     true};
      }
      if (!stored || resnapshot) {
        // A slot without a stored position (ours from a run that died before its snapshot committed,
        // or someone else's) cannot give a snapshot consistent with it: start it afresh.
        if (slot.exists) {
          spdlog::info("sync oltp: dropping replication slot '{}' to take a new snapshot", o.slot);
          HRFLOW_TRY(pg.exec("SELECT pg_drop_replication_slot($1)", {o.slot}));
        }
        HRFLOW_ASSIGN_OR_RETURN(uint64_t lsn, take_snapshot(o, pg, wh, pub, stats));
        stored = lsn;
      } else {
        if (!slot.exists) return slot_lost(o, fmt::format("no longer exists on PostgreSQL {}", pg.where()));
        if (slot.wal_status == "lost") return slot_lost(o, "lost the WAL it needed (max_slot_wal_keep_size)");
        if (slot.plugin != "pgoutput") {
          return invalid_argument("replication slot '{}' uses the '{}' plugin, not pgoutput; choose another "
                                  "sync.cdc.slot or drop this slot",
                                  o.slot, slot.plugin);
        }
        if (slot.confirmed_flush && *slot.confirmed_flush > *stored) {
          return slot_lost(o, fmt::format("was advanced to {} by another consumer, past the warehouse's {}",
                                          format_lsn(*slot.confirmed_flush), format_lsn(*stored)));
        }
      }
      std::optional<uint64_t> target;
      if (!o.follow) {
        HRFLOW_ASSIGN_OR_RETURN(auto cur, pg.exec("SELECT pg_current_wal_insert_lsn()::text"));
        HRFLOW_ASSIGN_OR_RETURN(uint64_t t, parse_lsn(cur.text(0, 0)));
        target = t;
      }
      HRFLOW_ASSIGN_OR_RETURN(auto repl, PgConnection::connect(o.url, {.replication = true}));
      backoff.reset();
      Stream stream(o, wh, stats, progress, *stored);
      Status st = stream.run(repl, target);
      stats.lsn = stream.stored();
      return st;
    }();
    if (session.ok()) break;
    const Error& e = session.error();
    if (!o.follow || !e.retriable || stop.stop_requested()) return e;
    ++stats.reconnects;
    spdlog::warn("sync oltp: {}; reconnecting (attempt {})", e.message, backoff.failures() + 1);
    if (!backoff.wait(stop)) break;
  }
  progress.finish();
  return stats;
}

}  // namespace hrflow::ingest
