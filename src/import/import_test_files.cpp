#include "import/import_test_files.h"

#include <fmt/format.h>
#include <zlib.h>

#include <fstream>
#include <stdexcept>
#include <vector>

#include "common/civil_time.h"

namespace hrflow::import::testfiles {

namespace {

std::string local_text(int64_t utc, int offset_min, char sep) {
  std::string s = format_utc(utc + offset_min * 60);
  s[10] = sep;
  return s;
}

void put16(std::string& s, uint32_t v) {
  s += static_cast<char>(v & 0xff);
  s += static_cast<char>((v >> 8) & 0xff);
}
void put32(std::string& s, uint32_t v) {
  put16(s, v & 0xffff);
  put16(s, v >> 16);
}

std::string deflate_raw(const std::string& in) {
  z_stream z{};
  if (deflateInit2(&z, 6, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) throw std::runtime_error("deflateInit2");
  std::string out(deflateBound(&z, in.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) throw std::runtime_error("deflate");
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

}  // namespace

std::string apple_time(int64_t utc, int offset_min) {
  const int a = std::abs(offset_min);
  return fmt::format("{} {}{:02}{:02}", local_text(utc, offset_min, ' '), offset_min < 0 ? '-' : '+', a / 60, a % 60);
}

std::string rfc3339(int64_t utc, int offset_min) {
  if (offset_min == 0) return local_text(utc, 0, 'T') + "Z";
  const int a = std::abs(offset_min);
  return fmt::format("{}{}{:02}:{:02}", local_text(utc, offset_min, 'T'), offset_min < 0 ? '-' : '+', a / 60, a % 60);
}

std::string apple_head(const std::string& dob, const std::string& sex, const std::string& blood) {
  return fmt::format(R"(<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE HealthData [
<!-- HealthKit Export Version: 14 -->
<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout|ActivitySummary|ClinicalRecord|Audiogram|VisionPrescription)*)>
<!ATTLIST HealthData
  locale CDATA #REQUIRED
>
<!ELEMENT ExportDate EMPTY>
<!ATTLIST ExportDate
  value CDATA #REQUIRED
>
<!ELEMENT Me EMPTY>
<!ATTLIST Me
  HKCharacteristicTypeIdentifierDateOfBirth         CDATA #REQUIRED
  HKCharacteristicTypeIdentifierBiologicalSex       CDATA #REQUIRED
  HKCharacteristicTypeIdentifierBloodType           CDATA #REQUIRED
  HKCharacteristicTypeIdentifierFitzpatrickSkinType CDATA #REQUIRED
  HKCharacteristicTypeIdentifierCardioFitnessMedicationsUse CDATA #IMPLIED
>
<!ELEMENT Record ((MetadataEntry|HeartRateVariabilityMetadataList)*)>
<!ATTLIST Record
  type          CDATA #REQUIRED
  unit          CDATA #IMPLIED
  value         CDATA #IMPLIED
  sourceName    CDATA #REQUIRED
  sourceVersion CDATA #IMPLIED
  device        CDATA #IMPLIED
  creationDate  CDATA #IMPLIED
  startDate     CDATA #REQUIRED
  endDate       CDATA #REQUIRED
>
<!-- Note: Any Records that appear as children of a correlation also appear as top-level records in this document. -->
<!ELEMENT Correlation ((MetadataEntry|Record)*)>
<!ATTLIST Correlation
  type          CDATA #REQUIRED
  sourceName    CDATA #REQUIRED
  sourceVersion CDATA #IMPLIED
  device        CDATA #IMPLIED
  creationDate  CDATA #IMPLIED
  startDate     CDATA #REQUIRED
  endDate       CDATA #REQUIRED
>
<!ELEMENT Workout ((MetadataEntry|WorkoutEvent|WorkoutRoute|WorkoutStatistics)*)>
<!ATTLIST Workout
  workoutActivityType   CDATA #REQUIRED
  duration              CDATA #IMPLIED
  durationUnit          CDATA #IMPLIED
  sourceName            CDATA #REQUIRED
  sourceVersion         CDATA #IMPLIED
  device                CDATA #IMPLIED
  creationDate          CDATA #IMPLIED
  startDate             CDATA #REQUIRED
  endDate               CDATA #REQUIRED
>
<!ELEMENT WorkoutEvent ((MetadataEntry)*)>
<!ATTLIST WorkoutEvent
  type         CDATA #REQUIRED
  date         CDATA #REQUIRED
  duration     CDATA #IMPLIED
  durationUnit CDATA #IMPLIED
>
<!ELEMENT WorkoutStatistics EMPTY>
<!ATTLIST WorkoutStatistics
  type       CDATA #REQUIRED
  startDate  CDATA #REQUIRED
  endDate    CDATA #REQUIRED
  average    CDATA #IMPLIED
  minimum    CDATA #IMPLIED
  maximum    CDATA #IMPLIED
  sum        CDATA #IMPLIED
  unit       CDATA #IMPLIED
>
<!ELEMENT MetadataEntry EMPTY>
<!ATTLIST MetadataEntry
  key   CDATA #REQUIRED
  value CDATA #REQUIRED
>
<!ELEMENT HeartRateVariabilityMetadataList (InstantaneousBeatsPerMinute*)>
<!ELEMENT InstantaneousBeatsPerMinute EMPTY>
<!ATTLIST InstantaneousBeatsPerMinute
  bpm  CDATA #REQUIRED
  time CDATA #REQUIRED
>
]>
<HealthData locale="en_US">
 <ExportDate value="2025-06-01 09:00:00 +0200"/>
 <Me HKCharacteristicTypeIdentifierDateOfBirth="{}" HKCharacteristicTypeIdentifierBiologicalSex="{}" HKCharacteristicTypeIdentifierBloodType="{}" HKCharacteristicTypeIdentifierFitzpatrickSkinType="HKFitzpatrickSkinTypeNotSet" HKCharacteristicTypeIdentifierCardioFitnessMedicationsUse="None"/>
)",
                     dob, sex, blood);
}

std::string apple_tail() { return "</HealthData>\n"; }

std::string apple_hr(int64_t utc, int offset_min, const std::string& value, const std::string& source, int context,
                     const std::string& unit) {
  const std::string t = apple_time(utc, offset_min);
  const std::string end = apple_time(utc + 1, offset_min);
  std::string s = fmt::format(
      R"( <Record type="HKQuantityTypeIdentifierHeartRate" sourceName="{}" sourceVersion="10.1" device="&lt;&lt;HKDevice: 0x283a9e8a0&gt;, name:Apple Watch, manufacturer:Apple Inc., model:Watch, hardware:Watch6,1, software:10.1&gt;" unit="{}" creationDate="{}" startDate="{}" endDate="{}" value="{}")",
      source, unit, end, t, end, value);
  if (context < 0) return s + "/>\n";
  return s + fmt::format(">\n  <MetadataEntry key=\"HKMetadataKeyHeartRateMotionContext\" value=\"{}\"/>\n </Record>\n", context);
}

std::string apple_other(const std::string& type, int64_t utc, const std::string& value, const std::string& unit) {
  const std::string t = apple_time(utc, 60);
  return fmt::format(
      R"( <Record type="{}" sourceName="iPhone" sourceVersion="17.4" unit="{}" creationDate="{}" startDate="{}" endDate="{}" value="{}"/>
)",
      type, unit, t, t, t, value);
}

std::string apple_workout(const std::string& type, int64_t start, int64_t end, int offset_min) {
  return fmt::format(
      R"( <Workout workoutActivityType="{}" duration="{:.4f}" durationUnit="min" sourceName="Anna’s Apple Watch" sourceVersion="10.1" creationDate="{}" startDate="{}" endDate="{}">
  <MetadataEntry key="HKIndoorWorkout" value="0"/>
  <WorkoutEvent type="HKWorkoutEventTypeSegment" date="{}" duration="5" durationUnit="min"/>
  <WorkoutStatistics type="HKQuantityTypeIdentifierHeartRate" startDate="{}" endDate="{}" average="142" minimum="98" maximum="171" unit="count/min"/>
 </Workout>
)",
      type, (end - start) / 60.0, apple_time(end, offset_min), apple_time(start, offset_min), apple_time(end, offset_min),
      apple_time(start, offset_min), apple_time(start, offset_min), apple_time(end, offset_min));
}

void write_zip(const std::filesystem::path& path, const std::string& entry, const std::string& content) {
  struct Entry {
    std::string name, data;
  };
  const std::vector<Entry> entries = {
      {"apple_health_export/electrocardiograms/ecg_2025-03-01.csv", "Name,Anna\nSample Rate,512 Hz\n"},
      {entry, content}};
  std::string out, central;
  for (const auto& e : entries) {
    const std::string packed = deflate_raw(e.data);
    const uint32_t crc = static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(e.data.data()), static_cast<uInt>(e.data.size())));
    const uint32_t offset = static_cast<uint32_t>(out.size());
    put32(out, 0x04034b50);
    put16(out, 20);
    put16(out, 0);  // flags
    put16(out, 8);  // deflate
    put16(out, 0);
    put16(out, 0x5a21);
    put32(out, crc);
    put32(out, static_cast<uint32_t>(packed.size()));
    put32(out, static_cast<uint32_t>(e.data.size()));
    put16(out, static_cast<uint32_t>(e.name.size()));
    put16(out, 0);
    out += e.name;
    out += packed;
    put32(central, 0x02014b50);
    put16(central, 20);
    put16(central, 20);
    put16(central, 0);
    put16(central, 8);
    put16(central, 0);
    put16(central, 0x5a21);
    put32(central, crc);
    put32(central, static_cast<uint32_t>(packed.size()));
    put32(central, static_cast<uint32_t>(e.data.size()));
    put16(central, static_cast<uint32_t>(e.name.size()));
    put16(central, 0);
    put16(central, 0);
    put16(central, 0);
    put16(central, 0);
    put32(central, 0);
    put32(central, offset);
    central += e.name;
  }
  const uint32_t cd_offset = static_cast<uint32_t>(out.size());
  out += central;
  put32(out, 0x06054b50);
  put16(out, 0);
  put16(out, 0);
  put16(out, static_cast<uint32_t>(entries.size()));
  put16(out, static_cast<uint32_t>(entries.size()));
  put32(out, static_cast<uint32_t>(central.size()));
  put32(out, cd_offset);
  put16(out, 0);
  write_file(path, out);
}

void write_file(const std::filesystem::path& path, const std::string& content) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream f(path, std::ios::binary);
  f << content;
  if (!f) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace hrflow::import::testfiles
