#include "sql/client.h"

#include <libpq-fe.h>

#include <cstdlib>
#include <memory>

#include "sql/values.h"

namespace hrflow::sql {

Result<EndpointRows> query_endpoint(const Config& config, const std::string& host, int port, const std::string& sql) {
  auto users = config.get_map("serve.sql.users");
  std::string user, password;
  const char* env_user = std::getenv("PGUSER");
  if (!users.empty()) {
    user = env_user ? env_user : users.begin()->first;
    auto it = users.find(user);
    if (it != users.end()) password = it->second;
  } else {
    user = env_user ? env_user : "hrflow";
    password = config.get_string("serve.token");
  }
  const char* env_password = std::getenv("PGPASSWORD");
  if (password.empty() && env_password) password = env_password;
  std::string port_text = std::to_string(port);
  const char* keys[] = {"host", "port", "dbname", "user", "password", "application_name", "sslmode", "connect_timeout", nullptr};
  const char* values[] = {host.c_str(), port_text.c_str(), "warehouse", user.c_str(), password.c_str(), "hrflow query",
                          "prefer", "10", nullptr};
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdbParams(keys, values, 0), &PQfinish);
  if (PQstatus(conn.get()) != CONNECTION_OK) {
    return make_error(ErrorKind::kUnavailable, "the SQL endpoint of hrflow serve at {}:{}: {}", host, port,
                      PQerrorMessage(conn.get()));
  }
  std::unique_ptr<PGresult, decltype(&PQclear)> res(PQexec(conn.get(), sql.c_str()), &PQclear);
  ExecStatusType st = PQresultStatus(res.get());
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK && st != PGRES_EMPTY_QUERY) {
    std::string message = PQresultErrorMessage(res.get());
    while (!message.empty() && message.back() == '\n') message.pop_back();
    return invalid_argument("{}", message);
  }
  EndpointRows out;
  int cols = PQnfields(res.get());
  for (int c = 0; c < cols; ++c) {
    out.columns.emplace_back(PQfname(res.get(), c));
    Oid t = PQftype(res.get(), c);
    out.numeric.push_back(t == oid::kInt2 || t == oid::kInt4 || t == oid::kInt8 || t == oid::kFloat4 ||
                          t == oid::kFloat8 || t == oid::kNumeric);
  }
  for (int r = 0; r < PQntuples(res.get()); ++r) {
    std::vector<std::optional<std::string>> row;
    for (int c = 0; c < cols; ++c) {
      if (PQgetisnull(res.get(), r, c)) {
        row.emplace_back();
      } else {
        row.emplace_back(std::string(PQgetvalue(res.get(), r, c), PQgetlength(res.get(), r, c)));
      }
    }
    out.rows.push_back(std::move(row));
  }
  return out;
}

}  // namespace hrflow::sql
