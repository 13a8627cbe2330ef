// Running SQL on a serve's endpoint from another hrflow command (`hrflow query --sql` while serve owns
// the warehouse), through libpq like any other client. Credentials come from the same configuration
// serve reads: a serve.sql.users entry ($PGUSER picks which) or the serve token.
//
// Thread-safety: a free function; one connection per call.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/config.h"
#include "common/status.h"

namespace hrflow::sql {

struct EndpointRows {
  std::vector<std::string> columns;
  std::vector<bool> numeric;  // per column: a number type
  std::vector<std::vector<std::optional<std::string>>> rows;
};

// Run `sql` (one or more statements; the last one's rows are returned) on the endpoint at host:port.
Result<EndpointRows> query_endpoint(const Config& config, const std::string& host, int port, const std::string& sql);

}  // namespace hrflow::sql
