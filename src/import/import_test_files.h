// Writers of input files in each real format, for the import tests and the benchmark's generator:
// Apple Health export.xml (with its internal DTD) and export.zip, FHIR Bulk NDJSON, Fitbit Takeout
// day files and Open mHealth data points.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace hrflow::import::testfiles {

// "2025-03-10 08:00:00 +0100": `utc` shown at a UTC offset of `offset_min` minutes, as Apple writes it.
std::string apple_time(int64_t utc, int offset_min);
// "2025-03-10T07:00:00Z" / "...+02:00"
std::string rfc3339(int64_t utc, int offset_min);

// The start of an export.xml: XML declaration, the internal DTD, <HealthData>, ExportDate and Me.
std::string apple_head(const std::string& date_of_birth = "1984-06-15", const std::string& sex = "HKBiologicalSexFemale",
                       const std::string& blood = "HKBloodTypeABNegative");
std::string apple_tail();  // </HealthData>
// A heart-rate Record. `context` 0 = no motion-context metadata, else its value (0, 1, 2).
std::string apple_hr(int64_t utc, int offset_min, const std::string& value, const std::string& source = "Anna’s Apple Watch",
                     int context = -1, const std::string& unit = "count/min");
std::string apple_other(const std::string& type, int64_t utc, const std::string& value, const std::string& unit);
std::string apple_workout(const std::string& type, int64_t start, int64_t end, int offset_min);

// A zip archive holding `content` as `entry`, deflated (as the Health app writes export.zip), with
// a small other entry before it.
void write_zip(const std::filesystem::path& path, const std::string& entry, const std::string& content);

void write_file(const std::filesystem::path& path, const std::string& content);

}  // namespace hrflow::import::testfiles
