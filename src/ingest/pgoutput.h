// Decoding of PostgreSQL's logical replication stream: the COPY BOTH envelope (XLogData 'w',
// primary keepalive 'k'), the standby status update we send back ('r'), and the pgoutput protocol
// version 1 messages inside XLogData (Begin, Relation, Insert, Update, Delete, Commit, Truncate, ...).
// See PostgreSQL's "Streaming Replication Protocol" and "Logical Replication Message Formats".
//
// Pure functions over bytes: no I/O, safe from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace hrflow::ingest::pgoutput {

// Microseconds between the Unix epoch and PostgreSQL's epoch (2000-01-01 UTC).
inline constexpr int64_t kPgEpochOffsetUs = 946684800LL * 1000000LL;

struct XLogData {
  uint64_t wal_start = 0;  // LSN of the record this message was decoded from
  uint64_t wal_end = 0;
  std::string_view payload;  // a pgoutput message
};
struct Keepalive {
  uint64_t wal_end = 0;  // how far the server has read the WAL
  bool reply_requested = false;
};
struct Envelope {
  enum Kind { kXLogData, kKeepalive } kind;
  XLogData data;
  Keepalive keepalive;
};
Result<Envelope> parse_envelope(std::string_view msg);

// The standby status update: everything up to `flushed` is durably stored by us.
std::string standby_status_update(uint64_t flushed, int64_t now_unix_us, bool reply_requested);

struct Column {
  bool key = false;
  std::string name;
  uint32_t type_oid = 0;
  int32_t type_mod = -1;
};
struct Relation {
  uint32_t oid = 0;
  std::string schema, name;
  std::vector<Column> columns;
};

// One column of a tuple: NULL, unchanged TOAST value (not sent), or text.
struct Value {
  enum Kind : char { kNull = 'n', kUnchanged = 'u', kText = 't' } kind = kNull;
  std::string text;
};
using Tuple = std::vector<Value>;

struct Message {
  enum Kind { kBegin, kCommit, kRelation, kInsert, kUpdate, kDelete, kTruncate, kOther } kind = kOther;
  // Begin: final_lsn, commit time, xid. Commit: commit_lsn, end_lsn, commit time.
  uint64_t lsn = 0, end_lsn = 0;
  int64_t commit_time_unix_us = 0;
  uint32_t xid = 0;
  Relation relation;         // Relation
  uint32_t relation_oid = 0;  // Insert/Update/Delete
  Tuple new_tuple;            // Insert/Update
  std::optional<Tuple> old_tuple;  // Update/Delete: key ('K') or old row ('O')
  std::vector<uint32_t> truncated;  // Truncate
  char tag = 0;
};
Result<Message> parse_message(std::string_view payload);

}  // namespace hrflow::ingest::pgoutput
