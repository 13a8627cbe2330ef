#include "oltp/generator.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>

namespace hrflow::oltp {
namespace {

constexpr std::array<const char*, 8> kBloodTypes = {"A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-"};
constexpr std::array<double, 8> kBloodWeights = {35, 6, 15, 2, 3, 1, 36, 2};
constexpr std::array<char, 5> kRaces = {'W', 'B', 'A', 'H', 'O'};
constexpr std::array<double, 5> kRaceWeights = {40, 20, 15, 20, 5};
constexpr double kAbroadShare = 0.10;

void replace_all(std::string& s, std::string_view from, std::string_view to) {
  size_t pos = 0;
  while ((pos = s.find(from, pos)) != std::string::npos) {
    s.replace(pos, from.size(), to);
    pos += to.size();
  }
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

void append_escaped(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      default: out += c;
    }
  }
}

}  // namespace

std::string format_timestamp(int64_t epoch_s) { return format_utc(epoch_s); }

Result<int64_t> parse_timestamp(std::string_view text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0;
  auto num = [&](size_t pos, size_t len, int& out) {
    if (pos + len > text.size()) return false;
    auto r = std::from_chars(text.data() + pos, text.data() + pos + len, out);
    return r.ec == std::errc() && r.ptr == text.data() + pos + len;
  };
  bool ok = text.size() >= 10 && num(0, 4, y) && text[4] == '-' && num(5, 2, mo) && text[7] == '-' && num(8, 2, d);
  if (ok && text.size() > 10) {
    ok = (text[10] == ' ' || text[10] == 'T') && text.size() >= 19 && num(11, 2, h) && text[13] == ':' &&
         num(14, 2, mi) && text[16] == ':' && num(17, 2, s);
    // Accept a trailing "Z" or "+00" / "+00:00" (UTC only); fractions are not used here.
    std::string_view rest = text.size() > 19 ? text.substr(19) : std::string_view{};
    if (ok && !(rest.empty() || rest == "Z" || rest == "+00" || rest == "+00:00")) ok = false;
  }
  if (!ok || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) {
    return invalid_argument("'{}' is not a date or time; use YYYY-MM-DD or 'YYYY-MM-DD HH:MM:SS' (UTC)", text);
  }
  return days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 + h * 3600 + mi * 60 + s;
}

void home_point(const City& city, uint64_t key, double& latitude, double& longitude) {
  Rng rng(mix_seed(0x686f6d65ULL, key));
  // Up to ~5 km from the centre; longitude degrees shrink with latitude.
  double dlat = (rng.uniform() - 0.5) * 0.09;
  double dlon = (rng.uniform() - 0.5) * 0.09 / std::max(0.2, std::cos(city.latitude * std::numbers::pi / 180));
  latitude = std::round((city.latitude + dlat) * 1e6) / 1e6;
  longitude = std::round((city.longitude + dlon) * 1e6) / 1e6;
}

const City* city_of_address(const CountryData& country, std::string_view address) {
  const City* best = nullptr;
  size_t best_pos = 0;
  for (const auto& c : country.cities) {
    size_t pos = address.rfind(c.name);
    if (pos == std::string_view::npos) continue;
    if (!best || pos > best_pos || (pos == best_pos && c.name.size() > best->name.size())) {
      best = &c;
      best_pos = pos;
    }
  }
  return best;
}

std::string UserGenerator::last_name(Rng& rng, const CountryData& origin, char sex) const {
  std::string name = rng.pick(origin.last_names);
  if (origin.code == "PL" && sex == 'F' &&
      (ends_with(name, "ski") || ends_with(name, "cki") || ends_with(name, "dzki"))) {
    name.back() = 'a';
  }
  return name;
}

Address UserGenerator::address(Rng& rng, const CountryData& country) const {
  const City& city = rng.pick(country.cities);
  const std::string& street = rng.pick(country.streets);
  // House numbers: mostly small, as on real streets.
  int64_t number = 1 + static_cast<int64_t>(std::min(299.0, rng.exponential(35.0)));
  std::string line = country.address_format;
  replace_all(line, "{number}", std::to_string(number));
  replace_all(line, "{street}", street);
  replace_all(line, "{postcode}", city.postcode);
  replace_all(line, "{region}", city.region);
  replace_all(line, "{city}", city.name);
  return Address{std::move(line), country.code, &city};
}

UserRow UserGenerator::user(int64_t user_id, int64_t as_of) const {
  Rng rng(mix_seed(seed_, static_cast<uint64_t>(user_id)));
  UserRow u;
  u.user_id = user_id;
  const CountryData& origin = rng.pick(data_.countries);
  u.sex = rng.below(2) == 0 ? 'M' : 'F';
  u.first_name = rng.pick(u.sex == 'M' ? origin.male_names : origin.female_names);
  u.last_name = last_name(rng, origin, u.sex);

  // Age 18..100 on the as-of day: birthday uniform between (as_of - 101 years, as_of - 18 years].
  int y;
  unsigned m, d;
  int64_t today = as_of >= 0 ? as_of / 86400 : (as_of - 86399) / 86400;
  civil_from_days(today, y, m, d);
  auto clamp_day = [](int year, unsigned month, unsigned day) {
    // 29 February in a year without one: 28 February.
    int64_t days = days_from_civil(year, month, day);
    int yy;
    unsigned mm, dd;
    civil_from_days(days, yy, mm, dd);
    return mm == month ? days : days_from_civil(year, month, 28);
  };
  int64_t youngest = clamp_day(y - 18, m, d);
  int64_t oldest = clamp_day(y - 101, m, d) + 1;
  int by;
  unsigned bm, bd;
  civil_from_days(rng.between(oldest, youngest), by, bm, bd);
  u.date_of_birth = by * 10000 + static_cast<int>(bm) * 100 + static_cast<int>(bd);

  bool male = u.sex == 'M';
  u.height = static_cast<int>(std::clamp(std::lround(rng.normal(male ? 175 : 162, male ? 8 : 7)), 100L, 300L));
  u.weight = static_cast<int>(std::clamp(std::lround(rng.normal(male ? 80 : 65, male ? 10 : 8)), 30L, 500L));
  u.blood_type = kBloodTypes[rng.weighted(kBloodWeights)];
  u.race = kRaces[rng.weighted(kRaceWeights)];
  u.origin_country_code = origin.code;
  u.origin_country_name = origin.name;

  const CountryData* home = &origin;
  if (rng.uniform() < kAbroadShare) {
    // Living abroad: any of the other 13 countries.
    size_t i = rng.below(data_.countries.size() - 1);
    home = &data_.countries[i];
    if (home->code == origin.code) home = &data_.countries.back();
  }
  Address a = address(rng, *home);
  u.address = std::move(a.line);
  u.address_country_code = home->code;
  u.address_country_name = home->name;
  u.city = a.city->name;
  home_point(*a.city, static_cast<uint64_t>(user_id), u.latitude, u.longitude);
  u.last_update = as_of;
  return u;
}

void append_copy_line(std::string& out, const UserRow& u) {
  fmt::format_to(std::back_inserter(out), "{}\t", u.user_id);
  append_escaped(out, u.first_name);
  out += '\t';
  append_escaped(out, u.last_name);
  fmt::format_to(std::back_inserter(out), "\t{}\t{}\t{}\t{}\t{}\t{}\t", u.date_of_birth, u.sex, u.height, u.weight,
                 u.blood_type, u.race);
  append_escaped(out, u.origin_country_code);
  out += '\t';
  append_escaped(out, u.origin_country_name);
  out += '\t';
  append_escaped(out, u.address);
  out += '\t';
  append_escaped(out, u.address_country_code);
  out += '\t';
  append_escaped(out, u.address_country_name);
  out += '\t';
  out += format_timestamp(u.last_update);
  out += '\n';
}

}  // namespace hrflow::oltp
