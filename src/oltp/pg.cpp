#include "oltp/pg.h"

#include "common/config.h"

namespace hrflow::oltp {

int64_t PgResult::affected() const {
  const char* n = PQcmdTuples(r_.get());
  return (n && *n) ? std::stoll(n) : 0;
}

Result<PgConnection> PgConnection::connect(const std::string& url, int timeout_s) {
  std::string display = mask_url_password(url);
  if (url.empty()) return invalid_argument("no PostgreSQL URL given (set oltp.url or leave it empty for the managed server)");
  const char* keys[] = {"dbname", "connect_timeout", "options", "application_name", nullptr};
  std::string timeout = std::to_string(timeout_s);
  const char* values[] = {url.c_str(), timeout.c_str(), "-c TimeZone=UTC -c DateStyle=ISO", "hrflow", nullptr};
  PGconn* raw = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
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
  return conn;
}

Error PgConnection::error(std::string_view what, const PGresult* r) const {
  std::string msg = r ? PQresultErrorMessage(r) : PQerrorMessage(c_.get());
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  bool lost = PQstatus(c_.get()) != CONNECTION_OK;
  return Error{lost ? ErrorKind::kUnavailable : ErrorKind::kIo,
               fmt::format("PostgreSQL at {}: {} failed: {}", display_url_, what, msg), lost};
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

Result<PgResult> PgConnection::exec(std::string_view sql) {
  PgResult r(PQexec(c_.get(), std::string(sql).c_str()));
  auto st = PQresultStatus(r.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return error(first_words(sql), r.get());
  return r;
}

Result<PgResult> PgConnection::exec(std::string_view sql, const std::vector<std::optional<std::string>>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  PgResult r(PQexecParams(c_.get(), std::string(sql).c_str(), static_cast<int>(values.size()), nullptr,
                          values.data(), nullptr, nullptr, 0));
  auto st = PQresultStatus(r.get());
  if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return error(first_words(sql), r.get());
  return r;
}

Result<std::optional<std::string>> PgConnection::scalar(std::string_view sql) {
  HRFLOW_ASSIGN_OR_RETURN(auto r, exec(sql));
  if (r.rows() == 0 || r.columns() == 0 || r.is_null(0, 0)) return std::optional<std::string>{};
  return std::optional<std::string>(r.text(0, 0));
}

Status PgConnection::copy_in(std::string_view copy_sql, const std::function<Result<bool>(std::string&)>& produce) {
  PgResult start(PQexec(c_.get(), std::string(copy_sql).c_str()));
  if (PQresultStatus(start.get()) != PGRES_COPY_IN) return error(first_words(copy_sql), start.get());
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
  if (PQresultStatus(end.get()) != PGRES_COMMAND_OK) return error(first_words(copy_sql), end.get());
  return {};
}

Status PgConnection::copy_out(std::string_view copy_sql, const std::function<Status(std::string_view)>& consume) {
  PgResult start(PQexec(c_.get(), std::string(copy_sql).c_str()));
  if (PQresultStatus(start.get()) != PGRES_COPY_OUT) return error(first_words(copy_sql), start.get());
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
  if (PQresultStatus(end.get()) != PGRES_COMMAND_OK) return error(first_words(copy_sql), end.get());
  if (failure) return *failure;
  return {};
}

Result<PgTransaction> PgTransaction::begin(PgConnection& conn) {
  HRFLOW_TRY(conn.exec("BEGIN"));
  return PgTransaction(&conn);
}

PgTransaction::~PgTransaction() {
  if (conn_) PQclear(PQexec(conn_->get(), "ROLLBACK"));
}

Status PgTransaction::commit() {
  PgConnection* c = conn_;
  conn_ = nullptr;
  HRFLOW_TRY(c->exec("COMMIT"));
  return {};
}

std::string quote_ident(std::string_view ident) {
  std::string out = "\"";
  for (char c : ident) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace hrflow::oltp
