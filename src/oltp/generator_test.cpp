// The generator without a database: reference data, determinism, and the reference's distributions
// on 100,000 users.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "oltp/csv.h"
#include "oltp/generator.h"

namespace hrflow::oltp {
namespace {

constexpr int64_t kAsOf = 1735689600;  // 2025-01-01 00:00:00 UTC

TEST(ReferenceData, HasTheFourteenCountriesTheActivitiesAndTheIsoList) {
  const auto& d = ReferenceData::embedded();
  ASSERT_EQ(d.countries.size(), 14u);
  EXPECT_EQ(d.iso.size(), 249u);
  std::set<std::string> codes;
  for (const auto& [name, code] : d.iso) {
    EXPECT_EQ(code.size(), 2u) << name;
    EXPECT_LE(name.size(), 45u) << name << " does not fit origin_country_name varchar(45)";
    codes.insert(code);
  }
  EXPECT_EQ(codes.size(), 249u);
  for (const auto& c : d.countries) {
    EXPECT_FALSE(c.name.empty()) << c.code;
    EXPECT_GE(c.male_names.size(), 20u) << c.code;
    EXPECT_GE(c.female_names.size(), 20u) << c.code;
    EXPECT_GE(c.last_names.size(), 20u) << c.code;
    EXPECT_GE(c.cities.size(), 10u) << c.code;
  }
  EXPECT_EQ(d.iso_name("GB"), "United Kingdom");
  ASSERT_EQ(d.activities.size(), 23u);
  std::set<int> ids;
  for (const auto& a : d.activities) {
    EXPECT_GE(a.activity_id, 20001);
    EXPECT_LE(a.activity_id, 20999);
    EXPECT_GT(a.met, 0.5) << a.name;
    ids.insert(a.activity_id);
  }
  EXPECT_EQ(ids.size(), 23u);
}

TEST(ReferenceData, CitiesHaveCoordinatesInsideTheirCountry) {
  // Rough bounding boxes: a swapped latitude/longitude or sign would fall outside.
  std::map<std::string, std::array<double, 4>> box = {
      {"US", {24, 50, -125, -66}}, {"GB", {49, 61, -8, 2}},   {"AU", {-44, -10, 112, 154}}, {"BR", {-34, 6, -74, -34}},
      {"ES", {35, 44, -10, 5}},    {"FR", {41, 52, -5, 10}},  {"DE", {47, 55, 5, 16}},      {"IT", {36, 48, 6, 19}},
      {"NL", {50, 54, 3, 8}},      {"SE", {55, 70, 10, 25}},  {"NO", {57, 72, 4, 32}},      {"FI", {59, 71, 19, 32}},
      {"DK", {54, 58, 8, 16}},     {"PL", {49, 55, 14, 25}}};
  for (const auto& c : ReferenceData::embedded().countries) {
    auto b = box.at(c.code);
    for (const auto& city : c.cities) {
      EXPECT_TRUE(city.latitude >= b[0] && city.latitude <= b[1] && city.longitude >= b[2] && city.longitude <= b[3])
          << c.code << " " << city.name << " " << city.latitude << "," << city.longitude;
    }
  }
}

std::string copy_text(uint64_t seed, int n) {
  UserGenerator gen(ReferenceData::embedded(), seed);
  std::string out;
  for (int i = 0; i < n; ++i) append_copy_line(out, gen.user(kFirstUserId + i, kAsOf));
  return out;
}

TEST(Generator, SameSeedSameBytesOtherSeedOtherRows) {
  auto a = copy_text(42, 2000);
  EXPECT_EQ(a, copy_text(42, 2000));
  EXPECT_NE(a, copy_text(43, 2000));
  // A user does not depend on which others were generated.
  UserGenerator gen(ReferenceData::embedded(), 42);
  std::string one;
  append_copy_line(one, gen.user(kFirstUserId + 1999, kAsOf));
  EXPECT_NE(a.find(one), std::string::npos);
}

TEST(Generator, DistributionsMatchTheReferenceOn100kUsers) {
  const auto& data = ReferenceData::embedded();
  UserGenerator gen(data, 42);
  constexpr int kN = 100000;
  std::map<std::string, int> origin, blood;
  std::map<char, int> sex, race;
  int abroad = 0, min_age = 1000, max_age = -1;
  double age_sum = 0;
  double h_sum[2] = {0, 0}, h_sq[2] = {0, 0}, w_sum[2] = {0, 0}, w_sq[2] = {0, 0};
  int by_sex[2] = {0, 0};
  std::set<int64_t> ids;
  for (int i = 0; i < kN; ++i) {
    UserRow u = gen.user(kFirstUserId + i, kAsOf);
    ids.insert(u.user_id);
    ++origin[u.origin_country_code];
    ++sex[u.sex];
    ++blood[u.blood_type];
    ++race[u.race];
    if (u.address_country_code != u.origin_country_code) ++abroad;
    int age = 2025 - u.date_of_birth / 10000 - (u.date_of_birth % 10000 > 101 ? 1 : 0);
    min_age = std::min(min_age, age);
    max_age = std::max(max_age, age);
    age_sum += age;
    int s = u.sex == 'M' ? 0 : 1;
    ++by_sex[s];
    h_sum[s] += u.height;
    h_sq[s] += u.height * u.height;
    w_sum[s] += u.weight;
    w_sq[s] += u.weight * u.weight;

    // Names in the origin's language matching sex; address in the address country's format.
    const CountryData* o = data.country(u.origin_country_code);
    const CountryData* home = data.country(u.address_country_code);
    ASSERT_TRUE(o && home);
    const auto& firsts = u.sex == 'M' ? o->male_names : o->female_names;
    ASSERT_NE(std::find(firsts.begin(), firsts.end(), u.first_name), firsts.end()) << u.first_name;
    ASSERT_LE(u.address.size(), 100u) << u.address;
    const City* city = city_of_address(*home, u.address);
    ASSERT_NE(city, nullptr) << u.address;
    ASSERT_EQ(city->name, u.city) << u.address;
    ASSERT_NE(u.address.find(city->postcode), std::string::npos) << u.address;
    ASSERT_LT(std::abs(u.latitude - city->latitude), 0.05);
    EXPECT_EQ(u.origin_country_name, data.iso_name(u.origin_country_code));
    EXPECT_EQ(u.address_country_name, data.iso_name(u.address_country_code));
    if (u.origin_country_code == "PL" && u.sex == 'F') {
      ASSERT_FALSE(u.last_name.ends_with("ski")) << u.last_name;
    }
    EXPECT_EQ(u.last_update, kAsOf);
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kN));
  EXPECT_EQ(*ids.begin(), 10001);
  auto share = [](int n) { return static_cast<double>(n) / kN; };
  EXPECT_EQ(origin.size(), 14u);
  for (const auto& [code, n] : origin) EXPECT_NEAR(share(n), 1.0 / 14, 0.005) << code;
  EXPECT_NEAR(share(sex['M']), 0.5, 0.01);
  EXPECT_NEAR(share(abroad), 0.10, 0.005);
  std::map<std::string, double> blood_ref = {{"A+", .35}, {"A-", .06}, {"B+", .15}, {"B-", .02},
                                             {"AB+", .03}, {"AB-", .01}, {"O+", .36}, {"O-", .02}};
  for (const auto& [t, p] : blood_ref) EXPECT_NEAR(share(blood[t]), p, 0.006) << t;
  std::map<char, double> race_ref = {{'W', .40}, {'B', .20}, {'A', .15}, {'H', .20}, {'O', .05}};
  for (const auto& [r, p] : race_ref) EXPECT_NEAR(share(race[r]), p, 0.006) << r;
  EXPECT_EQ(min_age, 18);
  EXPECT_EQ(max_age, 100);
  EXPECT_NEAR(age_sum / kN, 59.0, 0.5);  // uniform over 18..100
  auto mean = [&](double* sum, int s) { return sum[s] / by_sex[s]; };
  auto sd = [&](double* sum, double* sq, int s) {
    double m = sum[s] / by_sex[s];
    return std::sqrt(sq[s] / by_sex[s] - m * m);
  };
  EXPECT_NEAR(mean(h_sum, 0), 175, 0.2);
  EXPECT_NEAR(sd(h_sum, h_sq, 0), 8, 0.2);
  EXPECT_NEAR(mean(h_sum, 1), 162, 0.2);
  EXPECT_NEAR(sd(h_sum, h_sq, 1), 7, 0.2);
  EXPECT_NEAR(mean(w_sum, 0), 80, 0.2);
  EXPECT_NEAR(sd(w_sum, w_sq, 0), 10, 0.2);
  EXPECT_NEAR(mean(w_sum, 1), 65, 0.2);
  EXPECT_NEAR(sd(w_sum, w_sq, 1), 8, 0.2);
}

TEST(Generator, CopyTextEscapesAndTimestampsRoundTrip) {
  UserRow u;
  u.user_id = 10001;
  u.first_name = "A\tB\\C";
  u.last_name = "O'Brien";
  u.sex = 'F';
  u.race = 'W';
  u.last_update = kAsOf;
  std::string line;
  append_copy_line(line, u);
  EXPECT_NE(line.find("A\\tB\\\\C\tO'Brien"), std::string::npos) << line;
  EXPECT_EQ(format_timestamp(kAsOf), "2025-01-01 00:00:00");
  EXPECT_EQ(*parse_timestamp("2025-01-01"), kAsOf);
  EXPECT_EQ(*parse_timestamp("2024-02-29 23:59:59"), 1709251199);
  EXPECT_EQ(*parse_timestamp("2024-02-29T23:59:59Z"), 1709251199);
  EXPECT_FALSE(parse_timestamp("2025-13-01").ok());
  EXPECT_FALSE(parse_timestamp("yesterday").ok());
  EXPECT_EQ(format_timestamp(-1), "1969-12-31 23:59:59");
}

TEST(Csv, ReadsQuotedFieldsAndReportsLines) {
  CsvReader r("a,b\n\"x, y\",\"say \"\"hi\"\"\"\n\"multi\nline\",2\n", "t.csv");
  std::vector<std::string> f;
  ASSERT_TRUE(*r.next(f));
  ASSERT_TRUE(*r.next(f));
  EXPECT_EQ(f, (std::vector<std::string>{"x, y", "say \"hi\""}));
  ASSERT_TRUE(*r.next(f));
  EXPECT_EQ(f[0], "multi\nline");
  EXPECT_EQ(r.line(), 3u);
  EXPECT_FALSE(*r.next(f));
  CsvReader bad("a\n\"open\n", "bad.csv");
  ASSERT_TRUE(*bad.next(f));
  auto e = bad.next(f);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.error().message.find("bad.csv:2"), std::string::npos) << e.error().message;
  EXPECT_EQ(csv_quote("a,b"), "\"a,b\"");
}

}  // namespace
}  // namespace hrflow::oltp
