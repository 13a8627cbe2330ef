#include "import/participants.h"

#include <algorithm>
#include <numeric>
#include <set>

#include "common/civil_time.h"
#include "common/digest.h"
#include "oltp/oltp.h"
#include "oltp/reference_data.h"

namespace hrflow::import {

std::string pseudonym(const std::string& key, const std::string& label) {
  if (key.empty()) return label;
  return "px-" + hex(hmac_sha256(key, label).substr(0, 10));
}

namespace {

// Idempotent: the mapping table, and the users columns an import may not know made nullable.
Status prepare(PgConnection& conn) {
  HRFLOW_ASSIGN_OR_RETURN(auto users, conn.scalar("SELECT to_regclass('public.users')::text"));
  HRFLOW_ASSIGN_OR_RETURN(auto acts, conn.scalar("SELECT to_regclass('public.activities')::text"));
  if (!users || !acts) {
    return Error{ErrorKind::kNotFound,
                 fmt::format("{} has no users/activities tables; run `hrflow oltp generate` first (imported "
                             "participants join the operational users)",
                             conn.where()),
                 false};
  }
  HRFLOW_ASSIGN_OR_RETURN(auto mapping, conn.scalar(fmt::format("SELECT to_regclass('public.{}')::text", kParticipantsTable)));
  if (!mapping) HRFLOW_TRY(conn.exec(fmt::format(
      "CREATE TABLE {} (participant text PRIMARY KEY, user_id int NOT NULL UNIQUE CHECK (user_id "
      "BETWEEN {} AND {}), source text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());"
      "COMMENT ON TABLE {} IS 'Imported participants (label or pseudonym) and their users.user_id. Not replicated.'",
      kParticipantsTable, kFirstImportedUserId, kLastImportedUserId, kParticipantsTable)));
  HRFLOW_ASSIGN_OR_RETURN(auto not_null,
                          conn.scalar("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'public' "
                                      "AND table_name = 'users' AND is_nullable = 'NO' AND column_name IN "
                                      "('date_of_birth', 'sex', 'height', 'weight', 'blood_type', 'race', "
                                      "'origin_country_code', 'origin_country_name', 'address', "
                                      "'address_country_code', 'address_country_name')"));
  if (not_null.value_or("0") != "0") {
    std::string sql = "ALTER TABLE users";
    const char* cols[] = {"date_of_birth", "sex", "height", "weight", "blood_type", "race", "origin_country_code",
                          "origin_country_name", "address", "address_country_code", "address_country_name"};
    for (size_t i = 0; i < std::size(cols); ++i) sql += fmt::format("{} ALTER COLUMN {} DROP NOT NULL", i ? "," : "", cols[i]);
    HRFLOW_TRY(conn.exec(sql));
  }
  return {};
}

std::optional<std::string> opt_int(const std::optional<int32_t>& v) {
  if (!v) return std::nullopt;
  return std::to_string(*v);
}

}  // namespace

Result<ResolvedUsers> resolve_users(PgConnection& conn, const std::vector<SubjectInfo>& subjects,
                                    const std::vector<int64_t>& earliest, const std::string& source) {
  HRFLOW_TRY(prepare(conn));
  ResolvedUsers out;
  out.user_ids.assign(subjects.size(), 0);
  out.created.assign(subjects.size(), false);
  std::vector<size_t> missing;
  for (size_t i = 0; i < subjects.size(); ++i) {
    HRFLOW_ASSIGN_OR_RETURN(auto r, conn.exec(fmt::format("SELECT user_id FROM {} WHERE participant = $1", kParticipantsTable),
                                              {subjects[i].label}));
    if (r.rows() > 0) {
      out.user_ids[i] = r.int64(0, 0);
    } else {
      missing.push_back(i);
    }
  }
  if (missing.empty()) return out;
  // Oldest first, each committed at its earliest reading when the server's clock can be driven.
  std::sort(missing.begin(), missing.end(), [&](size_t a, size_t b) { return earliest[a] < earliest[b]; });
  HRFLOW_ASSIGN_OR_RETURN(auto clock, oltp::ServerClock::detect(conn));
  out.commit_time_simulated = clock.has_value();
  const auto& ref = oltp::ReferenceData::embedded();
  for (size_t i : missing) {
    const SubjectInfo& s = subjects[i];
    const bool has_time = earliest[i] != std::numeric_limits<int64_t>::max();
    if (clock && has_time) HRFLOW_TRY(clock->set(earliest[i] - 1));
    HRFLOW_ASSIGN_OR_RETURN(auto tx, PgTransaction::begin(conn));
    // One allocator at a time (two imports at once would pick the same next id).
    HRFLOW_TRY(conn.exec("SELECT pg_advisory_xact_lock(90001)"));
    HRFLOW_ASSIGN_OR_RETURN(
        auto next, conn.scalar(fmt::format("SELECT greatest(coalesce((SELECT max(user_id) FROM {}), {}), "
                                           "coalesce((SELECT max(user_id) FROM users WHERE user_id >= {}), {})) + 1",
                                           kParticipantsTable, kFirstImportedUserId - 1, kFirstImportedUserId,
                                           kFirstImportedUserId - 1)));
    const int64_t id = std::stoll(next.value_or("90001"));
    if (id > kLastImportedUserId) {
      return invalid_argument("no user id left for imported participants ({}..{} are taken)", kFirstImportedUserId,
                              kLastImportedUserId);
    }
    std::optional<std::string> sex;
    if (s.sex) sex = std::string(1, *s.sex);
    std::optional<std::string> country, country_name;
    if (s.country_code && !ref.iso_name(*s.country_code).empty()) {
      country = *s.country_code;
      country_name = ref.iso_name(*s.country_code);
    }
    const std::string last_update = has_time ? format_utc(earliest[i] - 1) : format_utc(std::time(nullptr));
    HRFLOW_TRY(conn.exec(
        "INSERT INTO users (user_id, first_name, last_name, date_of_birth, sex, blood_type, address, "
        "address_country_code, address_country_name, last_update) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        {std::to_string(id), s.first_name.value_or("Participant"), s.last_name.value_or(s.label),
         opt_int(s.date_of_birth), sex, s.blood_type, s.address, country, country_name, last_update}));
    HRFLOW_TRY(conn.exec(fmt::format("INSERT INTO {} (participant, user_id, source) VALUES ($1, $2, $3)", kParticipantsTable),
                         {s.label, std::to_string(id), source}));
    HRFLOW_TRY(tx.commit());
    out.user_ids[i] = id;
    out.created[i] = true;
  }
  if (clock) HRFLOW_TRY(clock->reset());
  return out;
}

Result<std::vector<int64_t>> activity_ids(PgConnection& conn) {
  HRFLOW_ASSIGN_OR_RETURN(auto r, conn.exec("SELECT activity_id FROM activities"));
  std::set<int64_t> present;
  for (int i = 0; i < r.rows(); ++i) present.insert(r.int64(i, 0));
  const auto& ref = oltp::ReferenceData::embedded();
  auto id_of = [&](std::string_view name) -> int64_t {
    for (const auto& a : ref.activities) {
      if (a.name == name) return present.count(a.activity_id) ? a.activity_id : 0;
    }
    return 0;
  };
  const int64_t fallback = id_of("Other") ? id_of("Other") : id_of("Sit");
  if (!fallback) {
    return Error{ErrorKind::kNotFound,
                 fmt::format("{}: the activities table has neither 'Other' nor 'Sit' (by their reference ids); run "
                             "`hrflow oltp generate` first",
                             conn.where()),
                 false};
  }
  std::vector<int64_t> ids;
  for (const char* name : kActivityNames) {
    const int64_t id = id_of(name);
    ids.push_back(id ? id : fallback);
  }
  return ids;
}

namespace {

// The commit time of a row, as CDC's snapshot gives it: the row's commit timestamp when the server
// tracks them, else now.
Result<std::string> version_time_sql(PgConnection& conn, const char* alias) {
  HRFLOW_ASSIGN_OR_RETURN(auto track, conn.scalar("SHOW track_commit_timestamp"));
  if (track.value_or("off") == "on") {
    return fmt::format("extract(epoch FROM coalesce(pg_xact_commit_timestamp({}.xmin), now()))::bigint", alias);
  }
  return std::string("extract(epoch FROM now())::bigint");
}

}  // namespace

Result<int64_t> activities_first_version(PgConnection& conn) {
  HRFLOW_ASSIGN_OR_RETURN(auto expr, version_time_sql(conn, "a"));
  HRFLOW_ASSIGN_OR_RETURN(auto t, conn.scalar(fmt::format("SELECT min({}) FROM activities a", expr)));
  return t ? std::stoll(*t) : std::numeric_limits<int64_t>::max();
}

Result<std::map<int64_t, int64_t>> users_first_version(PgConnection& conn, const std::vector<int64_t>& user_ids) {
  HRFLOW_ASSIGN_OR_RETURN(auto expr, version_time_sql(conn, "u"));
  std::map<int64_t, int64_t> out;
  if (user_ids.empty()) return out;
  std::string list;
  for (auto id : user_ids) list += (list.empty() ? "" : ",") + std::to_string(id);
  HRFLOW_ASSIGN_OR_RETURN(auto r, conn.exec(fmt::format("SELECT user_id, {} FROM users u WHERE user_id IN ({})", expr, list)));
  for (int i = 0; i < r.rows(); ++i) out[r.int64(i, 0)] = r.int64(i, 1);
  return out;
}

}  // namespace hrflow::import
