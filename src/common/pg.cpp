#include "common/pg.h"

#include <poll.h>

#include <cctype>
#include <cerrno>
#include <cstdio>

#include "common/config.h"

namespace hrflow {

std::optional<std::string> PgResult::text_or_null(int row, int col) const {
  if (is_null(row, col)) return std::nullopt;
  return text(row, col);
}

int64_t PgResult::affected() const {
  const char* n = PQcmdTuples(r_.get());
  return (n && *n) ? std::stoll(n) : 0;
}

Result<PgConnection> PgConnection::connect(const std::string& url, const PgConnectOptions& options) {
  std::string display = mask_url_password(url);
  if (url.empty()) return invalid_argument("no PostgreSQL URL given (set oltp.url or leave it empty for the managed server)");
  std::string timeout = std::to_string(options.timeout_s);
  // UTC and ISO dates so that timestamps arrive unambiguous in text form, from SQL and from pgoutput.
  std::vector<const char*> keys = {"dbname", "connect_timeout", "options", "application_name"};
  std::vector<const char*> values = {url.c_str(), timeout.c_str(),
                                     "-c TimeZone=UTC -c DateStyle=ISO -c extra_float_digits=3",
                                     options.application_name};
  if (options.replication) {
    keys.push_back("replication");
    values.push_back("database");
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  PGconn* raw = PQconnectdbParams(keys.data(), values.data(), /*expand_dbname=*/1);
  PgConnection conn(raw, display);
  if (raw == nullptr) return make_error(ErrorKind::kIo, "cannot allocate a PostgreSQL connection");
  if (PQstatus(raw) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(raw);
    while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
    std::string hint;
    if (msg.find("password") != std::string::npos || msg.find("authentication") != std::string::npos ||
        msg.find("role \"") != std::string::npos) {
      hint = "check the user and password in oltp.url (or HRFLOW_OLTP_URL)";
      return Error{ErrorKind::kInvalidArgument,
                   fmt::format("cannot log in to PostgreSQL at {}: {}; {}", display, msg, hint), false};
    }
    if (msg.find("does not exist") != std::string::npos) {
      hint = "create the database or fix its name in oltp.url";
      return Error{ErrorKind::kNotFound, fmt::format("PostgreSQL at {}: {}; {}", display, msg, hint), false};
    }
    hint = "is the server running? Start the managed one with `hrflow oltp up`, or fix oltp.url";
    return Error{ErrorKind::kUnavailable, fmt::format("cannot reach PostgreSQL at {}: {}; {}", display, msg, hint),
                 true};
  }
  conn.where_ = fmt::format("{}:{}/{}", PQhost(raw), PQport(raw), PQdb(raw));
  return conn;
}

Error PgConnection::error(std::string_view what, const PGresult* r) const {
  std::string msg = r ? PQresultErrorMessage(r) : PQerrorMessage(c_.get());
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  bool lost = PQstatus(c_.get()) != CONNECTION_OK;
  return Error{lost ? ErrorKind::kUnavailable : ErrorKind::kIo,
               fmt::format("PostgreSQL at {}: {} failed: {}", where_, what, msg), lost};
}

namespace {
std::string first_words(std::string_view sql) {
  std::string s(sql.substr(0, 60));
  for (char& c : s) {
    if (c == '\n') c = ' ';
  }
  return sql.size() > 60 ? s + "..." : s;
}
}  // namespace

Result<PgResult> PgConnection::exec(std::string_view sql, const std::vector<std::optional<std::string>>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  const std::string q(sql);
  PgResult r(params.empty() ? PQexec(c_.get(), q.c_str())
                            : PQexecParams(c_.get(), q.c_str(), static_cast<int>(values.size()), nullptr,
                                           values.data(), nullptr, nullptr, 0));
  auto st = PQresultStatus(r.raw());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return error(first_words(sql), r.raw());
  return r;
}

Result<std::optional<std::string>> PgConnection::scalar(std::string_view sql) {
  HRFLOW_ASSIGN_OR_RETURN(auto r, exec(sql));
  if (r.rows() == 0 || r.columns() == 0 || r.is_null(0, 0)) return std::optional<std::string>{};
  return std::optional<std::string>(r.text(0, 0));
}

Status PgConnection::copy_in(std::string_view copy_sql, const std::function<Result<bool>(std::string&)>& produce) {
  PgResult start(PQexec(c_.get(), std::string(copy_sql).c_str()));
  if (PQresultStatus(start.raw()) != PGRES_COPY_IN) return error(first_words(copy_sql), start.raw());
  std::string buffer;
  std::optional<Error> failure;
  while (true) {
    buffer.clear();
    auto more = produce(buffer);
    if (!more.ok()) {
      failure = more.error();
      break;
    }
    if (!buffer.empty() && PQputCopyData(c_.get(), buffer.data(), static_cast<int>(buffer.size())) != 1) {
      return error("sending COPY data");
    }
    if (!*more) break;
  }
  if (PQputCopyEnd(c_.get(), failure ? failure->message.c_str() : nullptr) != 1) return error("ending COPY");
  PgResult end(PQgetResult(c_.get()));
  while (PGresult* extra = PQgetResult(c_.get())) PQclear(extra);
  if (failure) return *failure;
  if (PQresultStatus(end.raw()) != PGRES_COMMAND_OK) return error(first_words(copy_sql), end.raw());
  return {};
}

Status PgConnection::copy_out(std::string_view copy_sql, const std::function<Status(std::string_view)>& consume) {
  PgResult start(PQexec(c_.get(), std::string(copy_sql).c_str()));
  if (PQresultStatus(start.raw()) != PGRES_COPY_OUT) return error(first_words(copy_sql), start.raw());
  std::optional<Error> failure;
  while (true) {
    char* data = nullptr;
    int n = PQgetCopyData(c_.get(), &data, 0);
    if (n == -1) break;
    if (n == -2) return error("receiving COPY data");
    std::unique_ptr<char, void (*)(void*)> owned(data, &PQfreemem);
    if (!failure) {
      if (auto st = consume(std::string_view(data, static_cast<size_t>(n))); !st.ok()) failure = st.error();
    }
  }
  PgResult end(PQgetResult(c_.get()));
  while (PGresult* extra = PQgetResult(c_.get())) PQclear(extra);
  if (PQresultStatus(end.raw()) != PGRES_COMMAND_OK) return error(first_words(copy_sql), end.raw());
  if (failure) return *failure;
  return {};
}

Result<PgTransaction> PgTransaction::begin(PgConnection& conn) {
  HRFLOW_TRY(conn.exec("BEGIN"));
  return PgTransaction(&conn);
}

PgTransaction::~PgTransaction() {
  if (conn_) PQclear(PQexec(conn_->raw(), "ROLLBACK"));
}

Status PgTransaction::commit() {
  PgConnection* c = conn_;
  conn_ = nullptr;
  HRFLOW_TRY(c->exec("COMMIT"));
  return {};
}

Status PgConnection::start_copy_both(std::string_view command) {
  std::string q(command);
  PgResult r(PQexec(c_.get(), q.c_str()));
  if (PQresultStatus(r.raw()) != PGRES_COPY_BOTH) return error(q);
  return {};
}

Result<CopyRead> PgConnection::read_copy(std::string& out, std::chrono::milliseconds wait) {
  for (int round = 0; round < 2; ++round) {
    char* buf = nullptr;
    int n = PQgetCopyData(c_.get(), &buf, 1);
    if (n > 0) {
      out.assign(buf, static_cast<size_t>(n));
      PQfreemem(buf);
      return CopyRead::kData;
    }
    if (n == -1) {
      // The server ended the stream; collect its final result (an error explains why).
      PgResult end(PQgetResult(c_.get()));
      if (end.raw() && PQresultStatus(end.raw()) != PGRES_COMMAND_OK) return error("replication stream");
      return CopyRead::kEnd;
    }
    if (n == -2) return error("replication stream");
    if (round == 1) break;
    pollfd pfd{PQsocket(c_.get()), POLLIN, 0};
    int ready = poll(&pfd, 1, static_cast<int>(wait.count()));
    if (ready < 0 && errno != EINTR) return error("poll");
    if (ready <= 0) return CopyRead::kNone;
    if (PQconsumeInput(c_.get()) == 0) return error("replication stream");
  }
  return CopyRead::kNone;
}

Status PgConnection::put_copy(std::string_view data) {
  if (PQputCopyData(c_.get(), data.data(), static_cast<int>(data.size())) != 1 || PQflush(c_.get()) != 0) {
    return error("sending to the replication stream");
  }
  return {};
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

Status check_managed_server(const std::string& url, const std::filesystem::path& data_dir) {
  HRFLOW_ASSIGN_OR_RETURN(auto conn, PgConnection::connect(url));
  HRFLOW_ASSIGN_OR_RETURN(auto dir, conn.scalar("SELECT current_setting('data_directory', true)"));
  std::error_code ec;
  const auto expected = std::filesystem::weakly_canonical(data_dir, ec);
  const auto actual = dir ? std::filesystem::weakly_canonical(*dir, ec) : std::filesystem::path();
  if (dir && actual == expected) return {};
  Error e = invalid_argument(
      "the PostgreSQL at {} is not this state directory's managed server: it serves the data directory '{}', not "
      "'{}' (another hrflow state directory's server on the same port?). Give this state directory its own port "
      "(oltp.port, then `hrflow oltp up`), or set oltp.url to use that server deliberately",
      conn.where(), dir ? dir->c_str() : "(not readable)", expected.string());
  e.retriable = false;
  return e;
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

}  // namespace hrflow
