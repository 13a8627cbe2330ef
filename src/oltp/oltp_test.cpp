// The operational source against a real PostgreSQL (tests/support fixtures): tables and constraints,
// refusing to clobber, no half-written tables, change history with commit times, the fleet, export.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "oltp/fleet_source.h"
#include "oltp/generator.h"
#include "oltp/oltp.h"
#include "oltp/postgres_server.h"
#include "support/fixtures.h"

namespace hrflow::oltp {
namespace {

using hrflow::testing::PostgresInstance;
using hrflow::testing::run_hrflow;
using hrflow::testing::TempDir;

constexpr int64_t kAsOf = 1735689600;  // 2025-01-01 00:00:00 UTC
constexpr int64_t kFrom = 1735776000;  // 2025-01-02
constexpr int64_t kTo = 1743465599;    // 2025-03-31 23:59:59

PgConnection connect(const PostgresInstance& pg) {
  auto c = PgConnection::connect(pg.url());
  if (!c.ok()) throw std::runtime_error(c.error().message);
  return std::move(c).value();
}

std::string scalar(PgConnection& c, const std::string& sql) {
  auto r = c.scalar(sql);
  if (!r.ok()) throw std::runtime_error(r.error().message);
  return r->value_or("NULL");
}

GenerateOptions gen_options(int64_t users, uint64_t seed = 42) {
  GenerateOptions o;
  o.users = users;
  o.seed = seed;
  o.as_of = kAsOf;
  o.publication = "airbyte_publication";
  return o;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(Oltp, GenerateCreatesConstrainedTablesAndThePublicationAndRefusesToClobber) {
  HRFLOW_START_OR_SKIP(pg, PostgresInstance::start());
  auto c = connect(*pg);
  auto r = generate(c, gen_options(2000));
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(scalar(c, "SELECT count(*) FROM users"), "2000");
  EXPECT_EQ(scalar(c, "SELECT min(user_id) || '..' || max(user_id) FROM users"), "10001..12000");
  EXPECT_EQ(scalar(c, "SELECT count(*) FROM activities"), "23");
  EXPECT_EQ(scalar(c, "SELECT count(*) FROM activities WHERE activity_id NOT BETWEEN 20001 AND 20999"), "0");
  EXPECT_EQ(scalar(c, "SELECT count(*) FROM users WHERE last_update <> '2025-01-01'"), "0");
  // Primary keys and checks hold.
  EXPECT_EQ(scalar(c, "SELECT string_agg(conrelid::regclass::text, ',' ORDER BY 1) FROM pg_constraint WHERE contype = 'p' "
                      "AND conrelid::regclass::text IN ('users', 'activities')"),
            "activities,users");
  EXPECT_FALSE(c.exec("UPDATE users SET height = 50 WHERE user_id = 10001").ok());
  EXPECT_FALSE(c.exec("UPDATE users SET blood_type = 'C+' WHERE user_id = 10001").ok());
  EXPECT_FALSE(c.exec("INSERT INTO users SELECT * FROM users WHERE user_id = 10001").ok());
  // CDC sees users and activities, not the history.
  EXPECT_EQ(scalar(c, "SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_publication_tables WHERE pubname = "
                      "'airbyte_publication'"),
            "activities,users");
  // The managed/fixture server stamps commits: the snapshot's commit time is readable.
  EXPECT_EQ(scalar(c, "SELECT count(*) FROM users WHERE pg_xact_commit_timestamp(xmin) IS NULL"), "0");

  auto again = generate(c, gen_options(10));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().kind, ErrorKind::kAlreadyExists);
  EXPECT_TRUE(contains(again.error().message, "users (2000 rows)")) << again.error().message;
  EXPECT_TRUE(contains(again.error().message, "--replace")) << again.error().message;
  EXPECT_EQ(scalar(c, "SELECT count(*) FROM users"), "2000");

  auto o = gen_options(10);
  o.replace = true;
  ASSERT_TRUE(generate(c, o).ok());
  EXPECT_EQ(scalar(c, "SELECT count(*) FROM users"), "10");
  EXPECT_EQ(scalar(c, "SELECT count(*) FROM pg_publication_tables WHERE pubname = 'airbyte_publication'"), "2");
}

TEST(Oltp, AFailedGenerateLeavesNoTables) {
  HRFLOW_START_OR_SKIP(pg, PostgresInstance::start());
  auto c = connect(*pg);
  // A stray object that makes the last step fail, after users were loaded.
  ASSERT_TRUE(c.exec("CREATE TABLE hrflow_generation (x int)").ok());
  auto r = generate(c, gen_options(5000));
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(contains(r.error().message, "hrflow_generation")) << r.error().message;
  EXPECT_EQ(scalar(c, "SELECT to_regclass('users')"), "NULL");
  EXPECT_EQ(scalar(c, "SELECT to_regclass('activities')"), "NULL");
}

TEST(Oltp, SameSeedSameRowsByteForByte) {
  HRFLOW_START_OR_SKIP(pg, PostgresInstance::start());
  auto c = connect(*pg);
  TempDir dir;
  auto o = gen_options(3000, 7);
  ASSERT_TRUE(generate(c, o).ok());
  ASSERT_TRUE(export_csv(c, dir.path() / "a").ok());
  o.replace = true;
  ASSERT_TRUE(generate(c, o).ok());
  ASSERT_TRUE(export_csv(c, dir.path() / "b").ok());
  o.seed = 8;
  ASSERT_TRUE(generate(c, o).ok());
  ASSERT_TRUE(export_csv(c, dir.path() / "c").ok());
  auto a = read_file(dir.path() / "a" / "users.csv");
  EXPECT_GT(a.size(), 100000u);
  EXPECT_EQ(a, read_file(dir.path() / "b" / "users.csv"));
  EXPECT_NE(a, read_file(dir.path() / "c" / "users.csv"));

  // Fresh data (seed 8): everyone's account starts at the as-of time, at home in their address city.
  auto fleet = load_fleet(c);
  ASSERT_TRUE(fleet.ok()) << fleet.error().message;
  ASSERT_EQ(fleet->users.size(), 3000u);
  ASSERT_EQ(fleet->activities.size(), 23u);
  UserGenerator gen(ReferenceData::embedded(), 8);
  for (const auto& u : fleet->users) {
    UserRow row = gen.user(u.user_id, kAsOf);
    ASSERT_EQ(u.residences.size(), 1u);
    EXPECT_EQ(u.residences[0].city, row.city);
    EXPECT_DOUBLE_EQ(u.residences[0].latitude, row.latitude);
    ASSERT_EQ(u.accounts.size(), 1u);
    EXPECT_EQ(u.accounts[0].from_ts, kAsOf);
    EXPECT_FALSE(u.accounts[0].to_ts.has_value());
  }
}

TEST(Oltp, MutateAppliesEveryKindOfChangeAtItsTimeAndTheFleetFollows) {
  HRFLOW_START_OR_SKIP(pg, PostgresInstance::start());
  auto c = connect(*pg);
  ASSERT_TRUE(generate(c, gen_options(3000)).ok());
  MutateOptions m;
  m.from = kFrom;
  m.to = kTo;
  m.rate_per_day = 12;
  auto r = mutate(c, m);
  ASSERT_TRUE(r.ok()) << r.error().message;
  for (const char* kind : kChangeKinds) EXPECT_GT(r->changes[kind], 0) << kind;
  EXPECT_GT(r->total, 700);
  EXPECT_GE(r->first, kFrom);
  EXPECT_LE(r->last, kTo);
  EXPECT_EQ(scalar(c, "SELECT count(*) FROM hrflow_user_history"), std::to_string(r->total));
  EXPECT_EQ(scalar(c, "SELECT count(*) FROM hrflow_user_history WHERE effective_at NOT BETWEEN '2025-01-02' AND "
                      "'2025-03-31 23:59:59'"),
            "0");
  // Each change is its own transaction, in time order.
  EXPECT_EQ(scalar(c, "SELECT count(DISTINCT xmin::text) FROM hrflow_user_history"), std::to_string(r->total));
  EXPECT_EQ(scalar(c, "SELECT count(*) FROM (SELECT effective_at, lag(effective_at) OVER (ORDER BY change_id) AS prev "
                      "FROM hrflow_user_history) h WHERE effective_at <= prev"),
            "0");
  // The rows carry the change's time.
  EXPECT_EQ(scalar(c, "SELECT count(*) FROM hrflow_user_history h JOIN users u USING (user_id) WHERE h.change_id = "
                      "(SELECT max(change_id) FROM hrflow_user_history x WHERE x.user_id = u.user_id) AND h.kind <> "
                      "'delete' AND u.last_update <> h.effective_at"),
            "0");
  EXPECT_EQ(scalar(c, "SELECT count(*) FROM activities"), "22");
  if (!faketime_library().empty()) {
    ASSERT_TRUE(r->commit_time_simulated) << "libfaketime is installed, so the server clock should follow mutate";
    EXPECT_EQ(scalar(c, "SELECT count(*) FROM hrflow_user_history WHERE pg_xact_commit_timestamp(xmin) <> "
                        "effective_at::timestamptz"),
              "0");
    EXPECT_EQ(scalar(c, "SELECT count(*) FROM users WHERE pg_xact_commit_timestamp(xmin) NOT BETWEEN '2025-01-01' AND "
                        "'2025-03-31 23:59:59'"),
              "0");
    // And the server is back on the real time afterwards.
    EXPECT_EQ(scalar(c, "SELECT now() > '2025-06-01'"), "t");
  } else {
    std::cerr << "libfaketime is not installed: commit times are real, not checked against the window\n";
  }

  // History moves forward only.
  auto back = mutate(c, m);
  ASSERT_FALSE(back.ok());
  EXPECT_TRUE(contains(back.error().message, "last recorded change")) << back.error().message;
  MutateOptions bad = m;
  bad.from = kTo;
  bad.to = kFrom;
  auto inverted = mutate(c, bad);
  ASSERT_FALSE(inverted.ok());
  EXPECT_TRUE(contains(inverted.error().message, "is after --to")) << inverted.error().message;

  // The fleet: everyone who ever had an account, with spans and homes from the history.
  auto fleet = load_fleet(c);
  ASSERT_TRUE(fleet.ok()) << fleet.error().message;
  int64_t signups = r->changes["signup"];
  EXPECT_EQ(static_cast<int64_t>(fleet->users.size()), 3000 + signups);
  EXPECT_EQ(fleet->activities.size(), 22u);
  std::map<int64_t, const UserProfile*> by_id;
  for (const auto& u : fleet->users) by_id[u.user_id] = &u;
  auto ids = [&](const std::string& sql) {
    std::vector<int64_t> out;
    auto res = c.exec(sql);
    EXPECT_TRUE(res.ok());
    for (int i = 0; res.ok() && i < res->rows(); ++i) out.push_back(res->int64(i, 0));
    return out;
  };
  auto gone = ids("SELECT user_id FROM hrflow_user_history h WHERE kind = 'delete' AND NOT EXISTS (SELECT 1 FROM users u "
                  "WHERE u.user_id = h.user_id)");
  ASSERT_FALSE(gone.empty());
  for (int64_t id : gone) {
    ASSERT_TRUE(by_id.count(id)) << id;
    ASSERT_TRUE(by_id[id]->accounts.back().to_ts.has_value()) << id;
  }
  auto back_again = ids("SELECT user_id FROM hrflow_user_history WHERE kind = 'resignup'");
  ASSERT_FALSE(back_again.empty());
  for (int64_t id : back_again) EXPECT_GE(by_id[id]->accounts.size(), 2u) << id;
  auto movers = ids("SELECT DISTINCT user_id FROM hrflow_user_history WHERE kind = 'move'");
  ASSERT_FALSE(movers.empty());
  for (int64_t id : movers) {
    const auto& res = by_id[id]->residences;
    ASSERT_GE(res.size(), 2u) << id;
    for (size_t i = 1; i < res.size(); ++i) EXPECT_GT(res[i].from_ts, res[i - 1].from_ts) << id;
  }
  auto news = ids("SELECT user_id FROM hrflow_user_history WHERE kind = 'signup'");
  for (int64_t id : news) {
    EXPECT_GE(by_id[id]->accounts.front().from_ts, kFrom) << id;
    EXPECT_GE(id, 13001) << "sign-ups get new ids";
  }
  const auto& first = *by_id[10001];
  EXPECT_EQ(first.accounts.front().from_ts, kAsOf);
  bool renamed = false;
  for (const auto& a : fleet->activities) {
    EXPECT_GT(a.met, 0.5) << a.name;
    if (a.name == "Outdoor Cycling") renamed = true;
  }
  EXPECT_TRUE(renamed);

  // Export, then read it back: the same rows (COPY into a twin table) and the same people.
  TempDir dir;
  auto ex = export_csv(c, dir.path());
  ASSERT_TRUE(ex.ok()) << ex.error().message;
  EXPECT_EQ(ex->users, std::stoll(scalar(c, "SELECT count(*) FROM users")));
  ASSERT_TRUE(c.exec("CREATE TABLE users_back (LIKE users)").ok());
  std::string csv = read_file(ex->users_csv);
  ASSERT_TRUE(c.copy_in("COPY users_back FROM STDIN WITH (FORMAT csv, HEADER)", [&](std::string& buf) -> Result<bool> {
                 buf = csv;
                 return false;
               }).ok());
  EXPECT_EQ(scalar(c, "SELECT count(*) FROM ((TABLE users EXCEPT TABLE users_back) UNION ALL (TABLE users_back EXCEPT "
                      "TABLE users)) d"),
            "0");
  auto from_csv = load_fleet_from_csv(dir.path());
  ASSERT_TRUE(from_csv.ok()) << from_csv.error().message;
  EXPECT_EQ(static_cast<int64_t>(from_csv->users.size()), ex->users);
  EXPECT_EQ(from_csv->activities.size(), 22u);
  for (const auto& u : from_csv->users) {
    ASSERT_TRUE(by_id.count(u.user_id));
    const auto& db = *by_id[u.user_id];
    EXPECT_EQ(u.date_of_birth, db.date_of_birth);
    EXPECT_EQ(u.sex, db.sex);
    EXPECT_EQ(u.weight_kg, db.weight_kg);
    EXPECT_EQ(u.residences.back().country_code, db.residences.back().country_code) << u.user_id;
  }
}

// --- the command line, as a user meets it ----------------------------------------------------

void write_config(const TempDir& dir, const std::string& url) {
  std::ofstream(dir.path() / "hrflow.yml") << "oltp:\n  url: " << url << "\n";
}

TEST(OltpCli, BadInputGetsAClearMessageAndNoTables) {
  HRFLOW_START_OR_SKIP(pg, PostgresInstance::start());
  TempDir dir;
  write_config(dir, pg->url());
  for (const char* n : {"0", "-5"}) {
    auto out = run_hrflow({"oltp", "generate", "--users", n}, dir.path());
    EXPECT_NE(out.exit_code, 0) << out.output;
    EXPECT_TRUE(contains(out.output, "--users must be at least 1")) << out.output;
  }
  auto c = connect(*pg);
  EXPECT_EQ(scalar(c, "SELECT to_regclass('users')"), "NULL");

  auto ok = run_hrflow({"oltp", "generate", "--users", "100", "--as-of", "2025-01-01"}, dir.path());
  ASSERT_EQ(ok.exit_code, 0) << ok.output;
  auto inverted = run_hrflow({"oltp", "mutate", "--from", "2025-12-31", "--to", "2025-01-02"}, dir.path());
  EXPECT_EQ(inverted.exit_code, 1) << inverted.output;
  EXPECT_TRUE(contains(inverted.output, "is after --to")) << inverted.output;
  EXPECT_EQ(scalar(c, "SELECT count(*) FROM hrflow_user_history"), "0");
  auto bad_date = run_hrflow({"oltp", "mutate", "--from", "2025-02-30x"}, dir.path());
  EXPECT_EQ(bad_date.exit_code, 1) << bad_date.output;
  EXPECT_TRUE(contains(bad_date.output, "--from")) << bad_date.output;

  auto again = run_hrflow({"oltp", "generate", "--users", "100"}, dir.path());
  EXPECT_EQ(again.exit_code, 1) << again.output;
  EXPECT_TRUE(contains(again.output, "--replace")) << again.output;

  auto mutated = run_hrflow({"oltp", "mutate", "--from", "2025-01-02", "--to", "2025-01-31", "--rate", "5"}, dir.path());
  EXPECT_EQ(mutated.exit_code, 0) << mutated.output;
  EXPECT_TRUE(contains(mutated.output, "applied")) << mutated.output;
  auto exported = run_hrflow({"oltp", "export", "--dir", "out"}, dir.path());
  EXPECT_EQ(exported.exit_code, 0) << exported.output;
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "out" / "users.csv"));
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "out" / "activities.csv"));
  auto status = run_hrflow({"oltp", "status"}, dir.path());
  EXPECT_EQ(status.exit_code, 0) << status.output;
  EXPECT_TRUE(contains(status.output, "users       ")) << status.output;
  EXPECT_TRUE(contains(status.output, "seed 42")) << status.output;

  // Unreachable server, then wrong credentials: a message that says what to do, and nothing written.
  TempDir other;
  write_config(other, fmt::format("postgresql://postgres@127.0.0.1:{}/hrflow", hrflow::testing::free_port()));
  auto down = run_hrflow({"oltp", "generate", "--users", "10"}, other.path());
  EXPECT_EQ(down.exit_code, 1) << down.output;
  EXPECT_TRUE(contains(down.output, "cannot reach PostgreSQL")) << down.output;
  ASSERT_TRUE(c.exec("CREATE DATABASE other").ok());
  write_config(other, fmt::format("postgresql://nobody:secret@127.0.0.1:{}/other", pg->port()));
  auto denied = run_hrflow({"oltp", "generate", "--users", "10"}, other.path());
  EXPECT_EQ(denied.exit_code, 1) << denied.output;
  EXPECT_TRUE(contains(denied.output, "cannot log in")) << denied.output;
  EXPECT_FALSE(contains(denied.output, "secret")) << "the password must be masked: " << denied.output;
  auto o = PgConnection::connect(fmt::format("postgresql://postgres@127.0.0.1:{}/other", pg->port()));
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(scalar(*o, "SELECT to_regclass('users')"), "NULL");
}

TEST(OltpCli, UpStatusDownManageAPrivateServer) {
  if (!std::filesystem::exists(postgres_bin_dir() / "initdb")) GTEST_SKIP() << "PostgreSQL 15 is not installed";
  TempDir dir;
  std::ofstream(dir.path() / "hrflow.yml") << "oltp:\n  port: " << hrflow::testing::free_port() << "\n";
  auto up = run_hrflow({"oltp", "up"}, dir.path());
  ASSERT_EQ(up.exit_code, 0) << up.output;
  EXPECT_TRUE(contains(up.output, "started PostgreSQL")) << up.output;
  auto data = dir.path() / ".hrflow" / "postgres";
  EXPECT_TRUE(PostgresServer::is_running(data));
  EXPECT_TRUE(contains(read_file(data / "postgresql.auto.conf"), "track_commit_timestamp = on"));
  auto again = run_hrflow({"oltp", "up"}, dir.path());
  EXPECT_TRUE(contains(again.output, "reusing")) << again.output;
  auto status = run_hrflow({"oltp", "status"}, dir.path());
  EXPECT_TRUE(contains(status.output, "running")) << status.output;

  // A second state directory on the same port never uses the first one's server: not to load
  // users, not for CDC (whose replication slot would then be the first warehouse's).
  TempDir second;
  std::filesystem::copy_file(dir.path() / "hrflow.yml", second.path() / "hrflow.yml");
  for (std::vector<std::string> cmd : {std::vector<std::string>{"oltp", "up"}, {"oltp", "generate", "--users", "5"},
                                       {"sync", "oltp"}}) {
    auto other = run_hrflow(cmd, second.path());
    EXPECT_NE(other.exit_code, 0) << cmd[0] << " " << cmd[1] << ": " << other.output;
    EXPECT_TRUE(contains(other.output, "not this state directory's managed server") ||
                contains(other.output, "is the port taken")) << cmd[0] << " " << cmd[1] << ": " << other.output;
  }
  auto sync = run_hrflow({"sync", "oltp"}, second.path());
  EXPECT_TRUE(contains(sync.output, "oltp.port")) << sync.output;
  {
    auto pg = PgConnection::connect(fmt::format("postgresql://postgres@127.0.0.1:{}/postgres",
                                                PostgresServer::start({data}).value().port()));
    ASSERT_TRUE(pg.ok()) << pg.error().message;
    EXPECT_EQ(scalar(*pg, "SELECT count(*) FROM pg_replication_slots"), "0");
    EXPECT_EQ(scalar(*pg, "SELECT count(*) FROM pg_database WHERE datname = 'hrflow'"), "1");
  }

  auto down = run_hrflow({"oltp", "down"}, dir.path());
  EXPECT_EQ(down.exit_code, 0) << down.output;
  EXPECT_FALSE(PostgresServer::is_running(data));
  auto status_down = run_hrflow({"oltp", "status"}, dir.path());
  EXPECT_TRUE(contains(status_down.output, "not running")) << status_down.output;
}

}  // namespace
}  // namespace hrflow::oltp
