#include "ingest/pgoutput.h"

#include <cstring>

namespace hrflow::ingest::pgoutput {
namespace {

// Big-endian reader over a message; every read checks the bounds.
class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}
  bool u8(uint8_t& v) { return take(1, &v); }
  bool u16(uint16_t& v) {
    uint8_t b[2];
    if (!take(2, b)) return false;
    v = static_cast<uint16_t>((b[0] << 8) | b[1]);
    return true;
  }
  bool u32(uint32_t& v) {
    uint8_t b[4];
    if (!take(4, b)) return false;
    v = (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
    return true;
  }
  bool u64(uint64_t& v) {
    uint32_t hi, lo;
    if (!u32(hi) || !u32(lo)) return false;
    v = (uint64_t{hi} << 32) | lo;
    return true;
  }
  bool cstr(std::string& v) {
    size_t end = s_.find('\0', pos_);
    if (end == std::string_view::npos) return false;
    v.assign(s_.substr(pos_, end - pos_));
    pos_ = end + 1;
    return true;
  }
  bool bytes(size_t n, std::string& v) {
    if (s_.size() - pos_ < n) return false;
    v.assign(s_.substr(pos_, n));
    pos_ += n;
    return true;
  }
  std::string_view rest() const { return s_.substr(pos_); }

 private:
  bool take(size_t n, void* out) {
    if (s_.size() - pos_ < n) return false;
    std::memcpy(out, s_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  std::string_view s_;
  size_t pos_ = 0;
};

int64_t to_unix_us(uint64_t pg_us) { return static_cast<int64_t>(pg_us) + kPgEpochOffsetUs; }

bool read_tuple(Reader& r, Tuple& t) {
  uint16_t n;
  if (!r.u16(n)) return false;
  t.assign(n, Value{});
  for (auto& v : t) {
    uint8_t kind;
    if (!r.u8(kind)) return false;
    switch (kind) {
      case 'n': v.kind = Value::kNull; break;
      case 'u': v.kind = Value::kUnchanged; break;
      case 't': {
        uint32_t len;
        if (!r.u32(len) || !r.bytes(len, v.text)) return false;
        v.kind = Value::kText;
        break;
      }
      default: return false;  // 'b' (binary) is never sent with proto_version 1 and no binary option
    }
  }
  return true;
}

void put_u64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
}

}  // namespace

Result<Envelope> parse_envelope(std::string_view msg) {
  Reader r(msg);
  uint8_t tag;
  if (!r.u8(tag)) return corrupt("empty replication message");
  Envelope e{};
  if (tag == 'w') {
    e.kind = Envelope::kXLogData;
    uint64_t send_time;
    if (!r.u64(e.data.wal_start) || !r.u64(e.data.wal_end) || !r.u64(send_time)) {
      return corrupt("truncated XLogData message ({} bytes)", msg.size());
    }
    e.data.payload = r.rest();
    return e;
  }
  if (tag == 'k') {
    e.kind = Envelope::kKeepalive;
    uint64_t send_time;
    uint8_t reply;
    if (!r.u64(e.keepalive.wal_end) || !r.u64(send_time) || !r.u8(reply)) {
      return corrupt("truncated keepalive message ({} bytes)", msg.size());
    }
    e.keepalive.reply_requested = reply != 0;
    return e;
  }
  return corrupt("unknown replication message type '{}'", static_cast<char>(tag));
}

std::string standby_status_update(uint64_t flushed, int64_t now_unix_us, bool reply_requested) {
  std::string out = "r";
  put_u64(out, flushed);  // written
  put_u64(out, flushed);  // flushed
  put_u64(out, flushed);  // applied
  put_u64(out, static_cast<uint64_t>(now_unix_us - kPgEpochOffsetUs));
  out += static_cast<char>(reply_requested ? 1 : 0);
  return out;
}

Result<Message> parse_message(std::string_view payload) {
  Reader r(payload);
  Message m;
  uint8_t tag;
  if (!r.u8(tag)) return corrupt("empty pgoutput message");
  m.tag = static_cast<char>(tag);
  auto truncated = [&] { return corrupt("truncated pgoutput '{}' message ({} bytes)", m.tag, payload.size()); };
  switch (tag) {
    case 'B': {
      m.kind = Message::kBegin;
      uint64_t ts;
      if (!r.u64(m.lsn) || !r.u64(ts) || !r.u32(m.xid)) return truncated();
      m.commit_time_unix_us = to_unix_us(ts);
      return m;
    }
    case 'C': {
      m.kind = Message::kCommit;
      uint8_t flags;
      uint64_t ts;
      if (!r.u8(flags) || !r.u64(m.lsn) || !r.u64(m.end_lsn) || !r.u64(ts)) return truncated();
      m.commit_time_unix_us = to_unix_us(ts);
      return m;
    }
    case 'R': {
      m.kind = Message::kRelation;
      uint8_t replident;
      uint16_t ncols;
      if (!r.u32(m.relation.oid) || !r.cstr(m.relation.schema) || !r.cstr(m.relation.name) || !r.u8(replident) ||
          !r.u16(ncols)) {
        return truncated();
      }
      m.relation.columns.resize(ncols);
      for (auto& c : m.relation.columns) {
        uint8_t flags;
        uint32_t mod;
        if (!r.u8(flags) || !r.cstr(c.name) || !r.u32(c.type_oid) || !r.u32(mod)) return truncated();
        c.key = (flags & 1) != 0;
        c.type_mod = static_cast<int32_t>(mod);
      }
      return m;
    }
    case 'I': {
      m.kind = Message::kInsert;
      uint8_t n;
      if (!r.u32(m.relation_oid) || !r.u8(n) || n != 'N' || !read_tuple(r, m.new_tuple)) return truncated();
      return m;
    }
    case 'U': {
      m.kind = Message::kUpdate;
      uint8_t kind;
      if (!r.u32(m.relation_oid) || !r.u8(kind)) return truncated();
      if (kind == 'K' || kind == 'O') {
        Tuple old;
        if (!read_tuple(r, old) || !r.u8(kind)) return truncated();
        m.old_tuple = std::move(old);
      }
      if (kind != 'N' || !read_tuple(r, m.new_tuple)) return truncated();
      return m;
    }
    case 'D': {
      m.kind = Message::kDelete;
      uint8_t kind;
      Tuple old;
      if (!r.u32(m.relation_oid) || !r.u8(kind) || (kind != 'K' && kind != 'O') || !read_tuple(r, old)) {
        return truncated();
      }
      m.old_tuple = std::move(old);
      return m;
    }
    case 'T': {
      m.kind = Message::kTruncate;
      uint32_t n;
      uint8_t options;
      if (!r.u32(n) || !r.u8(options)) return truncated();
      m.truncated.resize(n);
      for (auto& oid : m.truncated) {
        if (!r.u32(oid)) return truncated();
      }
      return m;
    }
    default:
      m.kind = Message::kOther;  // Origin 'O', Type 'Y', Message 'M': nothing to load
      return m;
  }
}

}  // namespace hrflow::ingest::pgoutput
