#include "simulator/sample_fleet.h"

#include <string>

#include "simulator/model.h"
#include "simulator/timezone.h"

namespace hrflow::sim {

namespace {
struct City {
  std::string_view country, name;
  double lat, lon;
};
constexpr City kCities[] = {
    {"US", "New York", 40.7128, -74.0060},   {"US", "Chicago", 41.8781, -87.6298},
    {"US", "Los Angeles", 34.0522, -118.2437}, {"GB", "London", 51.5074, -0.1278},
    {"GB", "Manchester", 53.4808, -2.2426},  {"AU", "Sydney", -33.8688, 151.2093},
    {"AU", "Perth", -31.9523, 115.8613},     {"AU", "Melbourne", -37.8136, 144.9631},
    {"BR", "Sao Paulo", -23.5505, -46.6333}, {"BR", "Rio de Janeiro", -22.9068, -43.1729},
    {"ES", "Madrid", 40.4168, -3.7038},      {"ES", "Sevilla", 37.3891, -5.9845},
    {"FR", "Paris", 48.8566, 2.3522},        {"FR", "Lyon", 45.7640, 4.8357},
    {"DE", "Berlin", 52.5200, 13.4050},      {"DE", "Munich", 48.1351, 11.5820},
    {"IT", "Rome", 41.9028, 12.4964},        {"IT", "Milan", 45.4642, 9.1900},
    {"NL", "Amsterdam", 52.3676, 4.9041},    {"NL", "Utrecht", 52.0907, 5.1214},
    {"SE", "Stockholm", 59.3293, 18.0686},   {"NO", "Oslo", 59.9139, 10.7522},
    {"FI", "Helsinki", 60.1699, 24.9384},    {"DK", "Copenhagen", 55.6761, 12.5683},
    {"PL", "Warsaw", 52.2297, 21.0122},      {"PL", "Krakow", 50.0647, 19.9450},
};
constexpr std::string_view kAllCountries[] = {"US", "GB", "AU", "BR", "ES", "FR", "DE",
                                              "IT", "NL", "SE", "NO", "FI", "DK", "PL"};
}  // namespace

std::vector<ActivityInfo> standard_activities() {
  constexpr std::string_view kNames[] = {"Stand", "Sit", "Sleep", "Walk", "Run", "Cycling", "Elliptical", "Rower",
                                         "Stair Stepper", "HIIT", "Hiking", "Yoga", "Functional Strength Training",
                                         "Dance", "Cooldown", "Core Training", "Pilates", "Tai Chi", "Swimming",
                                         "Wheelchair", "Multisport", "Kickboxing", "Other"};
  std::vector<ActivityInfo> out;
  int64_t id = 20001;
  for (auto n : kNames) out.push_back({id++, std::string(n), default_met(n)});
  return out;
}

Fleet sample_fleet(int users, uint64_t seed, const std::vector<std::string_view>& countries) {
  Fleet f;
  f.activities = standard_activities();
  std::vector<std::string_view> cc(countries.begin(), countries.end());
  if (cc.empty()) cc.assign(std::begin(kAllCountries), std::end(kAllCountries));
  Rng rng(stream_seed(seed, 0x666c656574ULL, 0));
  const int64_t since = days_from_civil(2015, 1, 1) * 86400;
  for (int i = 0; i < users; ++i) {
    UserProfile u;
    u.user_id = 10001 + i;
    std::string_view country = cc[static_cast<size_t>(i) % cc.size()];
    std::vector<const City*> options;
    for (const auto& c : kCities) {
      if (c.country == country) options.push_back(&c);
    }
    const City* city = options.empty() ? &kCities[0] : options[static_cast<size_t>(rng.next() % options.size())];
    int age = static_cast<int>(rng.range(18, 100));
    u.date_of_birth = (2025 - age) * 10000 + static_cast<int>(rng.range(1, 12)) * 100 + static_cast<int>(rng.range(1, 28));
    u.sex = rng.chance(0.5) ? 'M' : 'F';
    u.height_cm = u.sex == 'M' ? 175 : 162;
    u.weight_kg = u.sex == 'M' ? 80 : 65;
    u.blood_type = "O+";
    u.race = 'W';
    u.origin_country_code = std::string(country);
    // Homes scattered within ~10 km of the city centre.
    Residence r;
    r.from_ts = since;
    r.country_code = std::string(country);
    r.city = std::string(city->name);
    r.latitude = city->lat + rng.uniform(-0.09, 0.09);
    r.longitude = city->lon + rng.uniform(-0.12, 0.12);
    u.residences.push_back(r);
    u.accounts.push_back({since, std::nullopt});
    f.users.push_back(std::move(u));
  }
  return f;
}

}  // namespace hrflow::sim
