#include "oltp/oltp.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <fstream>
#include <unordered_map>

#include "common/state.h"
#include "oltp/generator.h"
#include "oltp/postgres_server.h"

namespace hrflow::oltp {
namespace fs = std::filesystem;

namespace {

// Reference DDL plus constraints. CHECKs are part of the table so COPY validates each row; the primary
// key is added after the load (one sorted index build instead of a million insertions).
constexpr const char* kCreateUsers = R"(
CREATE TABLE users (
  user_id int NOT NULL CHECK (user_id >= 10001),
  first_name varchar(100) NOT NULL CHECK (first_name <> ''),
  last_name varchar(100) NOT NULL CHECK (last_name <> ''),
  date_of_birth int NOT NULL CHECK (date_of_birth BETWEEN 19000101 AND 20991231),
  sex varchar(1) NOT NULL CHECK (sex IN ('M', 'F')),
  height smallint NOT NULL CHECK (height BETWEEN 100 AND 300),
  weight smallint NOT NULL CHECK (weight BETWEEN 30 AND 500),
  blood_type varchar(3) NOT NULL CHECK (blood_type IN ('A+', 'A-', 'B+', 'B-', 'AB+', 'AB-', 'O+', 'O-')),
  race varchar(1) NOT NULL CHECK (race IN ('W', 'B', 'A', 'H', 'O')),
  origin_country_code varchar(2) NOT NULL CHECK (origin_country_code ~ '^[A-Z]{2}$'),
  origin_country_name varchar(45) NOT NULL,
  address varchar(100) NOT NULL,
  address_country_code varchar(2) NOT NULL CHECK (address_country_code ~ '^[A-Z]{2}$'),
  address_country_name varchar(45) NOT NULL,
  last_update timestamp NOT NULL DEFAULT now()
))";

constexpr const char* kCreateActivities = R"(
CREATE TABLE activities (
  activity_id int PRIMARY KEY CHECK (activity_id BETWEEN 20001 AND 20999),
  activity_name varchar(45) NOT NULL UNIQUE,
  last_update timestamp NOT NULL DEFAULT now()
))";

constexpr const char* kCreateHistory = R"(
CREATE TABLE hrflow_user_history (
  change_id bigserial PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('move', 'weight', 'name', 'signup', 'delete', 'resignup',
                                     'activity_rename', 'activity_retire')),
  user_id int,
  activity_id int,
  effective_at timestamp NOT NULL,
  city text,
  latitude double precision CHECK (latitude BETWEEN -90 AND 90),
  longitude double precision CHECK (longitude BETWEEN -180 AND 180),
  country_code varchar(2),
  row_before jsonb,
  row_after jsonb,
  CHECK ((user_id IS NULL) <> (activity_id IS NULL))
);
CREATE INDEX hrflow_user_history_user ON hrflow_user_history (user_id, change_id);
COMMENT ON TABLE hrflow_user_history IS
  'Every change applied by hrflow oltp mutate, written in the same transaction as the change. Not replicated.';
CREATE TABLE hrflow_generation (
  seed bigint NOT NULL,
  users int NOT NULL,
  as_of timestamp NOT NULL,
  generated_at timestamptz NOT NULL DEFAULT now()
))";

Result<std::optional<int64_t>> count_rows(PgConnection& conn, const std::string& table) {
  HRFLOW_ASSIGN_OR_RETURN(auto exists, conn.scalar(fmt::format("SELECT to_regclass('public.{}')::text", table)));
  if (!exists) return std::optional<int64_t>{};
  HRFLOW_ASSIGN_OR_RETURN(auto n, conn.scalar(fmt::format("SELECT count(*) FROM public.{}", table)));
  return std::optional<int64_t>(std::stoll(n.value_or("0")));
}

// Create the CDC publication for users + activities, or add them to an existing one that lacks them.
Status ensure_publication(PgConnection& conn, const std::string& name) {
  HRFLOW_ASSIGN_OR_RETURN(auto r, conn.exec("SELECT puballtables FROM pg_publication WHERE pubname = $1", {name}));
  if (r.rows() == 0) {
    HRFLOW_TRY(conn.exec(fmt::format("CREATE PUBLICATION {} FOR TABLE users, activities", quote_identifier(name))));
    return {};
  }
  if (r.value(0, 0) == "t") return {};
  for (const char* table : {"users", "activities"}) {
    HRFLOW_ASSIGN_OR_RETURN(
        auto in, conn.exec("SELECT 1 FROM pg_publication_tables WHERE pubname = $1 AND schemaname = 'public' AND "
                           "tablename = $2",
                           {name, std::string(table)}));
    if (in.rows() == 0) HRFLOW_TRY(conn.exec(fmt::format("ALTER PUBLICATION {} ADD TABLE {}", quote_identifier(name), table)));
  }
  return {};
}

std::string ts(int64_t epoch_s) { return format_timestamp(epoch_s); }
std::string num(double v) { return fmt::format("{:.6f}", v); }

}  // namespace

Result<std::string> database_url(const Config& config, bool start_managed) {
  std::string url = config.get_string("oltp.url");
  if (!url.empty()) return url;
  auto layout = StateLayout::from(config);
  PostgresServerOptions o{layout.postgres_dir, static_cast<int>(config.get_int("oltp.port")),
                          config.get_string("oltp.database"), 60};
  if (!start_managed && !PostgresServer::is_running(o.data_dir)) {
    return Error{ErrorKind::kUnavailable,
                 fmt::format("the managed PostgreSQL ({}) is not running; start it with `hrflow oltp up` (or set "
                             "oltp.url to use another database)",
                             o.data_dir.string()),
                 true};
  }
  HRFLOW_TRY(layout.ensure_dirs());
  HRFLOW_ASSIGN_OR_RETURN(auto server, PostgresServer::start(o));
  HRFLOW_TRY(check_managed_server(server.url(), o.data_dir));
  return server.url();
}

// --- server clock ------------------------------------------------------------------------------

Result<std::optional<ServerClock>> ServerClock::detect(PgConnection& conn) {
  // Only a superuser may read data_directory; elsewhere (e.g. a managed cloud database) there is no
  // clock to drive.
  auto dir = conn.scalar("SELECT current_setting('data_directory', true)");
  if (!dir.ok() || !dir->has_value()) return std::optional<ServerClock>{};
  fs::path file = fs::path(**dir) / kClockFileName;
  std::error_code ec;
  if (!fs::exists(file, ec)) return std::optional<ServerClock>{};
  ServerClock clock(file);
  // Probe: the server must report the time we write (it could be another server with the same path).
  constexpr int64_t kProbe = 981173106;  // 2001-02-03 04:05:06
  if (!clock.set(kProbe).ok()) {
    clock.file_.clear();
    return std::optional<ServerClock>{};
  }
  auto now = conn.scalar("SELECT extract(epoch FROM clock_timestamp())::bigint");
  HRFLOW_TRY(clock.reset());
  if (!now.ok() || !now->has_value() || **now != std::to_string(kProbe)) {
    clock.file_.clear();
    return std::optional<ServerClock>{};
  }
  return std::optional<ServerClock>(std::move(clock));
}

ServerClock::~ServerClock() {
  if (!file_.empty()) {
    if (auto st = reset(); !st.ok()) spdlog::warn("{}", st.error().message);
  }
}

Status ServerClock::set(int64_t epoch_s) { return write_clock_file(file_, format_timestamp(epoch_s)); }
Status ServerClock::reset() { return write_clock_file(file_, "+0"); }

// --- generate ----------------------------------------------------------------------------------

Result<GenerateReport> generate(PgConnection& conn, const GenerateOptions& o) {
  if (o.users < 1) return invalid_argument("--users must be at least 1 (got {})", o.users);
  if (o.users > 100000000) return invalid_argument("--users must be at most 100,000,000 (got {})", o.users);
  auto started = std::chrono::steady_clock::now();
  GenerateReport report;
  HRFLOW_ASSIGN_OR_RETURN(auto users, count_rows(conn, "users"));
  HRFLOW_ASSIGN_OR_RETURN(auto activities, count_rows(conn, "activities"));
  if ((users || activities) && !o.replace) {
    return Error{ErrorKind::kAlreadyExists,
                 fmt::format("{} already has {}{}{}; nothing changed. Pass --replace to drop and regenerate them "
                             "(with their change history)",
                             conn.where(), users ? fmt::format("users ({} rows)", *users) : "",
                             users && activities ? " and " : "",
                             activities ? fmt::format("activities ({} rows)", *activities) : ""),
                 false};
  }
  report.replaced = users || activities;

  // Commit at the as-of time when the server's clock can be driven, so snapshot rows' commit times
  // come before every simulated change.
  HRFLOW_ASSIGN_OR_RETURN(auto clock, ServerClock::detect(conn));
  if (clock) {
    HRFLOW_TRY(clock->set(o.as_of));
    report.commit_time_simulated = true;
  }

  const ReferenceData& data = ReferenceData::embedded();
  UserGenerator gen(data, o.seed);
  HRFLOW_ASSIGN_OR_RETURN(auto tx, PgTransaction::begin(conn));
  if (report.replaced) {
    HRFLOW_TRY(conn.exec(fmt::format("DROP TABLE IF EXISTS users, activities, {}, {}", kHistoryTable, kGenerationTable)));
  }
  HRFLOW_TRY(conn.exec(kCreateUsers));
  HRFLOW_TRY(conn.exec(kCreateActivities));
  HRFLOW_TRY(conn.exec(kCreateHistory));

  Progress progress("generate", "users", static_cast<uint64_t>(o.users), o.show_progress);
  int64_t next = 0;
  HRFLOW_TRY(conn.copy_in("COPY users FROM STDIN WITH (FREEZE)", [&](std::string& buf) -> Result<bool> {
    int64_t end = std::min(o.users, next + 8192);
    for (; next < end; ++next) append_copy_line(buf, gen.user(kFirstUserId + next, o.as_of));
    progress.update(static_cast<uint64_t>(next));
    return next < o.users;
  }));
  progress.finish();
  HRFLOW_TRY(conn.exec("ALTER TABLE users ADD PRIMARY KEY (user_id)"));

  std::string acts;
  for (const auto& a : data.activities) fmt::format_to(std::back_inserter(acts), "{}\t{}\t{}\n", a.activity_id, a.name, ts(o.as_of));
  HRFLOW_TRY(conn.copy_in("COPY activities FROM STDIN", [&](std::string& buf) -> Result<bool> {
    buf = acts;
    return false;
  }));
  HRFLOW_TRY(conn.exec(fmt::format("INSERT INTO {} (seed, users, as_of) VALUES ($1, $2, $3)", kGenerationTable),
                       {std::to_string(o.seed), std::to_string(o.users), ts(o.as_of)}));
  if (!o.publication.empty()) HRFLOW_TRY(ensure_publication(conn, o.publication));
  HRFLOW_TRY(tx.commit());
  if (clock) HRFLOW_TRY(clock->reset());
  report.users = o.users;
  report.activities = static_cast<int64_t>(data.activities.size());
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

// --- mutate ------------------------------------------------------------------------------------

namespace {

struct LiveUser {
  int64_t id;
  char sex;
  int weight;
  std::string origin, address_country;
};

// Users present now, with O(1) random pick and removal.
class LiveSet {
 public:
  void add(LiveUser u) {
    index_[u.id] = users_.size();
    users_.push_back(std::move(u));
  }
  void remove(int64_t id) {
    size_t i = index_.at(id);
    index_[users_.back().id] = i;
    std::swap(users_[i], users_.back());
    users_.pop_back();
    index_.erase(id);
  }
  LiveUser& pick(Rng& rng) { return users_[rng.below(users_.size())]; }
  size_t size() const { return users_.size(); }

 private:
  std::vector<LiveUser> users_;
  std::unordered_map<int64_t, size_t> index_;
};

struct Deleted {
  int64_t id;
  int64_t change_id;  // the delete's history row (holds the row as it was)
};

constexpr const char* kHistoryInsert =
    "INSERT INTO hrflow_user_history (kind, user_id, effective_at, city, latitude, longitude, country_code, "
    "row_before, row_after) ";

}  // namespace

Result<MutateReport> mutate(PgConnection& conn, const MutateOptions& o) {
  if (o.from > o.to) {
    return invalid_argument("--from {} is after --to {}; give a window that starts before it ends", ts(o.from), ts(o.to));
  }
  if (!(o.rate_per_day > 0) || o.rate_per_day > 100000) {
    return invalid_argument("--rate must be a number of changes per day in (0, 100000] (got {})", o.rate_per_day);
  }
  auto started = std::chrono::steady_clock::now();
  HRFLOW_ASSIGN_OR_RETURN(auto inv, inspect(conn));
  if (!inv.users || !inv.activities || !inv.history || !inv.as_of) {
    return Error{ErrorKind::kNotFound,
                 fmt::format("{} has no generated users/activities (tables users, activities, {}, {}); run `hrflow "
                             "oltp generate` first",
                             conn.where(), kHistoryTable, kGenerationTable),
                 false};
  }
  int64_t floor = std::max(*inv.as_of, inv.last_change.value_or(*inv.as_of));
  if (o.from <= floor) {
    return invalid_argument(
        "--from {} is not after the {} ({}); history only moves forward: start after it", ts(o.from),
        inv.last_change ? "last recorded change" : "time the data was generated as of (--as-of)", ts(floor));
  }

  // Current state, in id order so the same database and seed give the same changes.
  LiveSet live;
  HRFLOW_ASSIGN_OR_RETURN(auto rows, conn.exec("SELECT user_id, sex, weight, origin_country_code, address_country_code "
                                               "FROM users WHERE user_id < " + std::to_string(kFirstImportedUserId) + " ORDER BY user_id"));
  int64_t max_id = kFirstUserId - 1;
  for (int i = 0; i < rows.rows(); ++i) {
    live.add({rows.int64(i, 0), rows.value(i, 1).empty() ? 'F' : rows.value(i, 1)[0], static_cast<int>(rows.int64(i, 2)),
              rows.text(i, 3), rows.text(i, 4)});
    max_id = std::max(max_id, rows.int64(i, 0));
  }
  std::vector<Deleted> deleted;
  HRFLOW_ASSIGN_OR_RETURN(
      auto del, conn.exec("SELECT user_id, change_id, kind FROM (SELECT DISTINCT ON (user_id) user_id, change_id, kind "
                          "FROM hrflow_user_history WHERE user_id IS NOT NULL ORDER BY user_id, change_id DESC) h "
                          "ORDER BY user_id"));
  for (int i = 0; i < del.rows(); ++i) {
    max_id = std::max(max_id, del.int64(i, 0));
    if (del.value(i, 2) == "delete") deleted.push_back({del.int64(i, 0), del.int64(i, 1)});
  }
  HRFLOW_ASSIGN_OR_RETURN(auto acts, conn.exec("SELECT activity_id FROM activities ORDER BY activity_id"));
  std::vector<int64_t> activity_ids;
  for (int i = 0; i < acts.rows(); ++i) activity_ids.push_back(acts.int64(i, 0));
  HRFLOW_ASSIGN_OR_RETURN(auto gen_seed, conn.scalar(fmt::format("SELECT seed FROM {}", kGenerationTable)));

  const ReferenceData& data = ReferenceData::embedded();
  UserGenerator gen(data, std::stoull(gen_seed.value_or("0")));
  Rng rng(mix_seed(o.seed, static_cast<uint64_t>(o.from), 0x6d75746174ULL));

  // The schedule: user changes as a Poisson process at the given rate; one activity rename and one
  // retirement per run (while candidates remain) at random times in the window.
  struct Planned {
    int64_t t;
    int kind;  // index into kChangeKinds
  };
  std::vector<Planned> plan;
  const double kKindWeights[] = {30, 35, 7, 15, 8, 5};
  double mean_gap = 86400.0 / o.rate_per_day;
  for (double t = static_cast<double>(o.from) + rng.exponential(mean_gap); t <= static_cast<double>(o.to);
       t += rng.exponential(mean_gap)) {
    plan.push_back({static_cast<int64_t>(t), static_cast<int>(rng.weighted(kKindWeights))});
  }
  const ActivityData* rename = nullptr;
  const ActivityData* retire = nullptr;
  auto exists = [&](int id) { return std::find(activity_ids.begin(), activity_ids.end(), id) != activity_ids.end(); };
  HRFLOW_ASSIGN_OR_RETURN(auto renamed, conn.exec("SELECT activity_id FROM hrflow_user_history WHERE kind = 'activity_rename'"));
  auto was_renamed = [&](int id) {
    for (int i = 0; i < renamed.rows(); ++i) {
      if (renamed.int64(i, 0) == id) return true;
    }
    return false;
  };
  for (const auto& a : data.activities) {
    if (!rename && !a.renamed_to.empty() && exists(a.activity_id) && !was_renamed(a.activity_id)) rename = &a;
  }
  for (const auto& a : data.activities) {
    if (!retire && a.retirable && exists(a.activity_id) && &a != rename) retire = &a;
  }
  if (rename) plan.push_back({rng.between(o.from, o.to), 6});
  if (retire) plan.push_back({rng.between(o.from, o.to), 7});
  std::stable_sort(plan.begin(), plan.end(), [](const Planned& a, const Planned& b) { return a.t < b.t; });
  // Distinct, increasing times: each change its own commit time, in order.
  for (size_t i = 1; i < plan.size(); ++i) plan[i].t = std::max(plan[i].t, plan[i - 1].t + 1);
  while (!plan.empty() && plan.back().t > o.to) plan.pop_back();

  MutateReport report;
  // Thousands of one-change transactions: don't wait for a disk flush after each. A crash can lose
  // only the last fraction of a second of changes, each with its history row (same transaction), so
  // the next run continues consistently from the last recorded change.
  HRFLOW_TRY(conn.exec("SET synchronous_commit = off"));
  HRFLOW_ASSIGN_OR_RETURN(auto clock, ServerClock::detect(conn));
  report.commit_time_simulated = clock.has_value();
  Progress progress("mutate", "changes", plan.size(), o.show_progress);

  for (const auto& p : plan) {
    int kind = p.kind;
    if (kind == 5 && deleted.empty()) kind = 3;  // nobody to come back yet: a new sign-up instead
    if ((kind == 0 || kind == 1 || kind == 2 || kind == 4) && live.size() == 0) kind = 3;
    std::string t = ts(p.t);
    if (clock) HRFLOW_TRY(clock->set(p.t));
    Result<PgResult> r = Error{ErrorKind::kInternal, "no change", false};
    switch (kind) {
      case 0: {  // move: a new address, one in five times in another country
        LiveUser& u = live.pick(rng);
        const CountryData* to = data.country(u.address_country);
        if (!to || rng.uniform() < 0.2) {
          const CountryData* other = &rng.pick(data.countries);
          while (to && other == to) other = &rng.pick(data.countries);
          to = other;
        }
        Address a = gen.address(rng, *to);
        double lat, lon;
        home_point(*a.city, mix_seed(static_cast<uint64_t>(u.id), static_cast<uint64_t>(p.t)), lat, lon);
        u.address_country = to->code;
        r = conn.exec(std::string("WITH b AS (SELECT to_jsonb(u) AS j FROM users u WHERE user_id = $1), "
                                  "c AS (UPDATE users SET address = $2, address_country_code = $3, "
                                  "address_country_name = $4, last_update = $5 WHERE user_id = $1 RETURNING "
                                  "to_jsonb(users) AS j) ") +
                          kHistoryInsert + "SELECT 'move', $1, $5, $6::text, $7::float8, $8::float8, $3, (SELECT j FROM b), c.j FROM c",
                      {std::to_string(u.id), a.line, to->code, to->name, t, a.city->name, num(lat), num(lon)});
        break;
      }
      case 1: {  // weight: a few kg up or down
        LiveUser& u = live.pick(rng);
        int delta = static_cast<int>(std::lround(rng.normal(0, 2.5)));
        if (delta == 0) delta = rng.below(2) ? 1 : -1;
        u.weight = std::clamp(u.weight + delta, 30, 500);
        r = conn.exec(std::string("WITH b AS (SELECT to_jsonb(u) AS j FROM users u WHERE user_id = $1), "
                                  "c AS (UPDATE users SET weight = $2, last_update = $3 WHERE user_id = $1 "
                                  "RETURNING to_jsonb(users) AS j) ") +
                          kHistoryInsert + "SELECT 'weight', $1, $3, NULL, NULL, NULL, NULL, (SELECT j FROM b), c.j FROM c",
                      {std::to_string(u.id), std::to_string(u.weight), t});
        break;
      }
      case 2: {  // name: a new last name (marriage, divorce)
        LiveUser& u = live.pick(rng);
        const CountryData* origin = data.country(u.origin);
        std::string name = gen.last_name(rng, origin ? *origin : data.countries.front(), u.sex);
        r = conn.exec(std::string("WITH b AS (SELECT to_jsonb(u) AS j FROM users u WHERE user_id = $1), "
                                  "c AS (UPDATE users SET last_name = $2, last_update = $3 WHERE user_id = $1 "
                                  "RETURNING to_jsonb(users) AS j) ") +
                          kHistoryInsert + "SELECT 'name', $1, $3, NULL, NULL, NULL, NULL, (SELECT j FROM b), c.j FROM c",
                      {std::to_string(u.id), name, t});
        break;
      }
      case 3: {  // sign-up: a new person with the next id
        UserRow n = gen.user(++max_id, p.t);
        r = conn.exec(std::string("WITH c AS (INSERT INTO users VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, "
                                  "$12, $13, $14, $15) RETURNING to_jsonb(users) AS j) ") +
                          kHistoryInsert + "SELECT 'signup', $1, $15, $16::text, $17::float8, $18::float8, $13, NULL, c.j FROM c",
                      {std::to_string(n.user_id), n.first_name, n.last_name, std::to_string(n.date_of_birth),
                       std::string(1, n.sex), std::to_string(n.height), std::to_string(n.weight), n.blood_type,
                       std::string(1, n.race), n.origin_country_code, n.origin_country_name, n.address,
                       n.address_country_code, n.address_country_name, t, n.city, num(n.latitude), num(n.longitude)});
        live.add({n.user_id, n.sex, n.weight, n.origin_country_code, n.address_country_code});
        break;
      }
      case 4: {  // deletion: the account closes; the history keeps the row for a return
        int64_t id = live.pick(rng).id;
        r = conn.exec(std::string("WITH c AS (DELETE FROM users WHERE user_id = $1 RETURNING to_jsonb(users) AS j) ") +
                          kHistoryInsert + "SELECT 'delete', $1, $2::timestamp, NULL, NULL, NULL, NULL, c.j, NULL FROM c "
                                           "RETURNING change_id",
                      {std::to_string(id), t});
        if (r.ok() && r->rows() == 1) deleted.push_back({id, r->int64(0, 0)});
        live.remove(id);
        break;
      }
      case 5: {  // re-sign-up: a deleted user comes back with the same id, at the address they left
        size_t i = rng.below(deleted.size());
        Deleted d = deleted[i];
        deleted.erase(deleted.begin() + static_cast<std::ptrdiff_t>(i));
        HRFLOW_ASSIGN_OR_RETURN(
            auto before, conn.exec("SELECT row_before->>'address', row_before->>'address_country_code', "
                                   "row_before->>'sex', (row_before->>'weight')::int, row_before->>'origin_country_code' "
                                   "FROM hrflow_user_history WHERE change_id = $1",
                                   {std::to_string(d.change_id)}));
        if (before.rows() != 1) return make_error(ErrorKind::kInternal, "history row {} vanished", d.change_id);
        std::string cc = before.text(0, 1);
        const CountryData* country = data.country(cc);
        const City* city = country ? city_of_address(*country, before.value(0, 0)) : nullptr;
        if (!city && country) city = &country->cities.front();
        std::optional<std::string> city_name, lat_s, lon_s;
        if (city) {
          double lat, lon;
          home_point(*city, static_cast<uint64_t>(d.id), lat, lon);
          city_name = city->name;
          lat_s = num(lat);
          lon_s = num(lon);
        }
        r = conn.exec(std::string("WITH c AS (INSERT INTO users SELECT (jsonb_populate_record(NULL::users, "
                                  "h.row_before || jsonb_build_object('last_update', $3::text))).* FROM "
                                  "hrflow_user_history h WHERE h.change_id = $2::bigint RETURNING to_jsonb(users) AS j) ") +
                          kHistoryInsert + "SELECT 'resignup', $1::int, $3::timestamp, $4::text, $5::float8, $6::float8, $7::text, NULL, c.j FROM c",
                      {std::to_string(d.id), std::to_string(d.change_id), t, city_name, lat_s, lon_s, cc});
        std::string sex = before.text(0, 2);
        live.add({d.id, sex.empty() ? 'F' : sex[0], static_cast<int>(before.int64(0, 3)), before.text(0, 4), cc});
        break;
      }
      case 6: {  // an activity renamed
        r = conn.exec("WITH b AS (SELECT to_jsonb(a) AS j FROM activities a WHERE activity_id = $1), "
                      "c AS (UPDATE activities SET activity_name = $2, last_update = $3 WHERE activity_id = $1 "
                      "RETURNING to_jsonb(activities) AS j) "
                      "INSERT INTO hrflow_user_history (kind, activity_id, effective_at, row_before, row_after) "
                      "SELECT 'activity_rename', $1, $3, (SELECT j FROM b), c.j FROM c",
                      {std::to_string(rename->activity_id), rename->renamed_to, t});
        break;
      }
      case 7: {  // an activity retired
        r = conn.exec("WITH c AS (DELETE FROM activities WHERE activity_id = $1 RETURNING to_jsonb(activities) AS j) "
                      "INSERT INTO hrflow_user_history (kind, activity_id, effective_at, row_before) "
                      "SELECT 'activity_retire', $1, $2::timestamp, c.j FROM c",
                      {std::to_string(retire->activity_id), t});
        break;
      }
      default: break;
    }
    if (!r.ok()) return r.error().with_context(fmt::format("applying a {} change at {}", kChangeKinds[kind], t));
    if (r->affected() != 1) {
      return make_error(ErrorKind::kInternal,
                        "a {} change at {} changed {} rows instead of 1: was the database changed during mutate?",
                        kChangeKinds[kind], t, r->affected());
    }
    if (report.total == 0) report.first = p.t;
    report.last = p.t;
    ++report.total;
    ++report.changes[kChangeKinds[kind]];
    progress.add(1);
  }
  progress.finish();
  if (clock) HRFLOW_TRY(clock->reset());
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

// --- export ------------------------------------------------------------------------------------

Result<ExportReport> export_csv(PgConnection& conn, const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return io_error("cannot create '{}': {}", dir.string(), ec.message());
  ExportReport report;
  auto write = [&](const std::string& table, const std::string& order, fs::path& out_path) -> Result<int64_t> {
    out_path = dir / (table + ".csv");
    auto tmp = out_path;
    tmp += ".tmp";
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return io_error("cannot write '{}'", tmp.string());
    int64_t lines = 0;
    HRFLOW_TRY(conn.copy_out(fmt::format("COPY (SELECT * FROM {} ORDER BY {}) TO STDOUT WITH (FORMAT csv, HEADER)", table, order),
                             [&](std::string_view chunk) -> Status {
                               out.write(chunk.data(), static_cast<std::streamsize>(chunk.size()));
                               lines += std::count(chunk.begin(), chunk.end(), '\n');
                               if (!out) return io_error("cannot write '{}' (disk full?)", tmp.string());
                               return {};
                             }));
    out.close();
    if (!out) return io_error("cannot write '{}'", tmp.string());
    fs::rename(tmp, out_path, ec);
    if (ec) return io_error("cannot rename '{}': {}", tmp.string(), ec.message());
    return lines - 1;
  };
  HRFLOW_ASSIGN_OR_RETURN(report.users, write("users", "user_id", report.users_csv));
  HRFLOW_ASSIGN_OR_RETURN(report.activities, write("activities", "activity_id", report.activities_csv));
  return report;
}

// --- inspect -----------------------------------------------------------------------------------

Result<Inventory> inspect(PgConnection& conn) {
  Inventory inv;
  HRFLOW_ASSIGN_OR_RETURN(inv.users, count_rows(conn, "users"));
  HRFLOW_ASSIGN_OR_RETURN(inv.activities, count_rows(conn, "activities"));
  HRFLOW_ASSIGN_OR_RETURN(inv.history, count_rows(conn, kHistoryTable));
  if (inv.history) {
    HRFLOW_ASSIGN_OR_RETURN(auto kinds, conn.exec("SELECT kind, count(*), extract(epoch FROM max(effective_at))::bigint "
                                                  "FROM hrflow_user_history GROUP BY kind ORDER BY kind"));
    for (int i = 0; i < kinds.rows(); ++i) {
      inv.history_by_kind[kinds.text(i, 0)] = kinds.int64(i, 1);
      inv.last_change = std::max(inv.last_change.value_or(0), kinds.int64(i, 2));
    }
  }
  HRFLOW_ASSIGN_OR_RETURN(auto gen_exists, conn.scalar(fmt::format("SELECT to_regclass('public.{}')::text", kGenerationTable)));
  if (gen_exists) {
    HRFLOW_ASSIGN_OR_RETURN(auto g, conn.exec(fmt::format(
                                        "SELECT seed, users, extract(epoch FROM as_of)::bigint FROM {}", kGenerationTable)));
    if (g.rows() > 0) {
      inv.seed = g.int64(0, 0);
      inv.generated_users = g.int64(0, 1);
      inv.as_of = g.int64(0, 2);
    }
  }
  return inv;
}

}  // namespace hrflow::oltp
