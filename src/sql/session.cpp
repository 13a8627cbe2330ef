#include "sql/session.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <deque>
#include <map>
#include <optional>
#include <random>
#include <set>

#include "sql/catalog.h"
#include "sql/scram.h"
#include "sql/sql_text.h"
#include "sql/values.h"

namespace hrflow::sql {

namespace {

using SteadyClock = std::chrono::steady_clock;

constexpr int32_t kProtocol3 = 196608;
constexpr int32_t kSslRequest = 80877103;
constexpr int32_t kGssRequest = 80877104;
constexpr int32_t kCancelRequest = 80877102;
constexpr size_t kMaxMessage = 64u << 20;

SqlError error(std::string state, std::string message, std::string hint = "") {
  return SqlError{std::move(state), std::move(message), std::move(hint)};
}

// SQLSTATE of a DuckDB error, from its class (the message's "<Class> Error:" prefix).
std::string sqlstate_of(std::string_view m) {
  auto has = [&](std::string_view s) { return m.find(s) != std::string_view::npos; };
  if (m.starts_with("Parser Error")) return "42601";
  if (m.starts_with("Catalog Error")) {
    if (has("Schema with name") || has("schema")) return "3F000";
    if (has("Function") || has("Macro")) return "42883";
    if (has("Type with name")) return "42704";
    return "42P01";
  }
  if (m.starts_with("Binder Error")) return has("olumn") ? "42703" : "42804";
  if (m.starts_with("Conversion Error")) return "22P02";
  if (m.starts_with("Out of Range Error")) return "22003";
  if (m.starts_with("Invalid Input Error")) return has("zero") ? "22012" : "22023";
  if (m.starts_with("Permission Error")) return "42501";
  if (m.starts_with("INTERRUPT") || has("Interrupted")) return "57014";
  if (m.starts_with("Out of Memory Error")) return "53200";
  if (m.starts_with("Not implemented Error")) return "0A000";
  if (m.starts_with("Constraint Error")) return "23000";
  if (m.starts_with("TransactionContext Error")) return "25000";
  return "XX000";
}

std::string statement_type_name(duckdb_statement_type t) {
  switch (t) {
    case DUCKDB_STATEMENT_TYPE_INSERT: return "INSERT";
    case DUCKDB_STATEMENT_TYPE_UPDATE: return "UPDATE";
    case DUCKDB_STATEMENT_TYPE_DELETE: return "DELETE";
    case DUCKDB_STATEMENT_TYPE_CREATE: return "CREATE";
    case DUCKDB_STATEMENT_TYPE_CREATE_FUNC: return "CREATE FUNCTION";
    case DUCKDB_STATEMENT_TYPE_ALTER: return "ALTER";
    case DUCKDB_STATEMENT_TYPE_DROP: return "DROP";
    case DUCKDB_STATEMENT_TYPE_COPY: return "COPY";
    case DUCKDB_STATEMENT_TYPE_EXPORT: return "EXPORT";
    case DUCKDB_STATEMENT_TYPE_ATTACH: return "ATTACH";
    case DUCKDB_STATEMENT_TYPE_DETACH: return "DETACH";
    case DUCKDB_STATEMENT_TYPE_LOAD: return "LOAD/INSTALL";
    case DUCKDB_STATEMENT_TYPE_EXTENSION: return "extension";
    case DUCKDB_STATEMENT_TYPE_PRAGMA: return "PRAGMA";
    case DUCKDB_STATEMENT_TYPE_CALL: return "CALL";
    case DUCKDB_STATEMENT_TYPE_VACUUM: return "VACUUM";
    case DUCKDB_STATEMENT_TYPE_ANALYZE: return "ANALYZE";
    case DUCKDB_STATEMENT_TYPE_SET:
    case DUCKDB_STATEMENT_TYPE_VARIABLE_SET: return "SET";
    case DUCKDB_STATEMENT_TYPE_PREPARE: return "PREPARE";
    case DUCKDB_STATEMENT_TYPE_EXECUTE: return "EXECUTE";
    case DUCKDB_STATEMENT_TYPE_TRANSACTION: return "transaction control";
    default: return "this statement";
  }
}

const char* kReadOnlyHint =
    "hrflow's SQL endpoint runs reads only (SELECT, WITH ... SELECT, EXPLAIN, SHOW); the warehouse is changed by "
    "hrflow sync and hrflow build";

// A prepared DuckDB statement, owned.
struct Stmt {
  duckdb_prepared_statement s = nullptr;
  Stmt() = default;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() {
    if (s) duckdb_destroy_prepare(&s);
  }
};

// A statement of the extended protocol (named or unnamed), or one statement of a simple query.
struct Statement {
  std::string sql;  // as the client sent it
  enum Kind { kEmpty, kQuery, kCommand } kind = kEmpty;
  std::string verb;  // "SELECT", "EXPLAIN", "SHOW": the command tag of a query
  Stmt stmt;
  std::vector<int32_t> param_oids;
};

// Rows on their way to the client: a DuckDB result read chunk by chunk. `parked` holds chunks taken
// out of a streaming result when the connection is needed for another statement.
struct Rows {
  duckdb_result res{};
  bool has_result = false;
  bool streaming = false;
  std::vector<ColumnEncoder> encoders;
  std::vector<std::string> names;
  std::deque<duckdb_data_chunk> parked;
  bool source_done = false;  // the result gave its last chunk
  duckdb_data_chunk chunk = nullptr;
  std::vector<duckdb_vector> vectors;
  uint64_t row = 0, size = 0, sent = 0;
  std::string verb = "SELECT";

  Rows() = default;
  Rows(const Rows&) = delete;
  Rows& operator=(const Rows&) = delete;
  ~Rows() {
    if (chunk) duckdb_destroy_data_chunk(&chunk);
    for (auto& c : parked) duckdb_destroy_data_chunk(&c);
    if (has_result) duckdb_destroy_result(&res);
  }
  // The next chunk from the parked ones or the result; false at the end, an error when DuckDB failed.
  std::optional<SqlError> next(bool& more) {
    if (chunk) duckdb_destroy_data_chunk(&chunk);
    chunk = nullptr;
    more = false;
    while (true) {
      if (!parked.empty()) {
        chunk = parked.front();
        parked.pop_front();
      } else if (!source_done) {
        chunk = duckdb_fetch_chunk(res);
        if (!chunk) {
          source_done = true;
          if (const char* e = duckdb_result_error(&res)) return error(sqlstate_of(e), e);
          return std::nullopt;
        }
      } else {
        return std::nullopt;
      }
      size = duckdb_data_chunk_get_size(chunk);
      if (size == 0) {
        duckdb_destroy_data_chunk(&chunk);
        chunk = nullptr;
        continue;
      }
      row = 0;
      vectors.clear();
      for (size_t c = 0; c < encoders.size(); ++c) vectors.push_back(duckdb_data_chunk_get_vector(chunk, c));
      more = true;
      return std::nullopt;
    }
  }
  // Take every remaining chunk out of the streaming result so that the connection can run another statement.
  std::optional<SqlError> park() {
    while (streaming && !source_done) {
      duckdb_data_chunk c = duckdb_fetch_chunk(res);
      if (!c) {
        source_done = true;
        if (const char* e = duckdb_result_error(&res)) return error(sqlstate_of(e), e);
        break;
      }
      parked.push_back(c);
    }
    return std::nullopt;
  }
};

struct Portal {
  std::shared_ptr<Statement> statement;
  std::vector<std::optional<std::string>> params;
  std::vector<int16_t> param_formats, result_formats;
  std::unique_ptr<Rows> rows;  // once started
  bool done = false;
};

struct Cursor {
  std::unique_ptr<Rows> rows;
  bool hold = false;
};

int16_t format_of(const std::vector<int16_t>& formats, size_t col) {
  if (formats.empty()) return 0;
  if (formats.size() == 1) return formats[0];
  return col < formats.size() ? formats[col] : 0;
}

// "5s", "250ms", "1min", "1000" (ms) -> milliseconds.
std::optional<int64_t> parse_duration_ms(const std::string& v) {
  size_t i = 0;
  while (i < v.size() && std::isdigit(static_cast<unsigned char>(v[i]))) i++;
  if (i == 0) return std::nullopt;
  int64_t n = std::stoll(v.substr(0, i));
  std::string unit = v.substr(i);
  while (!unit.empty() && unit.front() == ' ') unit.erase(0, 1);
  if (unit.empty() || unit == "ms") return n;
  if (unit == "s") return n * 1000;
  if (unit == "min") return n * 60000;
  if (unit == "h") return n * 3600000;
  if (unit == "d") return n * 86400000;
  return std::nullopt;
}

}  // namespace

struct Session::Impl {
  SessionHost& host;
  std::unique_ptr<Conn> conn;
  std::string peer;
  bool peer_loopback;
  Session* self;
  Writer w;
  std::optional<db::Connection> db;
  std::string user = "?", application_name;
  std::map<std::string, std::string> settings;  // lower-case name -> value, what SHOW answers
  std::map<std::string, std::shared_ptr<Statement>> statements;
  std::map<std::string, Portal> portals;
  std::map<std::string, Cursor> cursors;
  Rows* streaming = nullptr;  // the rows that may still hold DuckDB's connection
  bool in_tx = false, tx_failed = false, skip_to_sync = false, admitted = false;
  int64_t timeout_ms = 0;  // the session's statement_timeout (0 = the server's)

  // Interruption of the running statement (CancelRequest, statement_timeout, shutdown).
  std::mutex run_mu;
  bool running = false;
  int interrupted = 0;  // 1 = cancel, 2 = timeout
  SteadyClock::time_point deadline;

  Impl(SessionHost& h, int fd, std::string p, bool loopback, Session* s)
      : host(h), conn(std::make_unique<Conn>(fd)), peer(std::move(p)), peer_loopback(loopback), self(s) {}

  // --- messages ------------------------------------------------------------------------------

  Status read_message(char& type, std::string& body) {
    char head[5];
    HRFLOW_TRY(conn->read_exact(head, 5));
    type = head[0];
    uint32_t len = (uint32_t(uint8_t(head[1])) << 24) | (uint32_t(uint8_t(head[2])) << 16) |
                   (uint32_t(uint8_t(head[3])) << 8) | uint8_t(head[4]);
    if (len < 4 || len > kMaxMessage) return corrupt("protocol violation: message length {}", len);
    body.resize(len - 4);
    if (len > 4) HRFLOW_TRY(conn->read_exact(body.data(), len - 4));
    return {};
  }

  void parameter_status(const std::string& name, const std::string& value) {
    w.begin('S');
    w.cstr(name);
    w.cstr(value);
    w.end();
  }

  void fatal(const std::string& state, const std::string& message) {
    SqlError e = error(state, message);
    e.severity = "FATAL";
    write_error(w, e);
    (void)w.flush(*conn);
  }

  void ready() {
    w.begin('Z');
    w.byte(in_tx ? (tx_failed ? 'E' : 'T') : 'I');
    w.end();
  }

  void complete(const std::string& tag) {
    w.begin('C');
    w.cstr(tag);
    w.end();
  }

  void fail(const SqlError& e) {
    write_error(w, e);
    if (in_tx) tx_failed = true;
  }

  // --- startup and authentication --------------------------------------------------------------

  // Returns false when the connection ends here (cancel request, refused, protocol error).
  bool startup() {
    bool tls_done = false;
    while (true) {
      char len_buf[4];
      if (!conn->read_exact(len_buf, 4).ok()) return false;
      Reader lr(std::string_view(len_buf, 4));
      int32_t len = *lr.i32();
      if (len < 8 || len > 10000) return false;
      std::string body(static_cast<size_t>(len - 4), '\0');
      if (!conn->read_exact(body.data(), body.size()).ok()) return false;
      Reader r(body);
      int32_t code = *r.i32();
      if (code == kSslRequest && !tls_done) {
        if (host.tls()) {
          if (!conn->write_all("S").ok()) return false;
          if (auto st = conn->start_tls(*host.tls()); !st.ok()) {
            spdlog::info("sql: {}: {}", peer, st.error().message);
            return false;
          }
          tls_done = true;
        } else if (!conn->write_all("N").ok()) {
          return false;
        }
        continue;
      }
      if (code == kGssRequest) {
        if (!conn->write_all("N").ok()) return false;
        continue;
      }
      if (code == kCancelRequest) {
        auto pid = r.i32(), key = r.i32();
        if (pid.ok() && key.ok()) host.cancel(*pid, *key);
        return false;
      }
      if (code != kProtocol3) {
        fatal("0A000", fmt::format("unsupported frontend protocol {}.{}: hrflow speaks 3.0", code >> 16, code & 0xffff));
        return false;
      }
      std::map<std::string, std::string> params;
      while (r.remaining() > 1) {
        auto k = r.cstr();
        auto v = r.cstr();
        if (!k.ok() || !v.ok()) return false;
        params[*k] = *v;
      }
      user = params.count("user") ? params["user"] : "";
      application_name = params["application_name"];
      if (user.empty()) {
        fatal("28000", "no PostgreSQL user name specified in the startup packet");
        return false;
      }
      if (host.tls() && !peer_loopback && !conn->tls()) {
        fatal("28000", "connections from beyond loopback must use TLS: connect with sslmode=require");
        return false;
      }
      if (!host.admit()) {
        fatal("53300", fmt::format("sorry, too many clients already (serve.sql.max_connections = {})",
                                   host.options().max_connections));
        return false;
      }
      admitted = true;
      if (!authenticate()) return false;
      return open_session(params);
    }
  }

  bool authenticate() {
    const ServerOptions& o = host.options();
    std::optional<std::string> password;
    if (!o.users.empty()) {
      auto it = o.users.find(user);
      // An unknown user goes through the same exchange and fails it (no hint which names exist).
      password = it != o.users.end() ? it->second : std::string("\x01unknown user\x02");
    } else if (!o.token.empty()) {
      password = o.token;
    }
    if (!password) return true;  // loopback without users or token: no password, as the web UI
    w.begin('R');
    w.i32(10);  // AuthenticationSASL
    w.cstr("SCRAM-SHA-256");
    w.byte(0);
    w.end();
    if (!w.flush(*conn).ok()) return false;
    ScramServer scram(*password);
    char type;
    std::string body;
    if (!read_message(type, body).ok() || type != 'p') return false;
    Reader r(body);
    auto mech = r.cstr();
    auto n = r.i32();
    if (!mech.ok() || *mech != "SCRAM-SHA-256" || !n.ok() || *n < 0) {
      fatal("28000", "authentication needs SCRAM-SHA-256");
      return false;
    }
    auto first = r.bytes(static_cast<size_t>(*n));
    if (!first.ok()) return false;
    auto server_first = scram.first(std::string(*first));
    if (!server_first.ok()) {
      fatal("28000", server_first.error().message);
      return false;
    }
    w.begin('R');
    w.i32(11);  // AuthenticationSASLContinue
    w.bytes(*server_first);
    w.end();
    if (!w.flush(*conn).ok()) return false;
    if (!read_message(type, body).ok() || type != 'p') return false;
    auto server_final = scram.final(body);
    if (!server_final.ok()) {
      spdlog::warn("sql: {}: password authentication failed for user \"{}\"", peer, user);
      fatal("28P01", fmt::format("password authentication failed for user \"{}\"", user));
      return false;
    }
    w.begin('R');
    w.i32(12);  // AuthenticationSASLFinal
    w.bytes(*server_final);
    w.end();
    return true;
  }

  bool open_session(const std::map<std::string, std::string>& params) {
    auto c = db::Connection::connect(host.database());
    if (!c.ok()) {
      fatal("53000", c.error().message);
      return false;
    }
    db.emplace(std::move(c).value());
    if (auto st = install_catalog(*db, user); !st.ok()) {
      fatal("XX000", st.error().message);
      return false;
    }
    std::vector<std::string> path;
    for (const auto& s : host.options().search_path) path.push_back(s);
    std::string applied = apply_search_path(path);
    settings = {{"server_version", kServerVersion},
                {"server_version_num", "150000"},
                {"server_encoding", "UTF8"},
                {"client_encoding", "UTF8"},
                {"datestyle", "ISO, MDY"},
                {"timezone", "UTC"},
                {"integer_datetimes", "on"},
                {"standard_conforming_strings", "on"},
                {"intervalstyle", "postgres"},
                {"is_superuser", "off"},
                {"session_authorization", user},
                {"application_name", application_name},
                {"default_transaction_read_only", "on"},
                {"transaction_read_only", "on"},
                {"in_hot_standby", "off"},
                {"transaction_isolation", "repeatable read"},
                {"default_transaction_isolation", "repeatable read"},
                {"search_path", applied},
                {"statement_timeout", "0"},
                {"lock_timeout", "0"},
                {"idle_in_transaction_session_timeout", "0"},
                {"extra_float_digits", "1"},
                {"max_identifier_length", "63"},
                {"bytea_output", "hex"},
                {"client_min_messages", "notice"},
                {"lc_collate", "C"},
                {"lc_ctype", "C"},
                {"lc_messages", "C"},
                {"max_connections", std::to_string(host.options().max_connections)},
                {"default_text_search_config", "pg_catalog.simple"},
                {"ssl", host.tls() ? "on" : "off"}};
    w.begin('R');
    w.i32(0);  // AuthenticationOk
    w.end();
    for (const auto& [k, v] : params) {
      if (k == "user" || k == "database" || k == "options" || k == "replication" || k == "application_name") continue;
      set_setting(k, v);
    }
    for (const char* name : {"server_version", "server_encoding", "client_encoding", "application_name",
                             "default_transaction_read_only", "in_hot_standby", "is_superuser", "session_authorization",
                             "DateStyle", "IntervalStyle", "TimeZone", "integer_datetimes", "standard_conforming_strings"}) {
      std::string key = name;
      for (auto& ch : key) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      parameter_status(name, settings[key]);
    }
    w.begin('K');
    w.i32(self->pid_);
    w.i32(self->secret_);
    w.end();
    ready();
    spdlog::info("sql: {} connected as \"{}\" ({}){}", peer, user, application_name, conn->tls() ? " TLS" : "");
    return w.flush(*conn).ok();
  }

  // DuckDB's search path: the named schemas that exist (PostgreSQL's "$user" and public are skipped).
  std::string apply_search_path(const std::vector<std::string>& wanted) {
    std::set<std::string> existing;
    if (auto r = db->query("SELECT schema_name FROM duckdb_schemas() WHERE database_name = current_database()"); r.ok()) {
      for (uint64_t i = 0; i < r->row_count(); ++i) existing.insert(r->get_string(i, 0).value_or(""));
    }
    std::vector<std::string> used;
    for (const auto& s : wanted) {
      if (existing.count(s)) used.push_back(s);
    }
    if (used.empty()) used.push_back("main");
    std::string list;
    for (const auto& s : used) list += (list.empty() ? "" : ",") + db::quote_identifier(s);
    if (auto st = db->execute("SET search_path = " + db::quote_literal(list)); !st.ok()) {
      spdlog::warn("sql: search_path {}: {}", list, st.error().message);
    }
    std::string shown;
    for (const auto& s : used) shown += (shown.empty() ? "" : ", ") + s;
    return shown;
  }

  // A session setting from SET or the startup packet; unknown names are kept for SHOW, as PostgreSQL
  // keeps custom options. Returns a notice to send, if any.
  std::optional<std::string> set_setting(std::string name, const std::string& value) {
    for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (name == "timezone") {
      std::string v = value;
      for (auto& ch : v) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
      if (v != "utc" && v != "etc/utc" && v != "gmt" && v != "z" && v != "zulu" && v != "etc/gmt") {
        return "hrflow's warehouse keeps time in UTC: TimeZone stays UTC (timestamps are sent with +00)";
      }
      return std::nullopt;
    }
    if (name == "datestyle" || name == "client_encoding" || name == "intervalstyle" || name == "server_version" ||
        name == "transaction_read_only" || name == "default_transaction_read_only") {
      return std::nullopt;  // fixed: the endpoint formats values one way
    }
    if (name == "statement_timeout") {
      if (auto ms = parse_duration_ms(value)) {
        timeout_ms = *ms;
        settings[name] = value;
      }
      return std::nullopt;
    }
    if (name == "search_path") {
      std::vector<std::string> wanted;
      std::string item;
      for (char ch : value + ",") {
        if (ch == ',') {
          while (!item.empty() && item.front() == ' ') item.erase(0, 1);
          while (!item.empty() && item.back() == ' ') item.pop_back();
          if (!item.empty()) wanted.push_back(item);
          item.clear();
        } else if (ch != '"') {
          item += ch;
        }
      }
      settings[name] = apply_search_path(wanted);
      return std::nullopt;
    }
    settings[name] = value;
    if (name == "application_name") {
      application_name = value;
      parameter_status("application_name", value);
    }
    return std::nullopt;
  }

  // --- running statements ----------------------------------------------------------------------

  void begin_run() {
    int64_t cap = host.options().statement_timeout_ms;
    int64_t t = timeout_ms > 0 && (cap <= 0 || timeout_ms < cap) ? timeout_ms : cap;
    std::lock_guard lock(run_mu);
    running = true;
    interrupted = 0;
    deadline = t > 0 ? SteadyClock::now() + std::chrono::milliseconds(t) : SteadyClock::time_point::max();
  }

  void end_run() {
    std::lock_guard lock(run_mu);
    running = false;
  }

  // A DuckDB error, told as what happened when it was an interruption.
  SqlError duckdb_error(const char* message) {
    std::string m = message ? message : "unknown error";
    std::string state = sqlstate_of(m);
    if (state == "57014") {
      std::lock_guard lock(run_mu);
      if (interrupted == 2) return error("57014", "canceling statement due to statement timeout");
      return error("57014", "canceling statement due to user request");
    }
    return error(state, m);
  }

  // Park the rows of another portal that still hold the connection.
  std::optional<SqlError> free_connection() {
    if (!streaming) return std::nullopt;
    Rows* r = streaming;
    streaming = nullptr;
    begin_run();
    auto e = r->park();
    end_run();
    return e;
  }

  // Classify a statement: a query for DuckDB (prepared), a command answered here, or a refusal.
  std::optional<SqlError> plan(const std::string& sql, Statement& out) {
    out.sql = sql;
    auto words = leading_words(sql, 3);
    if (words.empty()) {
      out.kind = Statement::kEmpty;
      return std::nullopt;
    }
    const std::string& w0 = words[0];
    static const std::set<std::string> kCommands = {"set", "reset", "begin", "start", "commit", "end", "rollback",
                                                    "abort", "savepoint", "release", "declare", "fetch", "move",
                                                    "close", "discard", "deallocate", "listen", "unlisten"};
    if (kCommands.count(w0) && !(w0 == "set" && words.size() > 1 && words[1] == "variable")) {
      out.kind = Statement::kCommand;
      return std::nullopt;
    }
    // Statements that never read are refused before DuckDB binds them (binding COPY or ATTACH would
    // already touch files, which DuckDB refuses too, but with a less telling error).
    static const std::set<std::string> kWrites = {"copy", "attach", "detach", "install", "load", "pragma", "export",
                                                  "import", "create", "drop", "alter", "insert", "update", "delete",
                                                  "merge", "truncate", "vacuum", "checkpoint", "force", "call", "use",
                                                  "prepare", "execute", "comment", "grant", "revoke", "analyze"};
    if (kWrites.count(w0)) {
      std::string verb = w0;
      for (auto& ch : verb) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      return error("25006", fmt::format("cannot execute {} on hrflow's read-only SQL endpoint", verb), kReadOnlyHint);
    }
    std::string to_prepare = sql;
    out.verb = "SELECT";
    if (w0 == "show") {
      auto shown = show_query(sql);
      if (shown) {
        to_prepare = *shown;
        out.verb = "SHOW";
      }
    }
    if (w0 == "explain") {
      // EXPLAIN ANALYZE runs its statement: the statement inside must be a read too.
      std::string_view rest = after_words(sql, 1);
      while (true) {
        auto next = leading_words(rest, 1);
        if (next.empty() || (next[0] != "analyze" && next[0] != "analyse" && next[0] != "verbose")) break;
        rest = after_words(rest, 1);
      }
      if (!rest.empty() && rest.front() == '(') {
        size_t close = rest.find(')');
        rest = close == std::string_view::npos ? std::string_view() : rest.substr(close + 1);
      }
      Statement inner;
      if (auto e = plan(std::string(rest), inner)) return e;
      if (inner.kind != Statement::kQuery) return error("25006", "EXPLAIN of a command is not run here", kReadOnlyHint);
      out.verb = "EXPLAIN";
    }
    if (auto e = free_connection()) return e;
    std::string rewritten = rewrite_for_duckdb(to_prepare);
    if (duckdb_prepare(db->raw(), rewritten.c_str(), &out.stmt.s) == DuckDBError) {
      const char* m = duckdb_prepare_error(out.stmt.s);
      return error(sqlstate_of(m ? m : ""), m ? m : "cannot prepare the statement");
    }
    duckdb_statement_type type = duckdb_prepared_statement_type(out.stmt.s);
    bool allowed = type == DUCKDB_STATEMENT_TYPE_SELECT || (type == DUCKDB_STATEMENT_TYPE_EXPLAIN && out.verb == "EXPLAIN");
    if (!allowed) {
      return error("25006", fmt::format("cannot execute {} on hrflow's read-only SQL endpoint", statement_type_name(type)),
                   kReadOnlyHint);
    }
    out.kind = Statement::kQuery;
    return std::nullopt;
  }

  // SHOW name -> a SELECT of the session's value; nullopt when DuckDB should answer (SHOW TABLES ...).
  std::optional<std::string> show_query(const std::string& sql) {
    auto words = leading_words(sql, 4);
    if (words.size() < 2) return std::nullopt;
    std::string name = words[1];
    if (name == "time" && words.size() > 2 && words[2] == "zone") name = "timezone";
    if (name == "transaction" && words.size() > 3 && words[2] == "isolation") name = "transaction_isolation";
    for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (name == "all") {
      std::string values;
      for (const auto& [k, v] : settings) {
        values += fmt::format("{}({}, {}, '')", values.empty() ? "" : ", ", db::quote_literal(k), db::quote_literal(v));
      }
      return "SELECT * FROM (VALUES " + values + ") AS t(name, setting, description)";
    }
    auto it = settings.find(name);
    if (it == settings.end()) return std::nullopt;
    return fmt::format("SELECT {} AS {}", db::quote_literal(it->second), db::quote_identifier(name));
  }

  // Start the rows of a prepared query (parameters already bound).
  std::optional<SqlError> start_rows(Statement& s, Rows& rows) {
    if (auto e = free_connection()) return e;
    begin_run();
    duckdb_state st = duckdb_execute_prepared_streaming(s.stmt.s, &rows.res);
    rows.has_result = true;
    if (st == DuckDBError) {
      end_run();
      return duckdb_error(duckdb_result_error(&rows.res));
    }
    rows.streaming = duckdb_result_is_streaming(rows.res);
    rows.verb = s.verb;
    uint64_t n = duckdb_column_count(&rows.res);
    for (uint64_t c = 0; c < n; ++c) {
      duckdb_logical_type t = duckdb_column_logical_type(&rows.res, c);
      rows.encoders.emplace_back(t);
      duckdb_destroy_logical_type(&t);
      rows.names.emplace_back(duckdb_column_name(&rows.res, c));
    }
    streaming = &rows;
    return std::nullopt;
  }

  void row_description(const Rows& rows, const std::vector<int16_t>& formats) {
    w.begin('T');
    w.i16(static_cast<int16_t>(rows.encoders.size()));
    for (size_t c = 0; c < rows.encoders.size(); ++c) {
      w.cstr(rows.names[c]);
      w.i32(0);
      w.i16(0);
      w.i32(rows.encoders[c].oid());
      w.i16(pg_type_size(rows.encoders[c].oid()));
      w.i32(-1);
      w.i16(format_of(formats, c));
    }
    w.end();
  }

  // Send up to max_rows rows (0 = all). `done` tells whether the rows ended.
  std::optional<SqlError> send_rows(Rows& rows, const std::vector<int16_t>& formats, int64_t max_rows, bool& done,
                                    int64_t& count, bool send = true) {
    done = false;
    count = 0;
    std::vector<int16_t> fmts(rows.encoders.size());
    for (size_t c = 0; c < fmts.size(); ++c) fmts[c] = format_of(formats, c);
    while (max_rows <= 0 || count < max_rows) {
      if (!rows.chunk || rows.row >= rows.size) {
        bool more = false;
        begin_run_if_streaming(rows);
        auto e = rows.next(more);
        if (e) {
          end_run();
          if (streaming == &rows) streaming = nullptr;
          e = duckdb_error(e->message.c_str());
          return e;
        }
        if (!more) {
          end_run();
          if (streaming == &rows) streaming = nullptr;
          done = true;
          return std::nullopt;
        }
      }
      if (send) {
        std::string& b = w.buffer();
        w.begin('D');
        w.i16(static_cast<int16_t>(rows.encoders.size()));
        for (size_t c = 0; c < rows.encoders.size(); ++c) {
          duckdb_vector v = rows.vectors[c];
          uint64_t* validity = duckdb_vector_get_validity(v);
          if (validity && !duckdb_validity_row_is_valid(validity, rows.row)) {
            w.i32(-1);
            continue;
          }
          size_t at = b.size();
          w.i32(0);
          if (fmts[c] == 1) {
            rows.encoders[c].binary(v, rows.row, b);
          } else {
            rows.encoders[c].text(v, rows.row, b);
          }
          w.patch_i32(at, static_cast<int32_t>(b.size() - at - 4));
        }
        w.end();
        if (w.full()) {
          if (auto st = w.flush(*conn); !st.ok()) return error("08006", st.error().message);
        }
      }
      rows.row++;
      rows.sent++;
      count++;
    }
    end_run();
    return std::nullopt;
  }

  // Fetching from a streaming result runs the query: it is interruptible (with a fresh deadline when
  // the portal was paused in between).
  void begin_run_if_streaming(Rows& rows) {
    if (rows.streaming && !rows.source_done && rows.parked.empty()) {
      bool idle;
      {
        std::lock_guard lock(run_mu);
        idle = !running;
      }
      if (idle) begin_run();
    }
  }

  void log_statement(const std::string& sql, SteadyClock::time_point start, int64_t rows, const SqlError* e) {
    double ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - start).count();
    std::string text = sql.size() > 300 ? sql.substr(0, 300) + "..." : sql;
    for (auto& ch : text) {
      if (ch == '\n' || ch == '\r' || ch == '\t') ch = ' ';
    }
    if (e) {
      spdlog::info("sql: user={} {:.1f} ms error {}: {} | {}", user, ms, e->sqlstate, e->message.substr(0, 200), text);
    } else {
      spdlog::info("sql: user={} {:.1f} ms {} rows | {}", user, ms, rows, text);
    }
  }

  // --- commands answered by the session --------------------------------------------------------

  std::optional<SqlError> duck(const std::string& sql) {
    if (auto e = free_connection()) return e;
    auto st = db->execute(sql);
    if (!st.ok()) return error(sqlstate_of(st.error().message), st.error().message);
    return std::nullopt;
  }

  void end_transaction() {
    in_tx = false;
    tx_failed = false;
    for (auto it = cursors.begin(); it != cursors.end();) {
      if (!it->second.hold) {
        if (streaming == it->second.rows.get()) streaming = nullptr;
        it = cursors.erase(it);
      } else {
        ++it;
      }
    }
  }

  // Runs a command; writes its CommandComplete (and rows for FETCH). `simple`: FETCH may send rows.
  std::optional<SqlError> command(const std::string& sql, bool simple, int64_t& rows_out) {
    auto words = leading_words(sql, 12);
    const std::string& w0 = words[0];
    rows_out = 0;
    if (w0 == "set") {
      size_t at = 1;
      if (words.size() > 1 && (words[1] == "session" || words[1] == "local")) at = 2;
      if (words.size() > at && (words[at] == "transaction" || words[at] == "characteristics")) {
        complete("SET");
        return std::nullopt;
      }
      if (words.size() <= at) return error("42601", "syntax error in SET");
      std::string name = words[at];
      std::string_view rest = after_words(sql, at + 1);
      if (name == "time" && words.size() > at + 1 && words[at + 1] == "zone") {
        name = "timezone";
        rest = after_words(sql, at + 2);
      } else if (name == "names") {
        name = "client_encoding";
      }
      // Dotted names (custom options) and "TO" / "=".
      while (!rest.empty() && rest.front() == '.') {
        auto more = leading_words(rest.substr(1), 1);
        if (more.empty()) break;
        name += "." + more[0];
        rest = after_words(rest.substr(1), 1);
      }
      if (!rest.empty() && rest.front() == '=') {
        rest.remove_prefix(1);
      } else if (auto to = leading_words(rest, 1); !to.empty() && to[0] == "to") {
        rest = after_words(rest, 1);
      }
      std::string value = unquote_setting(rest);
      if (auto v = leading_words(rest, 1); !v.empty() && v[0] == "default") value = name == "search_path" ? "serving, staging, raw, main" : "";
      if (auto notice = set_setting(name, value)) write_notice(w, *notice);
      complete("SET");
      return std::nullopt;
    }
    if (w0 == "reset") {
      if (words.size() > 1 && words[1] == "all") {
        timeout_ms = 0;
      } else if (words.size() > 1) {
        if (words[1] == "statement_timeout") timeout_ms = 0;
        if (words[1] == "search_path") set_setting("search_path", "serving, staging, raw, main");
      }
      complete("RESET");
      return std::nullopt;
    }
    if (w0 == "begin" || w0 == "start") {
      if (in_tx) {
        write_notice(w, "there is already a transaction in progress");
      } else {
        if (auto e = duck("BEGIN TRANSACTION")) return e;
        in_tx = true;
        tx_failed = false;
      }
      complete(w0 == "begin" ? "BEGIN" : "START TRANSACTION");
      return std::nullopt;
    }
    if (w0 == "commit" || w0 == "end" || w0 == "rollback" || w0 == "abort") {
      if (w0 == "rollback" && words.size() > 1 && words[1] == "to") {
        tx_failed = false;  // reads change nothing: back to the savepoint is just leaving the error state
        complete("ROLLBACK");
        return std::nullopt;
      }
      bool rollback = w0 == "rollback" || w0 == "abort" || tx_failed;
      if (!in_tx) {
        write_notice(w, "there is no transaction in progress");
      } else {
        if (auto e = duck("ROLLBACK")) {  // nothing to commit: every statement was a read
          end_transaction();
          return e;
        }
        end_transaction();
      }
      complete(rollback ? "ROLLBACK" : "COMMIT");
      return std::nullopt;
    }
    if (w0 == "savepoint") {
      complete("SAVEPOINT");
      return std::nullopt;
    }
    if (w0 == "release") {
      complete("RELEASE");
      return std::nullopt;
    }
    if (w0 == "discard") {
      statements.clear();
      portals.clear();
      cursors.clear();
      streaming = nullptr;
      complete("DISCARD ALL");
      return std::nullopt;
    }
    if (w0 == "deallocate") {
      if (words.size() > 1 && words.back() != "all") statements.erase(words.back());
      if (words.size() > 1 && words.back() == "all") statements.clear();
      complete("DEALLOCATE");
      return std::nullopt;
    }
    if (w0 == "listen" || w0 == "unlisten") {
      complete(w0 == "listen" ? "LISTEN" : "UNLISTEN");
      return std::nullopt;
    }
    if (w0 == "declare") return declare(sql, words);
    if (w0 == "fetch" || w0 == "move") {
      if (!simple && w0 == "fetch") return error("0A000", "FETCH is supported in simple queries only");
      return fetch(words, w0 == "move", rows_out);
    }
    if (w0 == "close") {
      if (words.size() > 1 && words[1] == "all") {
        cursors.clear();
        streaming = nullptr;
      } else if (words.size() > 1) {
        auto it = cursors.find(words[1]);
        if (it == cursors.end()) return error("34000", fmt::format("cursor \"{}\" does not exist", words[1]));
        if (streaming == it->second.rows.get()) streaming = nullptr;
        cursors.erase(it);
      }
      complete("CLOSE CURSOR");
      return std::nullopt;
    }
    return error("0A000", "unsupported command");
  }

  std::optional<SqlError> declare(const std::string& sql, const std::vector<std::string>& words) {
    if (words.size() < 3) return error("42601", "syntax error in DECLARE");
    std::string name = words[1];
    size_t for_at = 0;
    bool hold = false;
    for (size_t i = 2; i < words.size(); ++i) {
      if (words[i] == "with" && i + 1 < words.size() && words[i + 1] == "hold") hold = true;
      if (words[i] == "for") {
        for_at = i;
        break;
      }
    }
    if (for_at == 0) return error("42601", "syntax error in DECLARE: expected CURSOR ... FOR query");
    if (!in_tx && !hold) return error("25P01", "DECLARE CURSOR can only be used in transaction blocks");
    if (cursors.count(name)) return error("42P03", fmt::format("cursor \"{}\" already exists", name));
    Statement s;
    if (auto e = plan(std::string(after_words(sql, for_at + 1)), s)) return e;
    if (s.kind != Statement::kQuery) return error("42601", "DECLARE CURSOR needs a query");
    Cursor c;
    c.hold = hold;
    c.rows = std::make_unique<Rows>();
    if (auto e = start_rows(s, *c.rows)) return e;
    end_run();
    cursors[name] = std::move(c);
    complete("DECLARE CURSOR");
    return std::nullopt;
  }

  std::optional<SqlError> fetch(const std::vector<std::string>& words, bool move, int64_t& rows_out) {
    // FETCH [NEXT | FORWARD [n | ALL] | n | ALL] [FROM | IN] name
    if (words.size() < 2) return error("42601", "syntax error in FETCH");
    std::string name = words.back();
    int64_t count = 1;
    for (size_t i = 1; i + 1 < words.size(); ++i) {
      const std::string& x = words[i];
      if (x == "all") count = 0;
      else if (!x.empty() && std::isdigit(static_cast<unsigned char>(x[0]))) count = std::stoll(x);
      else if (x == "prior" || x == "backward" || x == "first" || x == "last" || x == "absolute" || x == "relative")
        return error("0A000", "cursors of the SQL endpoint only move forward");
    }
    auto it = cursors.find(name);
    if (it == cursors.end()) return error("34000", fmt::format("cursor \"{}\" does not exist", name));
    Rows& rows = *it->second.rows;
    if (streaming && streaming != &rows) {
      if (auto e = free_connection()) return e;
    }
    if (!move) row_description(rows, {});
    bool done;
    int64_t n;
    if (auto e = send_rows(rows, {}, count, done, n, !move)) return e;
    rows_out = n;
    complete(fmt::format("{} {}", move ? "MOVE" : "FETCH", n));
    return std::nullopt;
  }

  // --- the simple query protocol ---------------------------------------------------------------

  void simple_query(const std::string& text) {
    auto parts = split_statements(text);
    if (parts.empty()) {
      w.begin('I');
      w.end();
    }
    for (const auto& sql : parts) {
      auto start = SteadyClock::now();
      int64_t rows = 0;
      auto e = simple_statement(sql, rows);
      log_statement(sql, start, rows, e ? &*e : nullptr);
      if (e) {
        fail(*e);
        break;
      }
    }
    ready();
  }

  // In a failed transaction only its end is accepted.
  std::optional<SqlError> aborted(const std::string& sql) {
    if (!tx_failed) return std::nullopt;
    auto w0 = leading_words(sql, 1);
    if (!w0.empty() && (w0[0] == "rollback" || w0[0] == "abort" || w0[0] == "commit" || w0[0] == "end")) return std::nullopt;
    return error("25P02", "current transaction is aborted, commands ignored until end of transaction block");
  }

  std::optional<SqlError> simple_statement(const std::string& sql, int64_t& rows) {
    if (auto e = aborted(sql)) return e;
    Statement s;
    if (auto e = plan(sql, s)) return e;
    if (s.kind == Statement::kEmpty) {
      w.begin('I');
      w.end();
      return std::nullopt;
    }
    if (s.kind == Statement::kCommand) return command(sql, true, rows);
    Rows r;
    if (auto e = start_rows(s, r)) return e;
    row_description(r, {});
    bool done;
    if (auto e = send_rows(r, {}, 0, done, rows)) return e;
    complete(s.verb == "SELECT" ? fmt::format("SELECT {}", rows) : s.verb);
    return std::nullopt;
  }

  // --- the extended query protocol -------------------------------------------------------------

  std::optional<SqlError> parse(Reader& r) {
    auto name = r.cstr();
    auto query = r.cstr();
    auto n = r.i16();
    if (!name.ok() || !query.ok() || !n.ok()) return error("08P01", "malformed Parse message");
    auto s = std::make_shared<Statement>();
    for (int i = 0; i < *n; ++i) {
      auto o = r.i32();
      if (!o.ok()) return error("08P01", "malformed Parse message");
      s->param_oids.push_back(*o);
    }
    auto parts = split_statements(*query);
    if (parts.size() > 1) return error("42601", "cannot insert multiple commands into a prepared statement");
    if (auto e = aborted(parts.empty() ? "" : parts[0])) return e;
    auto start = SteadyClock::now();
    if (auto e = plan(parts.empty() ? "" : parts[0], *s)) {
      log_statement(*query, start, 0, &*e);
      return e;
    }
    if (s->kind == Statement::kQuery) {
      uint64_t np = duckdb_nparams(s->stmt.s);
      s->param_oids.resize(np, 0);
      for (uint64_t i = 0; i < np; ++i) {
        if (s->param_oids[i] == 0) {
          duckdb_type t = duckdb_param_type(s->stmt.s, i + 1);
          s->param_oids[i] = t == DUCKDB_TYPE_INVALID || t == DUCKDB_TYPE_ANY ? oid::kText : pg_type_of(t);
        }
      }
    }
    if (!name->empty()) statements[*name] = s;
    else statements[""] = s;
    w.begin('1');
    w.end();
    return std::nullopt;
  }

  std::optional<SqlError> bind(Reader& r) {
    auto portal = r.cstr();
    auto stmt = r.cstr();
    if (!portal.ok() || !stmt.ok()) return error("08P01", "malformed Bind message");
    auto it = statements.find(*stmt);
    if (it == statements.end()) return error("26000", fmt::format("prepared statement \"{}\" does not exist", *stmt));
    Portal p;
    p.statement = it->second;
    auto nf = r.i16();
    if (!nf.ok()) return error("08P01", "malformed Bind message");
    for (int i = 0; i < *nf; ++i) p.param_formats.push_back(*r.i16());
    auto np = r.i16();
    if (!np.ok()) return error("08P01", "malformed Bind message");
    for (int i = 0; i < *np; ++i) {
      auto len = r.i32();
      if (!len.ok()) return error("08P01", "malformed Bind message");
      if (*len < 0) {
        p.params.emplace_back(std::nullopt);
        continue;
      }
      auto v = r.bytes(static_cast<size_t>(*len));
      if (!v.ok()) return error("08P01", "malformed Bind message");
      p.params.emplace_back(std::string(*v));
    }
    auto nr = r.i16();
    if (!nr.ok()) return error("08P01", "malformed Bind message");
    for (int i = 0; i < *nr; ++i) p.result_formats.push_back(*r.i16());
    if (p.statement->kind == Statement::kQuery && p.params.size() != p.statement->param_oids.size()) {
      return error("08P01", fmt::format("bind message supplies {} parameters, but the prepared statement requires {}",
                                        p.params.size(), p.statement->param_oids.size()));
    }
    auto old = portals.find(*portal);
    if (old != portals.end() && old->second.rows && streaming == old->second.rows.get()) streaming = nullptr;
    portals[*portal] = std::move(p);
    w.begin('2');
    w.end();
    return std::nullopt;
  }

  std::optional<SqlError> start_portal(Portal& p) {
    Statement& s = *p.statement;
    duckdb_clear_bindings(s.stmt.s);
    for (size_t i = 0; i < p.params.size(); ++i) {
      bool binary = format_of(p.param_formats, i) == 1;
      auto st = bind_parameter(s.stmt.s, i + 1, s.param_oids[i], binary, p.params[i] ? &*p.params[i] : nullptr);
      if (!st.ok()) return error("22P02", st.error().message);
    }
    p.rows = std::make_unique<Rows>();
    return start_rows(s, *p.rows);
  }

  std::optional<SqlError> describe(Reader& r) {
    auto kind = r.byte();
    auto name = r.cstr();
    if (!kind.ok() || !name.ok()) return error("08P01", "malformed Describe message");
    if (*kind == 'S') {
      auto it = statements.find(*name);
      if (it == statements.end()) return error("26000", fmt::format("prepared statement \"{}\" does not exist", *name));
      Statement& s = *it->second;
      w.begin('t');
      w.i16(static_cast<int16_t>(s.param_oids.size()));
      for (int32_t o : s.param_oids) w.i32(o);
      w.end();
      if (s.kind != Statement::kQuery) {
        w.begin('n');
        w.end();
        return std::nullopt;
      }
      uint64_t n = duckdb_prepared_statement_column_count(s.stmt.s);
      w.begin('T');
      w.i16(static_cast<int16_t>(n));
      for (uint64_t c = 0; c < n; ++c) {
        duckdb_type t = duckdb_prepared_statement_column_type(s.stmt.s, c);
        int32_t o = pg_type_of(t);
        w.cstr(duckdb_prepared_statement_column_name(s.stmt.s, c));
        w.i32(0);
        w.i16(0);
        w.i32(o);
        w.i16(pg_type_size(o));
        w.i32(-1);
        w.i16(0);
      }
      w.end();
      return std::nullopt;
    }
    auto it = portals.find(*name);
    if (it == portals.end()) return error("34000", fmt::format("portal \"{}\" does not exist", *name));
    Portal& p = it->second;
    if (p.statement->kind != Statement::kQuery) {
      w.begin('n');
      w.end();
      return std::nullopt;
    }
    if (!p.rows) {
      auto start = SteadyClock::now();
      if (auto e = start_portal(p)) {
        log_statement(p.statement->sql, start, 0, &*e);
        return e;
      }
      end_run();
    }
    row_description(*p.rows, p.result_formats);
    return std::nullopt;
  }

  std::optional<SqlError> execute(Reader& r) {
    auto name = r.cstr();
    auto max_rows = r.i32();
    if (!name.ok() || !max_rows.ok()) return error("08P01", "malformed Execute message");
    auto it = portals.find(*name);
    if (it == portals.end()) return error("34000", fmt::format("portal \"{}\" does not exist", *name));
    Portal& p = it->second;
    Statement& s = *p.statement;
    auto start = SteadyClock::now();
    int64_t count = 0;
    std::optional<SqlError> e;
    if (auto e = aborted(s.sql)) return e;
    if (s.kind == Statement::kEmpty) {
      w.begin('I');
      w.end();
      return std::nullopt;
    }
    if (s.kind == Statement::kCommand) {
      if (p.done) {
        complete("SELECT 0");
        return std::nullopt;
      }
      e = command(s.sql, false, count);
      p.done = true;
      log_statement(s.sql, start, count, e ? &*e : nullptr);
      return e;
    }
    if (!p.rows) e = start_portal(p);
    bool done = false;
    if (!e && streaming && streaming != p.rows.get()) e = free_connection();
    if (!e) e = send_rows(*p.rows, p.result_formats, *max_rows, done, count);
    if (!e) {
      if (done) {
        complete(s.verb == "SELECT" ? fmt::format("SELECT {}", p.rows->sent) : s.verb);
        p.rows.reset();  // a portal run to its end stays, empty
        p.done = true;
      } else {
        w.begin('s');  // PortalSuspended
        w.end();
      }
    }
    if (done || e) log_statement(s.sql, start, p.rows ? static_cast<int64_t>(p.rows->sent) : count, e ? &*e : nullptr);
    return e;
  }

  std::optional<SqlError> close(Reader& r) {
    auto kind = r.byte();
    auto name = r.cstr();
    if (!kind.ok() || !name.ok()) return error("08P01", "malformed Close message");
    if (*kind == 'S') {
      statements.erase(*name);
    } else {
      auto it = portals.find(*name);
      if (it != portals.end()) {
        if (it->second.rows && streaming == it->second.rows.get()) streaming = nullptr;
        portals.erase(it);
      }
    }
    w.begin('3');
    w.end();
    return std::nullopt;
  }

  // --- the message loop ------------------------------------------------------------------------

  void serve() {
    if (!startup()) return;
    char type;
    std::string body;
    while (true) {
      if (!read_message(type, body).ok()) return;
      Reader r(body);
      if (type == 'X') return;
      if (skip_to_sync && type != 'S') continue;
      std::optional<SqlError> e;
      switch (type) {
        case 'Q': {
          auto q = r.cstr();
          if (!q.ok()) return;
          simple_query(*q);
          break;
        }
        case 'P': e = parse(r); break;
        case 'B': e = bind(r); break;
        case 'D': e = describe(r); break;
        case 'E': e = execute(r); break;
        case 'C': e = close(r); break;
        case 'H': break;
        case 'S':
          skip_to_sync = false;
          portals.erase("");
          if (streaming) (void)free_connection();
          ready();
          break;
        case 'p': e = error("08P01", "unexpected password message"); break;
        case 'F': e = error("0A000", "the function call protocol is not supported"); break;
        case 'd':
        case 'c':
        case 'f': break;  // COPY data: no COPY runs here
        default:
          fatal("08P01", fmt::format("invalid frontend message type {}", static_cast<int>(type)));
          return;
      }
      if (e) {
        fail(*e);
        skip_to_sync = true;  // the extended protocol discards messages until Sync after an error
      }
      if (type == 'Q' || type == 'S' || type == 'H' || w.full()) {
        if (!w.flush(*conn).ok()) return;
      }
    }
  }
};

Session::Session(SessionHost& host, int fd, std::string peer, bool peer_is_loopback, int32_t pid)
    : impl_(std::make_unique<Impl>(host, fd, std::move(peer), peer_is_loopback, this)), pid_(pid) {
  std::random_device rd;
  secret_ = static_cast<int32_t>(rd());
}

Session::~Session() = default;

void Session::run() {
  impl_->serve();
  // The DuckDB results must go before the connection.
  impl_->portals.clear();
  impl_->cursors.clear();
  impl_->statements.clear();
  {
    std::lock_guard lock(impl_->run_mu);
    impl_->running = false;
    impl_->db.reset();
  }
  {
    std::lock_guard lock(impl_->run_mu);
    impl_->conn.reset();  // the client sees the connection close now (node-postgres waits for it on end())
  }
  if (impl_->admitted) impl_->host.leave();
  if (impl_->user != "?") spdlog::info("sql: {} (\"{}\") disconnected", impl_->peer, impl_->user);
  finished_ = true;
}

void Session::interrupt(bool timeout) {
  std::lock_guard lock(impl_->run_mu);
  if (!impl_->running || !impl_->db) return;
  impl_->interrupted = timeout ? 2 : 1;
  duckdb_interrupt(impl_->db->raw());
}

void Session::check_deadline(std::chrono::steady_clock::time_point now) {
  bool late;
  {
    std::lock_guard lock(impl_->run_mu);
    late = impl_->running && impl_->interrupted == 0 && now >= impl_->deadline;
  }
  if (late) interrupt(true);
}

void Session::shutdown() {
  {
    std::lock_guard lock(impl_->run_mu);
    if (impl_->conn) ::shutdown(impl_->conn->fd(), SHUT_RDWR);
  }
  interrupt(false);
}

}  // namespace hrflow::sql
