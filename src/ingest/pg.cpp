#include "ingest/pg.h"

#include <poll.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <utility>

#include "common/config.h"

namespace hrflow::ingest {

PgResult& PgResult::operator=(PgResult&& o) noexcept {
  if (this != &o) {
    if (r_) PQclear(r_);
    r_ = std::exchange(o.r_, nullptr);
  }
  return *this;
}
PgResult::~PgResult() {
  if (r_) PQclear(r_);
}
std::optional<std::string> PgResult::get_opt(int row, int col) const {
  if (is_null(row, col)) return std::nullopt;
  return get(row, col);
}

PgConnection& PgConnection::operator=(PgConnection&& o) noexcept {
  if (this != &o) {
    if (c_) PQfinish(c_);
    c_ = std::exchange(o.c_, nullptr);
    where_ = std::move(o.where_);
  }
  return *this;
}
PgConnection::~PgConnection() {
  if (c_) PQfinish(c_);
}

Result<PgConnection> PgConnection::connect(const std::string& url, bool replication) {
  // UTC and ISO dates so that timestamps arrive unambiguous in text form, from SQL and from pgoutput.
  std::vector<const char*> keys = {"dbname", "options", "application_name", "connect_timeout"};
  std::vector<const char*> values = {url.c_str(), "-c TimeZone=UTC -c DateStyle=ISO -c extra_float_digits=3",
                                     "hrflow-sync", "10"};
  if (replication) {
    keys.push_back("replication");
    values.push_back("database");
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* c = PQconnectdbParams(keys.data(), values.data(), 1);
  if (c == nullptr) return make_error(ErrorKind::kUnavailable, "out of memory connecting to PostgreSQL");
  std::string where = mask_url_password(url);
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(c);
    PQfinish(c);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    return Error{ErrorKind::kUnavailable,
                 fmt::format("cannot connect to PostgreSQL at {}: {} (is it running? check oltp.url, or start "
                             "the managed one with `hrflow oltp up`)",
                             where, msg),
                 true};
  }
  where = fmt::format("{}:{}/{}", PQhost(c), PQport(c), PQdb(c));
  return PgConnection(c, where);
}

Error PgConnection::connection_error(std::string_view what) const {
  std::string msg = c_ ? PQerrorMessage(c_) : "no connection";
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  bool lost = c_ == nullptr || PQstatus(c_) != CONNECTION_OK;
  return Error{lost ? ErrorKind::kUnavailable : ErrorKind::kInvalidArgument,
               fmt::format("PostgreSQL {}: {}: {}", where_, what, msg), lost};
}

Result<PgResult> PgConnection::exec(std::string_view sql, const std::vector<std::optional<std::string>>& params) {
  std::string q(sql);
  std::vector<const char*> values;
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  PGresult* r = params.empty() ? PQexec(c_, q.c_str())
                               : PQexecParams(c_, q.c_str(), static_cast<int>(values.size()), nullptr,
                                              values.data(), nullptr, nullptr, 0);
  PgResult res(r);
  auto st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
    std::string shown = q.size() > 200 ? q.substr(0, 200) + "..." : q;
    return connection_error(shown);
  }
  return res;
}

Status PgConnection::copy_out(std::string_view sql, const std::function<Status(std::string_view)>& on_line) {
  std::string q(sql);
  {
    PgResult started(PQexec(c_, q.c_str()));
    if (PQresultStatus(started.raw()) != PGRES_COPY_OUT) return connection_error(q);
  }
  Status failure;
  for (;;) {
    char* buf = nullptr;
    int n = PQgetCopyData(c_, &buf, 0);
    if (n == -1) break;
    if (n == -2) return connection_error(q);
    std::string_view line(buf, static_cast<size_t>(n));
    if (!line.empty() && line.back() == '\n') line.remove_suffix(1);
    if (failure.ok()) failure = on_line(line);
    PQfreemem(buf);
  }
  PgResult end(PQgetResult(c_));
  while (PGresult* extra = PQgetResult(c_)) PQclear(extra);
  if (PQresultStatus(end.raw()) != PGRES_COMMAND_OK) return connection_error(q);
  return failure;
}

Status PgConnection::start_copy_both(std::string_view command) {
  std::string q(command);
  PgResult r(PQexec(c_, q.c_str()));
  if (PQresultStatus(r.raw()) != PGRES_COPY_BOTH) return connection_error(q);
  return {};
}

Result<CopyRead> PgConnection::read_copy(std::string& out, std::chrono::milliseconds wait) {
  for (int round = 0; round < 2; ++round) {
    char* buf = nullptr;
    int n = PQgetCopyData(c_, &buf, 1);
    if (n > 0) {
      out.assign(buf, static_cast<size_t>(n));
      PQfreemem(buf);
      return CopyRead::kData;
    }
    if (n == -1) {
      // The server ended the stream; collect its final result (an error explains why).
      PgResult end(PQgetResult(c_));
      if (end.raw() && PQresultStatus(end.raw()) != PGRES_COMMAND_OK) return connection_error("replication stream");
      return CopyRead::kEnd;
    }
    if (n == -2) return connection_error("replication stream");
    if (round == 1) break;
    pollfd pfd{PQsocket(c_), POLLIN, 0};
    int ready = poll(&pfd, 1, static_cast<int>(wait.count()));
    if (ready < 0 && errno != EINTR) return connection_error("poll");
    if (ready <= 0) return CopyRead::kNone;
    if (PQconsumeInput(c_) == 0) return connection_error("replication stream");
  }
  return CopyRead::kNone;
}

Status PgConnection::put_copy(std::string_view data) {
  if (PQputCopyData(c_, data.data(), static_cast<int>(data.size())) != 1 || PQflush(c_) != 0) {
    return connection_error("sending to the replication stream");
  }
  return {};
}

std::string pg_quote_identifier(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string pg_quote_literal(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

bool parse_copy_text_line(std::string_view line, std::vector<std::optional<std::string>>& fields) {
  fields.clear();
  size_t i = 0;
  for (;;) {
    size_t end = line.find('\t', i);
    std::string_view raw = line.substr(i, end == std::string_view::npos ? std::string_view::npos : end - i);
    if (raw == "\\N") {
      fields.emplace_back(std::nullopt);
    } else {
      std::string v;
      v.reserve(raw.size());
      for (size_t k = 0; k < raw.size(); ++k) {
        char c = raw[k];
        if (c != '\\') {
          v += c;
          continue;
        }
        if (++k >= raw.size()) return false;
        char e = raw[k];
        switch (e) {
          case 'b': v += '\b'; break;
          case 'f': v += '\f'; break;
          case 'n': v += '\n'; break;
          case 'r': v += '\r'; break;
          case 't': v += '\t'; break;
          case 'v': v += '\v'; break;
          case 'x': {
            int val = 0, digits = 0;
            while (digits < 2 && k + 1 < raw.size() && std::isxdigit(static_cast<unsigned char>(raw[k + 1]))) {
              char h = raw[++k];
              val = val * 16 + (std::isdigit(static_cast<unsigned char>(h)) ? h - '0' : (std::tolower(h) - 'a' + 10));
              ++digits;
            }
            if (digits == 0) return false;
            v += static_cast<char>(val);
            break;
          }
          default:
            if (e >= '0' && e <= '7') {
              int val = e - '0', digits = 1;
              while (digits < 3 && k + 1 < raw.size() && raw[k + 1] >= '0' && raw[k + 1] <= '7') {
                val = val * 8 + (raw[++k] - '0');
                ++digits;
              }
              v += static_cast<char>(val);
            } else {
              v += e;  // \\ and any other escaped character stand for themselves
            }
        }
      }
      fields.emplace_back(std::move(v));
    }
    if (end == std::string_view::npos) break;
    i = end + 1;
  }
  return true;
}

Result<uint64_t> parse_lsn(std::string_view text) {
  unsigned hi = 0, lo = 0;
  std::string t(text);
  char extra = 0;
  if (std::sscanf(t.c_str(), "%X/%X%c", &hi, &lo, &extra) != 2) return invalid_argument("not an LSN: '{}'", text);
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

std::string format_lsn(uint64_t lsn) {
  return fmt::format("{:X}/{:X}", static_cast<uint32_t>(lsn >> 32), static_cast<uint32_t>(lsn));
}

}  // namespace hrflow::ingest
