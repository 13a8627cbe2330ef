// The operational source's operations on a PostgreSQL database: create and load `users` and
// `activities` (generate), apply a history of changes each in its own transaction (mutate), write the
// tables as CSV files (export), and describe what is there (inspect). The CLI (cli.cpp) and tests call
// these; each takes an open connection and is safe to re-run (it refuses to clobber, and writes every
// unit of work in one transaction, so a failure leaves nothing half-written).
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "common/config.h"
#include "common/progress.h"
#include "common/pg.h"

namespace hrflow::oltp {

// Tables the operational source owns besides users/activities (not part of the CDC publication).
inline constexpr const char* kHistoryTable = "hrflow_user_history";
inline constexpr const char* kGenerationTable = "hrflow_generation";
// Users from this id up are imported participants (hrflow import): mutate and the simulator's fleet
// leave them alone, and generated ids and sign-ups stay below it.
inline constexpr int64_t kFirstImportedUserId = 90001;

struct GenerateOptions {
  int64_t users = 9999;
  uint64_t seed = 42;
  bool replace = false;
  int64_t as_of = 0;                 // epoch seconds: ages count from this day; rows' last_update
  std::string publication;           // created (or extended) for users + activities when not empty
  bool show_progress = false;
};

struct GenerateReport {
  int64_t users = 0, activities = 0;
  bool replaced = false;
  bool commit_time_simulated = false;  // the load committed at as_of (managed server clock)
  double seconds = 0;
};

// The connection string of the operational database: oltp.url, or the managed server (started or
// reused when `start_managed`; otherwise it must be running).
Result<std::string> database_url(const Config& config, bool start_managed);

Result<GenerateReport> generate(PgConnection& conn, const GenerateOptions& options);

// The server's commit clock, when it can be driven (the managed server under libfaketime): set()
// makes the next commits carry that time; destruction returns the server to the real time.
class ServerClock {
 public:
  // nullopt when this server's clock cannot be driven from here (external server, no libfaketime).
  static Result<std::optional<ServerClock>> detect(PgConnection& conn);
  ServerClock(ServerClock&& o) noexcept : file_(std::move(o.file_)) { o.file_.clear(); }
  ServerClock(const ServerClock&) = delete;
  ServerClock& operator=(const ServerClock&) = delete;
  ServerClock& operator=(ServerClock&&) = delete;
  ~ServerClock();
  Status set(int64_t epoch_s);
  Status reset();  // back to the real time

 private:
  explicit ServerClock(std::filesystem::path file) : file_(std::move(file)) {}
  std::filesystem::path file_;
};

struct MutateOptions {
  int64_t from = 0, to = 0;    // epoch seconds, inclusive window of simulated change times
  double rate_per_day = 20;    // user changes per simulated day on average
  uint64_t seed = 42;
  bool show_progress = false;
};

struct MutateReport {
  std::map<std::string, int64_t> changes;  // by kind
  int64_t total = 0;
  int64_t first = 0, last = 0;             // simulated times of the first and last change
  bool commit_time_simulated = false;      // commits carry the simulated times
  double seconds = 0;
};

// Change kinds, as recorded in the history table.
inline constexpr const char* kChangeKinds[] = {"move",   "weight",   "name",          "signup",
                                               "delete", "resignup", "activity_rename", "activity_retire"};

Result<MutateReport> mutate(PgConnection& conn, const MutateOptions& options);

struct ExportReport {
  int64_t users = 0, activities = 0;
  std::filesystem::path users_csv, activities_csv;
};
// Write users.csv and activities.csv (header + rows ordered by id, the original system's static files).
Result<ExportReport> export_csv(PgConnection& conn, const std::filesystem::path& dir);

struct Inventory {
  std::optional<int64_t> users, activities, history;  // row counts; nullopt = table missing
  std::map<std::string, int64_t> history_by_kind;
  std::optional<int64_t> seed, generated_users, as_of;
  std::optional<int64_t> last_change;                 // simulated time of the latest change
};
Result<Inventory> inspect(PgConnection& conn);

}  // namespace hrflow::oltp
