// Imported people in the operational database: each participant (a `--participant` label or a FHIR
// Patient id) gets a row in `users` with what the file says, and a row in `hrflow_participants`
// (label -> user_id), so that CDC carries them into the warehouse's dimensions like generated users.
//
// Ids: imported users take ids from kFirstImportedUserId (90001) up, a range `hrflow oltp generate`
// (10001..) and mutate's sign-ups (after the highest generated id) do not reach and that both leave
// alone; the warehouse's test on raw.users accepts 10001..99999. Unknown attributes stay NULL (the
// import drops those NOT NULL constraints of `users` once; the CHECKs still hold for known values),
// first_name is "Participant" and last_name the label unless the user imported names, so the label is
// visible in `serving.dim_users` too.
//
// A new user's row is committed, on the managed server, at the time of its earliest imported
// reading (the server's clock, as `oltp generate --as-of` does), so the user's first dimension
// version covers every imported reading. On an external server (oltp.url) commits carry the real
// time and readings older than the import cannot be placed in the warehouse; import says so.
//
// Pseudonyms: with privacy.pseudonym_key set, labels are replaced by a keyed hash (HMAC-SHA-256)
// before anything is stored: the database, the stream and the warehouse never see the label.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "import/collector.h"
#include "oltp/oltp.h"
#include "common/pg.h"

namespace hrflow::import {

inline constexpr int64_t kFirstImportedUserId = oltp::kFirstImportedUserId;
inline constexpr int64_t kLastImportedUserId = 99999;
inline constexpr const char* kParticipantsTable = "hrflow_participants";

// "px-" + the first 20 hex digits of HMAC-SHA-256(key, label); the label itself when key is empty.
std::string pseudonym(const std::string& key, const std::string& label);

struct ResolvedUsers {
  std::vector<int64_t> user_ids;  // per subject
  std::vector<bool> created;      // per subject: created by this import
  bool commit_time_simulated = false;
};

// Find or create the users of `subjects` (labels already pseudonymized). `earliest[i]` is the
// earliest reading of subject i (INT64_MAX when none). `source` names the format.
Result<ResolvedUsers> resolve_users(PgConnection& conn, const std::vector<SubjectInfo>& subjects,
                                    const std::vector<int64_t>& earliest, const std::string& source);

// activity_id of each of the 23 reference activities present in `activities` now (by id); an
// activity retired by mutate maps to Other, else Sit. Index = kActivityNames index.
Result<std::vector<int64_t>> activity_ids(PgConnection& conn);

// From when the warehouse can place a reading (epoch seconds): a reading needs a version of its user
// and of its activity valid at its time, and a version starts at the commit time of its row (CDC), or
// at the snapshot when the server keeps no commit times. For the activities: the earliest of their
// rows (they are loaded together; a rename keeps the version before it). For users: per user id.
Result<int64_t> activities_first_version(PgConnection& conn);
Result<std::map<int64_t, int64_t>> users_first_version(PgConnection& conn, const std::vector<int64_t>& user_ids);

}  // namespace hrflow::import
