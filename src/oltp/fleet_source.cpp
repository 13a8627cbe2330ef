#include "oltp/fleet_source.h"

#include <charconv>
#include <fstream>
#include <map>
#include <sstream>

#include "oltp/csv.h"
#include "oltp/generator.h"
#include "oltp/oltp.h"

namespace hrflow::oltp {
namespace {

// The user's attributes from a users row (columns in table order, as text).
struct RowText {
  std::string user_id, first_name, last_name, date_of_birth, sex, height, weight, blood_type, race,
      origin_country_code, origin_country_name, address, address_country_code, address_country_name;
};

Result<UserProfile> profile_from(const RowText& r, const std::string& where) {
  UserProfile p;
  try {
    p.user_id = std::stoll(r.user_id);
    p.date_of_birth = std::stoi(r.date_of_birth);
    p.height_cm = std::stoi(r.height);
    p.weight_kg = std::stoi(r.weight);
  } catch (const std::exception&) {
    return corrupt("{}: user_id, date_of_birth, height and weight must be integers", where);
  }
  if (r.sex != "M" && r.sex != "F") return corrupt("{}: sex must be M or F, not '{}'", where, r.sex);
  p.sex = r.sex[0];
  p.blood_type = r.blood_type;
  p.race = r.race.empty() ? 'O' : r.race[0];
  p.origin_country_code = r.origin_country_code;
  return p;
}

// Home of an address: its city's point with the user's offset; the country's first city when the
// address names none we know.
Result<Residence> residence_of(const std::string& country_code, const std::string& address, int64_t user_id,
                               int64_t from_ts, const std::string& where) {
  const ReferenceData& data = ReferenceData::embedded();
  const CountryData* country = data.country(country_code);
  if (!country) return corrupt("{}: address country '{}' is not one of the 14 hrflow knows", where, country_code);
  const City* city = city_of_address(*country, address);
  if (!city) city = &country->cities.front();
  Residence r;
  r.from_ts = from_ts;
  r.country_code = country_code;
  r.city = city->name;
  home_point(*city, static_cast<uint64_t>(user_id), r.latitude, r.longitude);
  return r;
}

double met_of(int64_t id, const std::string& name) {
  const ReferenceData& data = ReferenceData::embedded();
  if (const auto* a = data.activity(static_cast<int>(id))) return a->met;
  for (const auto& a : data.activities) {
    if (a.name == name || a.renamed_to == name) return a.met;
  }
  return 3.0;  // unknown activity: a moderate intensity
}

}  // namespace

Result<Fleet> load_fleet(const Config& config) {
  HRFLOW_ASSIGN_OR_RETURN(auto url, database_url(config, /*start_managed=*/true));
  HRFLOW_ASSIGN_OR_RETURN(auto conn, PgConnection::connect(url));
  return load_fleet(conn);
}

Result<Fleet> load_fleet(PgConnection& conn) {
  HRFLOW_ASSIGN_OR_RETURN(auto inv, inspect(conn));
  if (!inv.users || !inv.activities) {
    return Error{ErrorKind::kNotFound,
                 fmt::format("{} has no users/activities tables; run `hrflow oltp generate` first", conn.where()),
                 false};
  }
  // One consistent snapshot of users and history.
  HRFLOW_TRY(conn.exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  struct EndTx {
    PgConnection& c;
    ~EndTx() { (void)c.exec("COMMIT"); }
  } end_tx{conn};
  int64_t as_of = inv.as_of.value_or(0);

  constexpr const char* kColumns =
      "user_id, first_name, last_name, date_of_birth, sex, height, weight, blood_type, race, origin_country_code, "
      "origin_country_name, address, address_country_code, address_country_name";
  auto row_text = [](const PgResult& r, int i, int base) {
    RowText t;
    std::string* f[] = {&t.user_id, &t.first_name, &t.last_name, &t.date_of_birth, &t.sex,
                        &t.height, &t.weight, &t.blood_type, &t.race, &t.origin_country_code,
                        &t.origin_country_name, &t.address, &t.address_country_code, &t.address_country_name};
    for (int c = 0; c < 14; ++c) *f[c] = r.text(i, base + c);
    return t;
  };

  std::map<int64_t, RowText> current;
  HRFLOW_ASSIGN_OR_RETURN(auto users, conn.exec(fmt::format("SELECT {} FROM users WHERE user_id < {} ORDER BY user_id", kColumns, kFirstImportedUserId)));
  for (int i = 0; i < users.rows(); ++i) current.emplace(users.int64(i, 0), row_text(users, i, 0));

  struct Event {
    std::string kind;
    int64_t t;
    std::string city, country;
    double lat = 0, lon = 0;
    bool has_point = false;
    std::optional<RowText> before;  // the row before the change (first event and deletions)
  };
  std::map<int64_t, std::vector<Event>> events;
  if (inv.history) {
    std::string before_cols;
    for (std::string_view c : {"user_id", "first_name", "last_name", "date_of_birth", "sex", "height", "weight",
                               "blood_type", "race", "origin_country_code", "origin_country_name", "address",
                               "address_country_code", "address_country_name"}) {
      before_cols += fmt::format(", row_before->>'{}'", c);
    }
    HRFLOW_ASSIGN_OR_RETURN(
        auto h, conn.exec(fmt::format("SELECT user_id, kind, extract(epoch FROM effective_at)::bigint, city, latitude, "
                                      "longitude, country_code, row_before IS NOT NULL{} FROM {} WHERE user_id IS NOT "
                                      "NULL ORDER BY change_id",
                                      before_cols, kHistoryTable)));
    for (int i = 0; i < h.rows(); ++i) {
      Event e;
      e.kind = h.text(i, 1);
      e.t = h.int64(i, 2);
      if (!h.is_null(i, 3) && !h.is_null(i, 4) && !h.is_null(i, 5)) {
        e.city = h.text(i, 3);
        e.lat = h.real(i, 4);
        e.lon = h.real(i, 5);
        e.country = h.text(i, 6);
        e.has_point = true;
      }
      if (h.value(i, 7) == "t") e.before = row_text(h, i, 8);
      events[h.int64(i, 0)].push_back(std::move(e));
    }
  }

  Fleet fleet;
  std::map<int64_t, bool> ids;
  for (const auto& [id, _] : current) ids[id] = true;
  for (const auto& [id, _] : events) ids[id] = true;
  for (const auto& [id, _] : ids) {
    auto cur = current.find(id);
    auto ev = events.find(id);
    const std::vector<Event> none;
    const std::vector<Event>& es = ev == events.end() ? none : ev->second;
    // Attributes: the current row, or the row as it was when the account was deleted.
    const RowText* attrs = cur != current.end() ? &cur->second : nullptr;
    for (auto it = es.rbegin(); !attrs && it != es.rend(); ++it) {
      if (it->before) attrs = &*it->before;
    }
    if (!attrs) continue;  // only a sign-up that was rolled back would leave no row; nothing to animate
    std::string where = fmt::format("user {}", id);
    HRFLOW_ASSIGN_OR_RETURN(UserProfile p, profile_from(*attrs, where));

    bool generated = es.empty() || es.front().kind != "signup";
    if (generated) {
      // The first address: before the first change, or the current one when nothing changed.
      const RowText& first = (!es.empty() && es.front().before) ? *es.front().before : *attrs;
      HRFLOW_ASSIGN_OR_RETURN(auto home, residence_of(first.address_country_code, first.address, id, as_of, where));
      p.residences.push_back(std::move(home));
      p.accounts.push_back({as_of, std::nullopt});
    }
    for (const auto& e : es) {
      bool open = !p.accounts.empty() && !p.accounts.back().to_ts;
      if (e.kind == "delete") {
        if (open) p.accounts.back().to_ts = e.t;
      } else if (e.kind == "signup" || e.kind == "resignup") {
        if (!open) p.accounts.push_back({e.t, std::nullopt});
      }
      if (e.has_point && (e.kind == "move" || e.kind == "signup" || e.kind == "resignup")) {
        bool same = !p.residences.empty() && p.residences.back().city == e.city &&
                    p.residences.back().latitude == e.lat && p.residences.back().longitude == e.lon;
        if (!same) p.residences.push_back({e.t, e.country, e.city, e.lat, e.lon});
      }
    }
    if (p.residences.empty() || p.accounts.empty()) continue;
    fleet.users.push_back(std::move(p));
  }

  HRFLOW_ASSIGN_OR_RETURN(auto acts, conn.exec("SELECT activity_id, activity_name FROM activities ORDER BY activity_id"));
  for (int i = 0; i < acts.rows(); ++i) {
    fleet.activities.push_back({acts.int64(i, 0), acts.text(i, 1), met_of(acts.int64(i, 0), acts.text(i, 1))});
  }
  return fleet;
}

Result<Fleet> load_fleet_from_csv(const std::filesystem::path& dir) {
  auto read = [](const std::filesystem::path& path) -> Result<std::string> {
    std::ifstream in(path, std::ios::binary);
    if (!in) return Error{ErrorKind::kNotFound, fmt::format("cannot read '{}'; write it with `hrflow oltp export --dir`", path.string()), false};
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  Fleet fleet;
  {
    auto path = dir / "users.csv";
    HRFLOW_ASSIGN_OR_RETURN(std::string text, read(path));
    CsvReader reader(text, path.string());
    std::vector<std::string> header, f;
    HRFLOW_ASSIGN_OR_RETURN(bool any, reader.next(header));
    if (!any) return corrupt("{}: empty file, expected a header", path.string());
    std::vector<size_t> col;
    for (std::string_view name : {"user_id", "first_name", "last_name", "date_of_birth", "sex", "height", "weight",
                                  "blood_type", "race", "origin_country_code", "origin_country_name", "address",
                                  "address_country_code", "address_country_name"}) {
      HRFLOW_ASSIGN_OR_RETURN(size_t c, csv_column(header, name, path.string()));
      col.push_back(c);
    }
    while (true) {
      HRFLOW_ASSIGN_OR_RETURN(bool more, reader.next(f));
      if (!more) break;
      if (f.size() == 1 && f[0].empty()) continue;
      if (f.size() != header.size()) {
        return corrupt("{}: {} fields, the header has {}", reader.where(), f.size(), header.size());
      }
      RowText t{f[col[0]], f[col[1]], f[col[2]], f[col[3]], f[col[4]], f[col[5]], f[col[6]],
                f[col[7]], f[col[8]], f[col[9]], f[col[10]], f[col[11]], f[col[12]], f[col[13]]};
      int64_t id = 0;
      std::from_chars(t.user_id.data(), t.user_id.data() + t.user_id.size(), id);
      if (id >= kFirstImportedUserId) continue;  // imported participants have real readings, not simulated ones
      HRFLOW_ASSIGN_OR_RETURN(UserProfile p, profile_from(t, reader.where()));
      HRFLOW_ASSIGN_OR_RETURN(auto home, residence_of(t.address_country_code, t.address, p.user_id, 0, reader.where()));
      p.residences.push_back(std::move(home));
      p.accounts.push_back({0, std::nullopt});
      fleet.users.push_back(std::move(p));
    }
  }
  {
    auto path = dir / "activities.csv";
    HRFLOW_ASSIGN_OR_RETURN(std::string text, read(path));
    CsvReader reader(text, path.string());
    std::vector<std::string> header, f;
    HRFLOW_ASSIGN_OR_RETURN(bool any, reader.next(header));
    if (!any) return corrupt("{}: empty file, expected a header", path.string());
    HRFLOW_ASSIGN_OR_RETURN(size_t id_col, csv_column(header, "activity_id", path.string()));
    HRFLOW_ASSIGN_OR_RETURN(size_t name_col, csv_column(header, "activity_name", path.string()));
    while (true) {
      HRFLOW_ASSIGN_OR_RETURN(bool more, reader.next(f));
      if (!more) break;
      if (f.size() == 1 && f[0].empty()) continue;
      if (f.size() != header.size()) return corrupt("{}: {} fields, the header has {}", reader.where(), f.size(), header.size());
      int64_t id = 0;
      try {
        id = std::stoll(f[id_col]);
      } catch (const std::exception&) {
        return corrupt("{}: activity_id '{}' is not an integer", reader.where(), f[id_col]);
      }
      fleet.activities.push_back({id, f[name_col], met_of(id, f[name_col])});
    }
  }
  return fleet;
}

}  // namespace hrflow::oltp
