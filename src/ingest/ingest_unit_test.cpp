// Unit tests of the ingestion building blocks that need no service: pgoutput decoding, COPY text
// parsing, LSN text, Airbyte columns.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "ingest/airbyte.h"
#include "common/pg.h"
#include "ingest/pgoutput.h"

namespace hrflow::ingest {
namespace {

void u8(std::string& s, uint8_t v) { s += static_cast<char>(v); }
void u16(std::string& s, uint16_t v) { u8(s, v >> 8), u8(s, v & 0xff); }
void u32(std::string& s, uint32_t v) { u16(s, v >> 16), u16(s, v & 0xffff); }
void u64(std::string& s, uint64_t v) { u32(s, v >> 32), u32(s, v & 0xffffffff); }
void cstr(std::string& s, const std::string& v) { s += v, s += '\0'; }
void text_col(std::string& s, const std::string& v) { u8(s, 't'), u32(s, static_cast<uint32_t>(v.size())), s += v; }

TEST(PgOutput, DecodesBeginAndCommitWithUnixTimes) {
  std::string b = "B";
  u64(b, 0x16B374D848ULL);
  u64(b, 765432100000000ULL);  // microseconds since 2000-01-01
  u32(b, 777);
  auto m = pgoutput::parse_message(b);
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(m->kind, pgoutput::Message::kBegin);
  EXPECT_EQ(m->lsn, 0x16B374D848ULL);
  EXPECT_EQ(m->xid, 777u);
  EXPECT_EQ(m->commit_time_unix_us, 765432100000000LL + pgoutput::kPgEpochOffsetUs);

  std::string c = "C";
  u8(c, 0);
  u64(c, 100);
  u64(c, 164);
  u64(c, 1);
  auto cm = pgoutput::parse_message(c);
  ASSERT_TRUE(cm.ok());
  EXPECT_EQ(cm->kind, pgoutput::Message::kCommit);
  EXPECT_EQ(cm->end_lsn, 164u);
  EXPECT_FALSE(pgoutput::parse_message(c.substr(0, 10)).ok()) << "a truncated message is an error";
}

TEST(PgOutput, DecodesRelationAndTuples) {
  std::string r = "R";
  u32(r, 16384);
  cstr(r, "public");
  cstr(r, "users");
  u8(r, 'd');
  u16(r, 2);
  u8(r, 1), cstr(r, "user_id"), u32(r, 23), u32(r, 0xffffffff);
  u8(r, 0), cstr(r, "first_name"), u32(r, 1043), u32(r, 0xffffffff);
  auto rel = pgoutput::parse_message(r);
  ASSERT_TRUE(rel.ok()) << rel.error().message;
  ASSERT_EQ(rel->relation.columns.size(), 2u);
  EXPECT_EQ(rel->relation.name, "users");
  EXPECT_TRUE(rel->relation.columns[0].key);
  EXPECT_FALSE(rel->relation.columns[1].key);
  EXPECT_EQ(rel->relation.columns[1].type_mod, -1);

  std::string u = "U";
  u32(u, 16384);
  u8(u, 'K'), u16(u, 2), text_col(u, "10001"), u8(u, 'n');
  u8(u, 'N'), u16(u, 2), text_col(u, "10002"), u8(u, 'u');
  auto upd = pgoutput::parse_message(u);
  ASSERT_TRUE(upd.ok()) << upd.error().message;
  ASSERT_TRUE(upd->old_tuple.has_value());
  EXPECT_EQ((*upd->old_tuple)[0].text, "10001");
  EXPECT_EQ(upd->new_tuple[0].text, "10002");
  EXPECT_EQ(upd->new_tuple[1].kind, pgoutput::Value::kUnchanged);

  std::string d = "D";
  u32(d, 16384);
  u8(d, 'K'), u16(d, 2), text_col(d, "10003"), u8(d, 'n');
  auto del = pgoutput::parse_message(d);
  ASSERT_TRUE(del.ok());
  EXPECT_EQ(del->kind, pgoutput::Message::kDelete);
  EXPECT_EQ((*del->old_tuple)[1].kind, pgoutput::Value::kNull);
}

TEST(PgOutput, EnvelopeAndStatusUpdate) {
  std::string k = "k";
  u64(k, 0xABCDEF);
  u64(k, 5);
  u8(k, 1);
  auto e = pgoutput::parse_envelope(k);
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->kind, pgoutput::Envelope::kKeepalive);
  EXPECT_EQ(e->keepalive.wal_end, 0xABCDEFu);
  EXPECT_TRUE(e->keepalive.reply_requested);

  std::string w = "w";
  u64(w, 42), u64(w, 43), u64(w, 0);
  w += "Bpayload";
  auto x = pgoutput::parse_envelope(w);
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(x->data.wal_start, 42u);
  EXPECT_EQ(x->data.payload, "Bpayload");

  std::string s = pgoutput::standby_status_update(0x0102030405060708ULL, pgoutput::kPgEpochOffsetUs, true);
  ASSERT_EQ(s.size(), 34u);
  EXPECT_EQ(s[0], 'r');
  EXPECT_EQ(s[1], 0x01);
  EXPECT_EQ(s[8], 0x08);
  EXPECT_EQ(s[33], 1);
  EXPECT_FALSE(pgoutput::parse_envelope("z").ok());
}

TEST(CopyText, SplitsFieldsAndUndoesEscapes) {
  std::vector<std::optional<std::string>> f;
  ASSERT_TRUE(parse_copy_text_line("10001\tAnne\\tMarie\t\\N\tO'Brien\\\\x\t\\101\\x42\t", f));
  ASSERT_EQ(f.size(), 6u);
  EXPECT_EQ(*f[0], "10001");
  EXPECT_EQ(*f[1], "Anne\tMarie");
  EXPECT_FALSE(f[2].has_value());
  EXPECT_EQ(*f[3], "O'Brien\\x");
  EXPECT_EQ(*f[4], "AB");
  EXPECT_EQ(*f[5], "");
  EXPECT_FALSE(parse_copy_text_line("bad\\", f));
}

TEST(Lsn, RoundTrips) {
  auto v = parse_lsn("16/B374D848");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 0x16B374D848ULL);
  EXPECT_EQ(format_lsn(*v), "16/B374D848");
  EXPECT_EQ(format_lsn(0), "0/0");
  EXPECT_FALSE(parse_lsn("nope").ok());
}

TEST(Airbyte, UuidsAreVersion7InOrderAndDistinct) {
  UuidGenerator g;
  g.start(1711950000123);  // 0x18e982beffb
  std::vector<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    std::string u = g.next();
    ASSERT_EQ(u.size(), 36u);
    EXPECT_EQ(u.substr(0, 13), "018e982b-effb") << u;  // the milliseconds
    EXPECT_EQ(u[14], '7');
    EXPECT_TRUE(u[19] == '8' || u[19] == '9' || u[19] == 'a' || u[19] == 'b');
    if (!ids.empty()) {
      EXPECT_LT(ids.back(), u);  // in the order they were drawn
    }
    ids.push_back(u);
  }
  std::set<std::string> seen(ids.begin(), ids.end());
  // A new sequence in the same millisecond, and another generator's, share no id with this one.
  g.start(1711950000123);
  UuidGenerator other;
  other.start(1711950000123);
  for (int i = 0; i < 1000; ++i) {
    EXPECT_EQ(seen.count(g.next()), 0u);
    EXPECT_EQ(seen.count(other.next()), 0u);
  }
}

TEST(Airbyte, TimestampsAndJsonStrings) {
  EXPECT_EQ(format_timestamp_utc(0), "1970-01-01 00:00:00.000000+00");
  EXPECT_EQ(format_timestamp_utc(1711943972123456LL), "2024-04-01 03:59:32.123456+00");
  std::string out;
  append_json_string(out, "a\"b\\c\n\x01");
  EXPECT_EQ(out, R"("a\"b\\c\n\u0001")");
}

}  // namespace
}  // namespace hrflow::ingest
