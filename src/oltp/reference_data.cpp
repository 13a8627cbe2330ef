#include "oltp/reference_data.h"

#include <set>
#include <stdexcept>

#include "oltp/csv.h"
#include "oltp/embedded_data.h"

namespace hrflow::oltp {
namespace {

constexpr const char* kCountryOrder[] = {"US", "GB", "AU", "BR", "ES", "FR", "DE",
                                         "IT", "NL", "SE", "NO", "FI", "DK", "PL"};

// Every record of a CSV after its header, checked for the expected column count.
Result<std::vector<std::vector<std::string>>> records(const std::map<std::string, std::string>& files,
                                                      const std::string& name, size_t columns) {
  auto it = files.find(name);
  if (it == files.end()) return corrupt("reference data file '{}' is missing", name);
  CsvReader reader(it->second, name);
  std::vector<std::string> fields;
  std::vector<std::vector<std::string>> out;
  bool header = true;
  while (true) {
    HRFLOW_ASSIGN_OR_RETURN(bool more, reader.next(fields));
    if (!more) break;
    if (fields.size() == 1 && fields[0].empty()) continue;  // blank line
    if (fields.size() != columns) {
      return corrupt("{}: expected {} columns, found {}", reader.where(), columns, fields.size());
    }
    if (header) {
      header = false;
      continue;
    }
    out.push_back(fields);
  }
  return out;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t end = s.find(sep, start);
    out.push_back(s.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

}  // namespace

Result<ReferenceData> ReferenceData::parse(const std::map<std::string, std::string>& files) {
  ReferenceData data;
  HRFLOW_ASSIGN_OR_RETURN(auto iso, records(files, "country_codes.csv", 2));
  std::set<std::string> codes;
  for (auto& r : iso) {
    if (r[1].size() != 2 || !codes.insert(r[1]).second) return corrupt("country_codes.csv: bad or duplicate code '{}'", r[1]);
    data.iso.emplace_back(r[0], r[1]);
  }
  for (const char* code : kCountryOrder) {
    CountryData c;
    c.code = code;
    c.name = data.iso_name(code);
    if (c.name.empty()) return corrupt("country_codes.csv has no row for {}", code);
    data.countries.push_back(std::move(c));
  }
  auto find = [&](const std::string& code, const std::string& file) -> Result<CountryData*> {
    for (auto& c : data.countries) {
      if (c.code == code) return &c;
    }
    return corrupt("{}: country '{}' is not one of the 14", file, code);
  };

  HRFLOW_ASSIGN_OR_RETURN(auto names, records(files, "names.csv", 3));
  for (auto& r : names) {
    HRFLOW_ASSIGN_OR_RETURN(CountryData * c, find(r[0], "names.csv"));
    auto values = split(r[2], ';');
    if (r[1] == "male") c->male_names = values;
    else if (r[1] == "female") c->female_names = values;
    else if (r[1] == "last") c->last_names = values;
    else if (r[1] == "street") c->streets = values;
    else return corrupt("names.csv: unknown kind '{}'", r[1]);
  }
  HRFLOW_ASSIGN_OR_RETURN(auto cities, records(files, "cities.csv", 6));
  for (auto& r : cities) {
    HRFLOW_ASSIGN_OR_RETURN(CountryData * c, find(r[0], "cities.csv"));
    City city{r[1], r[2], r[3], std::stod(r[4]), std::stod(r[5])};
    if (city.latitude < -90 || city.latitude > 90 || city.longitude < -180 || city.longitude > 180) {
      return corrupt("cities.csv: coordinates of {} out of range", city.name);
    }
    c->cities.push_back(std::move(city));
  }
  HRFLOW_ASSIGN_OR_RETURN(auto formats, records(files, "address_formats.csv", 2));
  for (auto& r : formats) {
    HRFLOW_ASSIGN_OR_RETURN(CountryData * c, find(r[0], "address_formats.csv"));
    c->address_format = r[1];
  }
  for (auto& c : data.countries) {
    if (c.male_names.empty() || c.female_names.empty() || c.last_names.empty() || c.streets.empty() ||
        c.cities.empty() || c.address_format.empty()) {
      return corrupt("reference data for {} is incomplete (names, streets, cities and address format needed)", c.code);
    }
  }
  HRFLOW_ASSIGN_OR_RETURN(auto activities, records(files, "activities.csv", 5));
  std::set<int> ids;
  for (auto& r : activities) {
    ActivityData a{std::stoi(r[0]), r[1], std::stod(r[2]), r[3], r[4] == "1"};
    if (a.activity_id < 20001 || a.activity_id > 20999 || !ids.insert(a.activity_id).second) {
      return corrupt("activities.csv: id {} is duplicate or outside 20001..20999", a.activity_id);
    }
    data.activities.push_back(std::move(a));
  }
  return data;
}

const ReferenceData& ReferenceData::embedded() {
  static const ReferenceData kData = [] {
    std::map<std::string, std::string> files;
    for (const auto& f : embedded_files().files) files.emplace(std::string(f.path), std::string(f.bytes));
    auto parsed = parse(files);
    // The files are part of the build; a failure here is a defect of the build, not of the input.
    if (!parsed.ok()) throw std::runtime_error("embedded reference data: " + parsed.error().message);
    return std::move(parsed).value();
  }();
  return kData;
}

const CountryData* ReferenceData::country(std::string_view code) const {
  for (const auto& c : countries) {
    if (c.code == code) return &c;
  }
  return nullptr;
}

std::string ReferenceData::iso_name(std::string_view code) const {
  for (const auto& [name, alpha2] : iso) {
    if (alpha2 == code) return name;
  }
  return {};
}

const ActivityData* ReferenceData::activity(int activity_id) const {
  for (const auto& a : activities) {
    if (a.activity_id == activity_id) return &a;
  }
  return nullptr;
}

}  // namespace hrflow::oltp
