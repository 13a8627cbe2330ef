#include "common/state.h"

#include <map>

namespace hrflow {

StateLayout StateLayout::from(const Config& config) {
  StateLayout s;
  s.state_dir = config.get_path("state_dir");
  s.stream_dir = config.get_path("stream.log.dir");
  s.warehouse_path = config.get_path("warehouse.path");
  s.postgres_dir = s.state_dir / "postgres";
  s.runs_dir = s.state_dir / "runs";
  s.lake_url = config.get_string("lake.url");
  return s;
}

Status StateLayout::ensure_dirs() const {
  std::error_code ec;
  for (const auto& d : {state_dir, warehouse_path.parent_path()}) {
    std::filesystem::create_directories(d, ec);
    if (ec) return io_error("cannot create directory '{}': {}", d.string(), ec.message());
  }
  return {};
}

Status ensure_warehouse_schemas(db::Connection& conn) {
  for (const char* schema : kWarehouseSchemas) {
    HRFLOW_TRY(conn.execute(fmt::format("CREATE SCHEMA IF NOT EXISTS {}", schema)));
  }
  return {};
}

Result<db::Database> open_warehouse(const Config& config) {
  auto layout = StateLayout::from(config);
  HRFLOW_TRY(layout.ensure_dirs());
  std::map<std::string, std::string> options;
  if (auto threads = config.get_int("warehouse.threads"); threads > 0) options["threads"] = std::to_string(threads);
  if (auto mem = config.get_string("warehouse.memory_limit"); !mem.empty()) options["memory_limit"] = mem;
  HRFLOW_ASSIGN_OR_RETURN(auto database, db::Database::open(layout.warehouse_path.string(), options));
  HRFLOW_ASSIGN_OR_RETURN(auto conn, db::Connection::connect(database));
  // Timestamps in the warehouse are UTC; session-dependent conversions must not depend on the host.
  // (Set after opening: as an open option it would need the ICU extension before it is loaded.)
  HRFLOW_TRY(conn.execute("SET GLOBAL TimeZone = 'UTC'"));
  HRFLOW_TRY(ensure_warehouse_schemas(conn));
  return database;
}

Result<db::Database> open_warehouse_read_only(const Config& config) {
  const auto layout = StateLayout::from(config);
  if (!std::filesystem::exists(layout.warehouse_path)) {
    return make_error(ErrorKind::kNotFound, "no warehouse at '{}': run the pipeline first (`hrflow demo`, or `hrflow sync` then `hrflow build`)",
                      layout.warehouse_path.string());
  }
  std::map<std::string, std::string> options{{"access_mode", "READ_ONLY"}, {"enable_external_access", "false"}};
  if (config.get_int("warehouse.threads") > 0) options["threads"] = std::to_string(config.get_int("warehouse.threads"));
  if (!config.get_string("warehouse.memory_limit").empty()) options["memory_limit"] = config.get_string("warehouse.memory_limit");
  auto db = db::Database::open(layout.warehouse_path.string(), options);
  if (!db.ok()) {
    return db.error().with_context(
        "opening the warehouse read-only (if `hrflow serve` owns it, use the dashboard or stop it first)");
  }
  return db;
}

}  // namespace hrflow
