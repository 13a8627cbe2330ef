// The facts the generator draws from, parsed once from the embedded data files: for each of the 14
// countries its first names by sex, last names, streets, cities (with real coordinates, region and
// postcode) and address format; the 23 activities with their MET intensity; and the ISO 3166-1
// country list (the warehouse's `country_codes` seed). Immutable after load(); shared read-only.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "common/status.h"

namespace hrflow::oltp {

struct City {
  std::string name, region, postcode;
  double latitude = 0, longitude = 0;
};

struct CountryData {
  std::string code;  // ISO alpha-2
  std::string name;  // as in the country_codes seed
  std::vector<std::string> male_names, female_names, last_names, streets;
  std::vector<City> cities;
  std::string address_format;  // "{number} {street}, {postcode} {city}"
};

struct ActivityData {
  int activity_id = 0;
  std::string name;
  double met = 1.0;
  std::string renamed_to;  // the name mutate gives it, or empty
  bool retirable = false;  // mutate may retire it
};

struct ReferenceData {
  std::vector<CountryData> countries;                    // the 14, in a fixed order
  std::vector<ActivityData> activities;                  // the 23
  std::vector<std::pair<std::string, std::string>> iso;  // (name, alpha2), 249 rows in seed order

  // The embedded data, parsed once per process.
  static const ReferenceData& embedded();
  // Parse from file contents (tests use this to check the files themselves).
  static Result<ReferenceData> parse(const std::map<std::string, std::string>& files);

  const CountryData* country(std::string_view code) const;
  // Name of an ISO alpha-2 code, or empty.
  std::string iso_name(std::string_view code) const;
  const ActivityData* activity(int activity_id) const;
};

}  // namespace hrflow::oltp
