#include "sql/catalog.h"

#include <fmt/format.h>

#include <set>
#include <vector>

namespace hrflow::sql {

Status install_catalog(db::Connection& conn, const std::string& user) {
  std::string version = fmt::format("PostgreSQL {} on hrflow (DuckDB {}), read-only warehouse endpoint", kServerVersion,
                                    db::duckdb_version());
  const std::string statements[] = {
      // Object-identifier types clients cast to; DuckDB has no reg* types, OIDs are BIGINT.
      "CREATE TEMP TYPE regclass AS BIGINT",
      "CREATE TEMP TYPE regtype AS BIGINT",
      "CREATE TEMP TYPE regproc AS BIGINT",
      "CREATE TEMP TYPE regprocedure AS BIGINT",
      "CREATE TEMP TYPE regnamespace AS BIGINT",
      "CREATE TEMP TYPE regrole AS BIGINT",
      "CREATE TEMP TYPE regoper AS BIGINT",
      "CREATE TEMP TYPE name AS VARCHAR",
      "CREATE TEMP TYPE int2vector AS VARCHAR",
      "CREATE TEMP TYPE oidvector AS VARCHAR",
      fmt::format("CREATE TEMP MACRO version() AS {}", db::quote_literal(version)),
      fmt::format("CREATE TEMP MACRO pg_get_userbyid(id) AS {}", db::quote_literal(user)),
      fmt::format("CREATE TEMP MACRO current_user() AS {}", db::quote_literal(user)),
      fmt::format("CREATE TEMP MACRO session_user() AS {}", db::quote_literal(user)),
      "CREATE TEMP MACRO pg_encoding_to_char(e) AS 'UTF8'",
      "CREATE TEMP MACRO pg_backend_pid() AS 0",
      "CREATE TEMP MACRO pg_is_in_recovery() AS false",
      "CREATE TEMP MACRO pg_table_is_visible(id) AS true",
      "CREATE TEMP MACRO pg_get_expr(e, r) AS pg_catalog.pg_get_expr(e, r), (e, r, pretty) AS pg_catalog.pg_get_expr(e, r)",
      // Types: DuckDB's pg_attribute gives DuckDB's own type ids and its pg_type one row per alias; clients
      // join the two on PostgreSQL's OIDs, so both are redefined over duckdb_columns() with the OIDs the
      // endpoint sends in RowDescription (values.h).
      "CREATE TEMP MACRO hrflow_pg_oid(t) AS CASE WHEN t = 'BOOLEAN' THEN 16 WHEN t IN ('TINYINT', 'SMALLINT', 'UTINYINT') "
      "THEN 21 WHEN t IN ('INTEGER', 'USMALLINT') THEN 23 WHEN t IN ('BIGINT', 'UINTEGER') THEN 20 WHEN t IN ('UBIGINT', "
      "'HUGEINT', 'UHUGEINT') OR t LIKE 'DECIMAL%' THEN 1700 WHEN t = 'FLOAT' THEN 700 WHEN t = 'DOUBLE' THEN 701 "
      "WHEN t = 'VARCHAR' THEN 1043 WHEN t = 'DATE' THEN 1082 WHEN t = 'TIME' THEN 1083 WHEN t IN ('TIMESTAMP', "
      "'TIMESTAMP_S', 'TIMESTAMP_MS', 'TIMESTAMP_NS') THEN 1114 WHEN t = 'TIMESTAMP WITH TIME ZONE' THEN 1184 "
      "WHEN t = 'INTERVAL' THEN 1186 WHEN t = 'UUID' THEN 2950 WHEN t = 'BLOB' THEN 17 WHEN t = 'JSON' THEN 114 "
      "ELSE 25 END::BIGINT",
      // pg_catalog itself as a schema (OID 11 as in PostgreSQL): clients find the built-in types through it.
      "CREATE TEMP VIEW pg_namespace AS SELECT * FROM pg_catalog.pg_namespace UNION ALL SELECT 11, 'pg_catalog', 10, NULL "
      "WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = 'pg_catalog')",
      "CREATE TEMP VIEW pg_type AS SELECT oid::BIGINT AS oid, typname, 11::BIGINT AS typnamespace, 10::BIGINT AS typowner, typlen::SMALLINT AS typlen, typlen > 0 AS typbyval, "
      "'b' AS typtype, typcategory, false AS typispreferred, true AS typisdefined, ',' AS typdelim, 0::BIGINT AS typrelid, "
      // typinput & co. are regproc in PostgreSQL: 0 here, which no 'name'::regproc (-1) equals.
      "NULL::VARCHAR AS typsubscript, 0::BIGINT AS typelem, 0::BIGINT AS typarray, 0::BIGINT AS typinput, "
      "0::BIGINT AS typoutput, 0::BIGINT AS typreceive, 0::BIGINT AS typsend, NULL::VARCHAR AS typmodin, "
      "NULL::VARCHAR AS typmodout, NULL::VARCHAR AS typanalyze, 'i' AS typalign, 'p' AS typstorage, false AS typnotnull, "
      "0::BIGINT AS typbasetype, -1 AS typtypmod, 0 AS typndims, 0::BIGINT AS typcollation, NULL::VARCHAR AS typdefaultbin, "
      "NULL::VARCHAR AS typdefault, NULL::VARCHAR AS typacl FROM (VALUES (16, 'bool', 1, 'B'), (17, 'bytea', -1, 'U'), "
      "(20, 'int8', 8, 'N'), (21, 'int2', 2, 'N'), (23, 'int4', 4, 'N'), (25, 'text', -1, 'S'), (114, 'json', -1, 'U'), "
      "(700, 'float4', 4, 'N'), (701, 'float8', 8, 'N'), (1043, 'varchar', -1, 'S'), (1082, 'date', 4, 'D'), "
      "(1083, 'time', 8, 'D'), (1114, 'timestamp', 8, 'D'), (1184, 'timestamptz', 8, 'D'), (1186, 'interval', 16, 'T'), "
      "(1700, 'numeric', -1, 'N'), (2950, 'uuid', 16, 'U'), (705, 'unknown', -2, 'X'), (18, 'char', 1, 'S'), "
      "(19, 'name', 64, 'S'), (26, 'oid', 4, 'N')) AS t(oid, typname, typlen, typcategory)",
      "CREATE TEMP VIEW pg_attribute AS SELECT table_oid::BIGINT AS attrelid, column_name AS attname, "
      "hrflow_pg_oid(data_type) AS atttypid, 0 AS attstattarget, -1::SMALLINT AS attlen, column_index::SMALLINT AS attnum, "
      "0 AS attndims, -1 AS attcacheoff, CASE WHEN data_type LIKE 'DECIMAL%' THEN numeric_precision * 65536 + numeric_scale + 4 "
      "ELSE -1 END AS atttypmod, false AS attbyval, 'p' AS attstorage, 'i' AS attalign, NOT is_nullable AS attnotnull, "
      "column_default IS NOT NULL AS atthasdef, false AS atthasmissing, '' AS attidentity, '' AS attgenerated, "
      "false AS attisdropped, true AS attislocal, 0 AS attinhcount, 0::BIGINT AS attcollation, NULL::VARCHAR AS attcompression, "
      "NULL::VARCHAR[] AS attacl, NULL::VARCHAR[] AS attoptions, NULL::VARCHAR[] AS attfdwoptions, "
      "NULL::VARCHAR AS attmissingval FROM duckdb_columns()",
      // PostgreSQL's spelling of type names (typmod as PostgreSQL encodes it: ((precision << 16) | scale) + 4).
      "CREATE TEMP MACRO format_type(t, m) AS CASE t WHEN 16 THEN 'boolean' WHEN 17 THEN 'bytea' WHEN 20 THEN 'bigint' "
      "WHEN 21 THEN 'smallint' WHEN 23 THEN 'integer' WHEN 25 THEN 'text' WHEN 114 THEN 'json' WHEN 700 THEN 'real' "
      "WHEN 701 THEN 'double precision' WHEN 1043 THEN 'character varying' WHEN 1082 THEN 'date' "
      "WHEN 1083 THEN 'time without time zone' WHEN 1114 THEN 'timestamp without time zone' "
      "WHEN 1184 THEN 'timestamp with time zone' WHEN 1186 THEN 'interval' WHEN 2950 THEN 'uuid' "
      "WHEN 1700 THEN CASE WHEN m > 4 THEN 'numeric(' || ((m - 4) // 65536) || ',' || ((m - 4) % 65536) || ')' "
      "ELSE 'numeric' END ELSE 'unknown' END",
      // 'name'::regclass and friends (sql_text.h rewrites the casts into these).
      "CREATE TEMP MACRO hrflow_regclass(n) AS coalesce((SELECT min(oid) FROM pg_catalog.pg_class WHERE relname = "
      "replace(split_part(n, '.', -1), '\"', '') AND (n NOT LIKE '%.%' OR (SELECT nspname FROM pg_catalog.pg_namespace "
      "WHERE oid = relnamespace) = replace(split_part(n, '.', 1), '\"', ''))), 0)::BIGINT",
      "CREATE TEMP MACRO hrflow_regtype(n) AS coalesce((SELECT min(oid) FROM pg_type WHERE typname = n), 0)::BIGINT",
      "CREATE TEMP MACRO hrflow_regproc(n) AS -1::BIGINT",
      "CREATE TEMP MACRO hrflow_regprocedure(n) AS -1::BIGINT",
      // information_schema._pg_expandarray (JDBC's key queries): the elements of an array with their positions.
      "CREATE TEMP MACRO _pg_expandarray(a) AS unnest(list_transform(range(len(a)), i -> {'x': a[i + 1], 'n': i + 1}))",
      "CREATE TEMP MACRO hrflow_regnamespace(n) AS coalesce((SELECT min(oid) FROM pg_catalog.pg_namespace WHERE "
      "nspname = n), 0)::BIGINT",
      "CREATE TEMP MACRO pg_relation_is_publishable(id) AS false",
      "CREATE TEMP MACRO array_upper(a, d) AS len(a)",
      "CREATE TEMP MACRO pg_get_indexdef(id, col := 0, pretty := true) AS ''",
      "CREATE TEMP MACRO pg_get_partkeydef(id) AS NULL::VARCHAR",
      "CREATE TEMP MACRO pg_relation_size(id) AS 0::BIGINT",
      "CREATE TEMP MACRO pg_table_size(id) AS 0::BIGINT",
      "CREATE TEMP MACRO pg_get_function_result(id) AS ''",
      "CREATE TEMP MACRO pg_get_function_arguments(id) AS ''",
      "CREATE TEMP MACRO pg_get_function_identity_arguments(id) AS ''",
      "CREATE TEMP VIEW pg_auth_members AS SELECT NULL::BIGINT AS oid, NULL::BIGINT AS roleid, NULL::BIGINT AS member, "
      "NULL::BIGINT AS grantor, false AS admin_option WHERE false",
      "CREATE TEMP MACRO pg_total_relation_size(id) AS 0::BIGINT",
      "CREATE TEMP MACRO pg_get_statisticsobjdef_columns(id) AS NULL::VARCHAR",
      "CREATE TEMP MACRO quote_ident(s) AS '\"' || replace(s, '\"', '\"\"') || '\"'",
      // Catalog tables DuckDB lacks, empty with the columns clients read.
      "CREATE TEMP VIEW pg_roles AS SELECT 10::BIGINT AS oid, current_user() AS rolname, false AS rolsuper, "
      "false AS rolcreaterole, false AS rolcreatedb, true AS rolcanlogin, -1 AS rolconnlimit, NULL::VARCHAR AS rolvaliduntil, "
      "true AS rolinherit, false AS rolreplication, false AS rolbypassrls",
      "CREATE TEMP VIEW pg_user AS SELECT current_user() AS usename, 10::BIGINT AS usesysid, false AS usesuper",
      "CREATE TEMP VIEW pg_inherits AS SELECT NULL::BIGINT AS inhrelid, NULL::BIGINT AS inhparent, NULL::INTEGER AS inhseqno, "
      "false AS inhdetachpending WHERE false",
      "CREATE TEMP VIEW pg_policy AS SELECT NULL::BIGINT AS oid, NULL::VARCHAR AS polname, NULL::BIGINT AS polrelid, "
      "NULL::VARCHAR AS polcmd, true AS polpermissive, NULL::BIGINT[] AS polroles, NULL::VARCHAR AS polqual, "
      "NULL::VARCHAR AS polwithcheck WHERE false",
      "CREATE TEMP VIEW pg_trigger AS SELECT NULL::BIGINT AS oid, NULL::BIGINT AS tgrelid, NULL::VARCHAR AS tgname, "
      "NULL::BIGINT AS tgfoid, NULL::VARCHAR AS tgenabled, false AS tgisinternal, NULL::BIGINT AS tgparentid WHERE false",
      "CREATE TEMP VIEW pg_rewrite AS SELECT NULL::BIGINT AS oid, NULL::VARCHAR AS rulename, NULL::BIGINT AS ev_class, "
      "NULL::VARCHAR AS ev_type, NULL::VARCHAR AS ev_enabled WHERE false",
      "CREATE TEMP VIEW pg_statistic_ext AS SELECT NULL::BIGINT AS oid, NULL::BIGINT AS stxrelid, NULL::VARCHAR AS stxname, "
      "NULL::BIGINT AS stxnamespace, NULL::INTEGER AS stxstattarget, NULL::VARCHAR[] AS stxkind, NULL::VARCHAR AS stxkeys "
      "WHERE false",
      "CREATE TEMP VIEW pg_publication AS SELECT NULL::BIGINT AS oid, NULL::VARCHAR AS pubname, false AS puballtables, "
      "false AS pubviaroot WHERE false",
      "CREATE TEMP VIEW pg_publication_rel AS SELECT NULL::BIGINT AS oid, NULL::BIGINT AS prpubid, NULL::BIGINT AS prrelid, "
      "NULL::VARCHAR AS prqual, NULL::SMALLINT[] AS prattrs WHERE false",
      "CREATE TEMP VIEW pg_publication_namespace AS SELECT NULL::BIGINT AS oid, NULL::BIGINT AS pnpubid, "
      "NULL::BIGINT AS pnnspid WHERE false",
      "CREATE TEMP VIEW pg_collation AS SELECT 100::BIGINT AS oid, 'default' AS collname, NULL::BIGINT AS collnamespace",
      "CREATE TEMP VIEW pg_foreign_table AS SELECT NULL::BIGINT AS ftrelid, NULL::BIGINT AS ftserver WHERE false",
      "CREATE TEMP VIEW pg_partitioned_table AS SELECT NULL::BIGINT AS partrelid, NULL::VARCHAR AS partstrat WHERE false",
      "CREATE TEMP VIEW pg_extension AS SELECT NULL::BIGINT AS oid, NULL::VARCHAR AS extname, NULL::VARCHAR AS extversion "
      "WHERE false",
      "CREATE TEMP VIEW pg_event_trigger AS SELECT NULL::BIGINT AS oid, NULL::VARCHAR AS evtname WHERE false",
      "CREATE TEMP VIEW pg_stat_activity AS SELECT NULL::BIGINT AS pid, NULL::VARCHAR AS usename, NULL::VARCHAR AS query, "
      "NULL::VARCHAR AS state WHERE false",
      "CREATE TEMP VIEW pg_matviews AS SELECT NULL::VARCHAR AS schemaname, NULL::VARCHAR AS matviewname, "
      "NULL::VARCHAR AS definition WHERE false",
  };
  for (const auto& s : statements) {
    if (auto st = conn.execute(s); !st.ok()) return st.error().with_context("setting up the PostgreSQL catalog on a SQL endpoint connection");
  }
  // DuckDB's catalog views with the PostgreSQL 15 columns they lack, as temporary views of the same name.
  struct Extra {
    const char* column;
    const char* value;
  };
  const std::vector<std::pair<const char*, std::vector<Extra>>> extended = {
      {"pg_class", {{"relforcerowsecurity", "false"}}},
      {"pg_index", {{"indnullsnotdistinct", "false"}}},
      {"pg_database",
       {{"datdba", "10::BIGINT"}, {"encoding", "6"}, {"datlocprovider", "'c'"}, {"datistemplate", "false"},
        {"datallowconn", "true"}, {"datconnlimit", "-1"}, {"datfrozenxid", "0::BIGINT"}, {"datminmxid", "0::BIGINT"},
        {"dattablespace", "1663::BIGINT"}, {"datcollate", "'C'"}, {"datctype", "'C'"}, {"daticulocale", "NULL::VARCHAR"},
        {"datcollversion", "NULL::VARCHAR"}, {"datacl", "NULL::VARCHAR[]"}}},
      {"pg_settings",
       {{"unit", "NULL::VARCHAR"}, {"category", "''"}, {"extra_desc", "NULL::VARCHAR"}, {"context", "'user'"},
        {"source", "'default'"}, {"min_val", "NULL::VARCHAR"}, {"max_val", "NULL::VARCHAR"}, {"enumvals", "NULL::VARCHAR[]"},
        {"boot_val", "NULL::VARCHAR"}, {"reset_val", "NULL::VARCHAR"}, {"sourcefile", "NULL::VARCHAR"},
        {"sourceline", "NULL::INTEGER"}, {"pending_restart", "false"}}},
  };
  for (const auto& [view, extras] : extended) {
    HRFLOW_ASSIGN_OR_RETURN(auto probe, conn.query(fmt::format("SELECT * FROM pg_catalog.{} LIMIT 0", view)));
    std::set<std::string> have;
    for (uint64_t c = 0; c < probe.column_count(); ++c) have.insert(probe.column_name(c));
    std::string added;
    for (const auto& e : extras) {
      if (!have.count(e.column)) added += fmt::format(", {} AS {}", e.value, e.column);
    }
    // The endpoint's own temporary views and macros are not the warehouse's: pg_class hides them.
    // DuckDB's internal databases (system, temp) are not the client's.
    std::string where = std::string(view) == "pg_class"
                            ? " WHERE oid NOT IN (SELECT view_oid FROM duckdb_views() WHERE temporary)"
                        : std::string(view) == "pg_database" ? " WHERE datname NOT IN ('system', 'temp')"
                                                             : "";
    // Settings PostgreSQL clients read that DuckDB does not have (JDBC asks max_index_keys).
    std::string more = std::string(view) == "pg_settings"
                           ? " UNION ALL BY NAME SELECT 'max_index_keys' AS name, '32' AS setting, 'integer' AS vartype, "
                             "'' AS short_desc UNION ALL BY NAME SELECT 'max_identifier_length', '63', 'integer', ''"
                           : "";
    if (added.empty() && where.empty() && more.empty()) continue;
    HRFLOW_TRY(conn.execute(
        fmt::format("CREATE TEMP VIEW {} AS SELECT *{} FROM pg_catalog.{}{}{}", view, added, view, where, more)));
  }
  return {};
}

}  // namespace hrflow::sql
