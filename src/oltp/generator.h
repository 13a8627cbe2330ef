// The synthetic population: users drawn from the reference's distributions (country uniform over
// the 14, sex 50/50, age 18..100, height/weight by sex, blood type, race, 10% living abroad) with
// names in their origin country's language and a one-line address in their address country's format.
//
// Every user is a pure function of (seed, user_id, as-of time): the same inputs give the same row,
// byte for byte, in any order and on any thread. A UserGenerator is immutable and thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "common/civil_time.h"
#include "oltp/random.h"
#include "oltp/reference_data.h"

namespace hrflow::oltp {

inline constexpr int64_t kFirstUserId = 10001;

struct Address {
  std::string line;          // one line, in the country's format
  std::string country_code;  // ISO alpha-2
  const City* city = nullptr;
};

struct UserRow {
  int64_t user_id = 0;
  std::string first_name, last_name;
  int32_t date_of_birth = 0;  // YYYYMMDD
  char sex = 'F';
  int height = 0, weight = 0;
  std::string blood_type;
  char race = 'O';
  std::string origin_country_code, origin_country_name;
  std::string address, address_country_code, address_country_name;
  int64_t last_update = 0;  // epoch seconds, UTC
  // Where the address is (not a users column): the home point the simulator starts from.
  std::string city;
  double latitude = 0, longitude = 0;
};

class UserGenerator {
 public:
  UserGenerator(const ReferenceData& data, uint64_t seed) : data_(data), seed_(seed) {}

  // The user with this id, as of `as_of` (epoch seconds): ages count from that day, and it is the
  // row's last_update.
  UserRow user(int64_t user_id, int64_t as_of) const;

  // A new address in `country`, drawn with `rng`.
  Address address(Rng& rng, const CountryData& country) const;
  // A last name from `origin` in the form for `sex` (Polish -ski/-cki/-dzki become -ska/-cka/-dzka).
  std::string last_name(Rng& rng, const CountryData& origin, char sex) const;

  const ReferenceData& data() const { return data_; }
  uint64_t seed() const { return seed_; }

 private:
  const ReferenceData& data_;
  uint64_t seed_;
};

// A point near the city centre, a deterministic function of (city, key): spreads homes over a few km.
void home_point(const City& city, uint64_t key, double& latitude, double& longitude);

// The city of `address` among `country`'s cities (the right-most, longest name found), or nullptr.
const City* city_of_address(const CountryData& country, std::string_view address);

// "2025-03-01 12:00:00" (UTC) and back.
std::string format_timestamp(int64_t epoch_s);
Result<int64_t> parse_timestamp(std::string_view text);  // also accepts "2025-03-01" and a 'T' separator

// Append `row` as one line of PostgreSQL's COPY text format (columns in users table order).
void append_copy_line(std::string& out, const UserRow& row);

}  // namespace hrflow::oltp
