// The peer of bench/transform.sh: runs a file of SQL statements (separated by lines "-- statement")
// straight through DuckDB's C API against a database file, and prints the elapsed seconds. It is
// what hrflow's runner does without the runner: same compiled SQL, same engine.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "common/duckdb.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: transform_direct DATABASE STATEMENTS.sql\n");
    return 2;
  }
  auto t0 = std::chrono::steady_clock::now();
  std::ifstream in(argv[2]);
  std::stringstream ss;
  ss << in.rdbuf();
  auto database = hrflow::db::Database::open(argv[1]);
  if (!database.ok()) return std::fprintf(stderr, "%s\n", database.error().message.c_str()), 1;
  auto conn = hrflow::db::Connection::connect(*database);
  if (!conn.ok()) return std::fprintf(stderr, "%s\n", conn.error().message.c_str()), 1;
  std::string all = ss.str(), sep = "\n-- statement\n";
  size_t pos = 0;
  while (pos < all.size()) {
    size_t next = all.find(sep, pos);
    std::string stmt = all.substr(pos, next == std::string::npos ? std::string::npos : next - pos);
    pos = next == std::string::npos ? all.size() : next + sep.size();
    if (stmt.find_first_not_of(" \n\t") == std::string::npos) continue;
    auto r = conn->query(stmt);
    if (!r.ok()) return std::fprintf(stderr, "%s\n", r.error().message.c_str()), 1;
  }
  std::printf("%.3f\n", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  return 0;
}
