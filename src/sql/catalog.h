// Enough of PostgreSQL's catalog for clients, on top of DuckDB's partial pg_catalog: what psql's \dt,
// \d TABLE and \dn, JDBC's DatabaseMetaData and BI drivers ask. The missing pieces are temporary
// macros, types and views created on each endpoint connection (connection-local: nothing is written
// to the warehouse); sql_text.h strips the pg_catalog. qualifier so that they resolve.
//
// Thread-safety: install() runs on the session's own connection.
#pragma once

#include "common/duckdb.h"
#include "common/status.h"

namespace hrflow::sql {

// PostgreSQL version the endpoint reports (server_version, version()).
inline constexpr const char* kServerVersion = "15.0";

Status install_catalog(db::Connection& conn, const std::string& user);

}  // namespace hrflow::sql
