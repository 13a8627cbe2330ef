// The readers on files in each real format written here (DTD, offsets, metadata, workouts, damaged
// records), the zip container, the journal's crash rules and the time parser. Every test checks that
// records in = readings + skipped + errors, exactly, with the expected numbers per reason.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <map>

#include "common/civil_time.h"
#include "import/collector.h"
#include "import/import.h"
#include "import/import_test_files.h"
#include "import/journal.h"
#include "import/participants.h"
#include "stream/stream.h"
#include "support/fixtures.h"

namespace hrflow::import {
namespace {

using namespace testfiles;
using hrflow::testing::TempDir;

const int64_t kT0 = days_from_civil(2025, 3, 10) * 86400 + 7 * 3600;  // 2025-03-10 07:00:00 UTC

uint64_t sum(const std::map<std::string, uint64_t>& m) {
  uint64_t n = 0;
  for (const auto& [k, v] : m) n += v;
  return n;
}

std::vector<SpilledReading> spilled(const Collector& c) {
  auto r = SpillReader::open(c.spill_path());
  EXPECT_TRUE(r.ok());
  std::vector<SpilledReading> all, chunk;
  for (;;) {
    EXPECT_TRUE(r->next(chunk, 3).ok());
    if (chunk.empty()) break;
    all.insert(all.end(), chunk.begin(), chunk.end());
  }
  return all;
}

std::vector<nlohmann::json> error_lines(const Collector& c) {
  std::vector<nlohmann::json> out;
  std::ifstream f(c.errors_path());
  std::string line;
  while (std::getline(f, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

// ReadContext holds a reference; build it in place.
struct Reading {
  explicit Reading(const TempDir& dir, const std::string& participant = "P017", size_t buffer = 1 << 20)
      : collector(std::move(Collector::create(dir.path() / "spill.bin", dir.path() / "errors.jsonl")).value()),
        ctx{collector} {
    ctx.participant.label = participant;
    ctx.buffer_bytes = buffer;
  }
  Collector collector;
  ReadContext ctx;
};

std::string apple_export() {
  std::string x = apple_head();
  x += apple_hr(kT0, 60, "72", "Anna’s Apple Watch", 1);                 // 1 reading, sedentary, +0100
  x += apple_hr(kT0 + 60, -300, "73.6");                                   // 2 reading, -0500, rounds to 74
  x += apple_hr(kT0 + 120, 330, "80", "Ånna’s Watch ❤", 2);              // 3 reading, +0530, active
  x += apple_hr(kT0, 60, "72", "Anna’s Apple Watch", 1);                 // 4 reading (same second: the import dedupes)
  x += apple_hr(kT0 + 180, 60, "1.2", "Anna’s Apple Watch", -1, "count/s");  // 5 error: unit
  x += apple_hr(kT0 + 240, 60, "400");                                     // 6 error: impossible value
  x += R"( <Record type="HKQuantityTypeIdentifierHeartRate" sourceName="Anna’s Apple Watch" unit="count/min" value="70"/>
)";                                                                        // 7 error: no startDate
  x += apple_other("HKQuantityTypeIdentifierStepCount", kT0, "42", "count");  // 8 skipped
  x += R"( <Record type="HKQuantityTypeIdentifierHeartRateVariabilitySDNN" sourceName="Anna’s Apple Watch" unit="ms" startDate="2025-03-10 08:00:00 +0100" endDate="2025-03-10 08:01:00 +0100" value="48.1">
  <HeartRateVariabilityMetadataList>
   <InstantaneousBeatsPerMinute bpm="62" time="8:00:01.12 AM"/>
   <InstantaneousBeatsPerMinute bpm="63" time="8:00:02.08 AM"/>
  </HeartRateVariabilityMetadataList>
 </Record>
)";                                                                        // 9 skipped
  x += R"( <Correlation type="HKCorrelationTypeIdentifierBloodPressure" sourceName="Omron" startDate="2025-03-10 08:00:00 +0100" endDate="2025-03-10 08:00:00 +0100">
  <Record type="HKQuantityTypeIdentifierBloodPressureSystolic" sourceName="Omron" unit="mmHg" startDate="2025-03-10 08:00:00 +0100" endDate="2025-03-10 08:00:00 +0100" value="121"/>
  <Record type="HKQuantityTypeIdentifierBloodPressureDiastolic" sourceName="Omron" unit="mmHg" startDate="2025-03-10 08:00:00 +0100" endDate="2025-03-10 08:00:00 +0100" value="79"/>
 </Correlation>
)";                                                                        // 10, 11 skipped
  x += apple_workout("HKWorkoutActivityTypeRunning", kT0 + 3600, kT0 + 5400, 60);
  x += apple_hr(kT0 + 4000, 60, "151", "Anna’s Apple Watch", 2);          // 12 reading, during the run
  x += R"( <Record type="HKQuantityTypeIdentifierHeartRate" sourceName="W" unit="count/min" startDate="2025-03-10 09:00:00 +0100" endDate="2025-03-10 09:00:00 +0100" value="7"2"/>
)";                                                                        // 13 error: malformed XML
  x += apple_hr(kT0 + 7200, 60, "65");                                     // 14 reading, after the damage
  x += apple_tail();
  return x;
}

void expect_apple_counts(Reading& r) {
  const Collector& c = r.collector;
  EXPECT_EQ(c.readings(), 6u);
  EXPECT_EQ(sum(c.skipped()), 4u);
  EXPECT_EQ(c.errors_total(), 4u);
  EXPECT_EQ(c.records_in(), 14u);
  EXPECT_EQ(c.records_in(), c.readings() + sum(c.skipped()) + c.errors_total());
  EXPECT_EQ(c.skipped().at("not heart rate: StepCount"), 1u);
  EXPECT_EQ(c.skipped().at("not heart rate: HeartRateVariabilitySDNN"), 1u);
  EXPECT_EQ(c.skipped().at("not heart rate: BloodPressureSystolic"), 1u);
  EXPECT_EQ(c.errors().at("unknown unit 'count/s' (heart rate is count/min)"), 1u);
  EXPECT_EQ(c.errors().at("impossible heart rate (outside 5..300 beats/min)"), 1u);
  EXPECT_EQ(c.errors().at("missing time (no startDate)"), 1u);
  ASSERT_EQ(c.subjects().size(), 1u);
  EXPECT_EQ(c.subjects()[0].label, "P017");
  EXPECT_EQ(c.subjects()[0].date_of_birth, 19840615);
  EXPECT_EQ(c.subjects()[0].sex, 'F');
  EXPECT_EQ(c.subjects()[0].blood_type, "AB-");
  ASSERT_EQ(r.collector.workouts().size(), 1u);
  EXPECT_EQ(r.collector.workouts()[0].activity, "Run");
  EXPECT_EQ(r.collector.workouts()[0].start, kT0 + 3600);
  EXPECT_EQ(r.collector.workouts()[0].end, kT0 + 5400);

  auto rs = spilled(c);
  ASSERT_EQ(rs.size(), 6u);
  EXPECT_EQ(rs[0].timestamp, kT0);
  EXPECT_EQ(rs[0].heart_rate, 72);
  EXPECT_EQ(rs[0].context, static_cast<uint8_t>(Context::kSedentary));
  EXPECT_EQ(rs[1].timestamp, kT0 + 60);  // written at -0500: the same instant
  EXPECT_EQ(rs[1].heart_rate, 74);
  EXPECT_EQ(rs[1].context, static_cast<uint8_t>(Context::kUnknown));
  EXPECT_EQ(rs[2].timestamp, kT0 + 120);  // +0530
  EXPECT_EQ(rs[2].context, static_cast<uint8_t>(Context::kActive));
  EXPECT_EQ(rs[4].timestamp, kT0 + 4000);
  EXPECT_EQ(rs[5].timestamp, kT0 + 7200);
  EXPECT_EQ(rs[5].heart_rate, 65);

  // The errors file: one line per error, with its place.
  auto errs = error_lines(c);
  ASSERT_EQ(errs.size(), 4u);
  for (const auto& e : errs) {
    EXPECT_GT(e.value("line", 0), 0) << e.dump();
    EXPECT_GE(e.value("offset", -1), 0) << e.dump();
  }
  const auto& malformed = errs.back();
  EXPECT_NE(malformed["reason"].get<std::string>().find("malformed XML"), std::string::npos) << malformed.dump();
}

TEST(AppleHealthReader, ReadsTheExportXmlWithItsDtdOffsetsMetadataWorkoutsAndDamage) {
  TempDir dir;
  const std::string xml = apple_export();
  write_file(dir.path() / "export.xml", xml);
  Reading r(dir);
  ASSERT_TRUE(read_apple_health(dir.path() / "export.xml", r.ctx).ok());
  ASSERT_TRUE(r.collector.finish().ok());
  expect_apple_counts(r);
  // The malformed record's place: its line in the file.
  auto errs = error_lines(r.collector);
  const std::string marker = "value=\"7\"2\"";
  const size_t at = xml.find(marker);
  const int64_t line = 1 + std::count(xml.begin(), xml.begin() + static_cast<long>(at), '\n');
  EXPECT_EQ(errs.back()["line"].get<int64_t>(), line);
  const auto off = errs.back()["offset"].get<int64_t>();
  EXPECT_GE(off, static_cast<int64_t>(xml.rfind('\n', at)));
  EXPECT_LE(off, static_cast<int64_t>(at + marker.size()));
  // The error lines of the unit/value/time errors name their Record's line.
  const int64_t unit_line = 1 + std::count(xml.begin(), xml.begin() + static_cast<long>(xml.find("count/s")), '\n');
  EXPECT_EQ(errs[0]["line"].get<int64_t>(), unit_line);
}

TEST(AppleHealthReader, ReadsTheSameFromExportZipInSmallBuffers) {
  TempDir dir;
  write_zip(dir.path() / "export.zip", "apple_health_export/export.xml", apple_export());
  Reading r(dir, "P017", 4096);  // many buffers: records and the damage straddle buffer ends
  auto st = read_apple_health(dir.path() / "export.zip", r.ctx);
  ASSERT_TRUE(st.ok()) << st.error().message;
  ASSERT_TRUE(r.collector.finish().ok());
  expect_apple_counts(r);
}

TEST(AppleHealthReader, AZipWithoutExportXmlIsAClearError) {
  TempDir dir;
  write_zip(dir.path() / "other.zip", "apple_health_export/export_cda.xml", "<x/>");
  Reading r(dir);
  auto st = read_apple_health(dir.path() / "other.zip", r.ctx);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("export.xml"), std::string::npos) << st.error().message;
}

TEST(AppleHealthReader, ATruncatedFileCountsOneErrorAndKeepsWhatCameBefore) {
  TempDir dir;
  std::string xml = apple_head() + apple_hr(kT0, 60, "70") + apple_hr(kT0 + 5, 60, "71");
  xml += R"( <Record type="HKQuantityTypeIdentifierHeartRate" sourceName="W" unit="count/min" startDate="2025-03-10 0)";
  write_file(dir.path() / "export.xml", xml);
  Reading r(dir);
  ASSERT_TRUE(read_apple_health(dir.path() / "export.xml", r.ctx).ok());
  ASSERT_TRUE(r.collector.finish().ok());
  EXPECT_EQ(r.collector.readings(), 2u);
  EXPECT_EQ(r.collector.errors_total(), 1u);
  EXPECT_EQ(r.collector.records_in(), 3u);
}

// --- FHIR -----------------------------------------------------------------------------------------

std::string hr_obs(const std::string& status, const std::string& subject, const std::string& effective, double value,
                   const std::string& unit_field) {
  return fmt::format(
      R"({{"resourceType":"Observation","id":"o{}","status":"{}","category":[{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs"}}]}}],"code":{{"coding":[{{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}}]}},"subject":{{"reference":"{}"}},{}"valueQuantity":{{"value":{},{}}}}})",
      static_cast<int64_t>(value * 10), status, subject, effective, value, unit_field);
}

TEST(FhirReader, ReadsObservationsOfPatientsWithStatusesUnitsComponentsAndErrors) {
  TempDir dir;
  const auto bulk = dir.path() / "bulk";
  write_file(bulk / "Patient.ndjson",
             R"({"resourceType":"Patient","id":"pa","birthDate":"1975-02-03","gender":"female","name":[{"family":"Nordmann","given":["Kari"]}]})"
             "\n"
             R"({"resourceType":"Patient","id":"pb","birthDate":"1990-11-30","gender":"male"})"
             "\n"
             R"({"resourceType":"Patient","id":)"
             "\n");
  const std::string std_unit = R"("unit":"beats/minute","system":"http://unitsofmeasure.org","code":"/min")";
  std::string obs;
  obs += hr_obs("final", "Patient/pa", R"("effectiveDateTime":"2025-03-10T08:00:00+01:00",)", 70, std_unit) + "\n";
  obs += hr_obs("amended", "Patient/pb", R"("effectivePeriod":{"start":"2025-03-10T07:00:01Z","end":"2025-03-10T07:00:02Z"},)", 71,
                R"("unit":"{beats}/min","code":"{beats}/min")") + "\n";
  obs += hr_obs("corrected", "Patient/pa", R"("effectiveDateTime":"2025-03-10T02:00:02.250-05:00",)", 72, R"("unit":"beats/minute")") + "\n";
  obs += hr_obs("preliminary", "Patient/pa", R"("effectiveDateTime":"2025-03-10T07:00:03Z",)", 73, std_unit) + "\n";
  obs += hr_obs("entered-in-error", "Patient/pa", R"("effectiveDateTime":"2025-03-10T07:00:04Z",)", 74, std_unit) + "\n";
  obs += R"({"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"85353-1"}]},"subject":{"reference":"Patient/pb"},"effectiveDateTime":"2025-03-10T07:00:05Z","component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6"}]},"valueQuantity":{"value":120,"code":"mm[Hg]"}},{"code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]},"valueQuantity":{"value":75,"code":"/min"}}]})"
         "\n";
  obs += R"({"resourceType":"Observation","status":"final","code":{"coding":[{"system":"http://loinc.org","code":"29463-7"}]},"subject":{"reference":"Patient/pb"},"effectiveDateTime":"2025-03-10T07:00:06Z","valueQuantity":{"value":70,"code":"kg"}})"
         "\n";
  obs += hr_obs("final", "Patient/pa", R"("effectiveDateTime":"2025-03-10T07:00:07Z",)", 76, R"("code":"kg")") + "\n";
  obs += hr_obs("final", "Patient/nobody", R"("effectiveDateTime":"2025-03-10T07:00:08Z",)", 77, std_unit) + "\n";
  obs += hr_obs("final", "Patient/pa", "", 78, std_unit) + "\n";
  obs += R"({"resourceType":"Observation","status":"final",)" "\n";
  obs += "\n";  // a blank line is not a record
  obs += hr_obs("final", "Patient/pa", R"("effectiveDateTime":"2025-03-10",)", 79, std_unit) + "\n";
  write_file(bulk / "Observation.ndjson", obs);
  write_file(bulk / "Encounter.ndjson", R"({"resourceType":"Encounter","id":"e1"})" "\n");

  Reading r(dir, "", 64);  // a buffer smaller than a line: lines grow it
  r.ctx.with_names = true;
  auto st = read_fhir(bulk, r.ctx);
  ASSERT_TRUE(st.ok()) << st.error().message;
  ASSERT_TRUE(r.collector.finish().ok());
  const Collector& c = r.collector;
  EXPECT_EQ(c.readings(), 4u);
  EXPECT_EQ(c.skipped().at("Patient resources (people, not readings)"), 2u);
  EXPECT_EQ(c.skipped().at("status preliminary"), 1u);
  EXPECT_EQ(c.skipped().at("status entered-in-error"), 1u);
  EXPECT_EQ(c.skipped().at("not heart rate (code 29463-7)"), 1u);
  EXPECT_EQ(sum(c.skipped()), 5u);
  EXPECT_EQ(c.errors().at("subject is not a Patient of this export"), 1u);
  EXPECT_EQ(c.errors().at("missing time (no effectiveDateTime or effectivePeriod)"), 1u);
  EXPECT_EQ(c.errors().at("time without a time of day or UTC offset"), 1u);
  EXPECT_EQ(c.errors().at("unknown unit 'kg' (heart rate is /min, {beats}/min or beats/minute)"), 1u);
  EXPECT_EQ(c.errors_total(), 6u);  // + two malformed JSON lines (Patient, Observation)
  EXPECT_EQ(c.records_in(), 15u);
  ASSERT_EQ(c.subjects().size(), 2u);
  EXPECT_EQ(c.subjects()[0].label, "pa");
  EXPECT_EQ(c.subjects()[0].date_of_birth, 19750203);
  EXPECT_EQ(c.subjects()[0].sex, 'F');
  EXPECT_EQ(c.subjects()[0].last_name, "Nordmann");
  EXPECT_EQ(c.subjects()[0].first_name, "Kari");
  EXPECT_EQ(c.subjects()[1].sex, 'M');
  auto rs = spilled(c);
  ASSERT_EQ(rs.size(), 4u);
  EXPECT_EQ(rs[0].timestamp, kT0);  // 08:00+01:00
  EXPECT_EQ(rs[0].subject, 0u);
  EXPECT_EQ(rs[1].timestamp, kT0 + 1);  // effectivePeriod.start
  EXPECT_EQ(rs[1].subject, 1u);
  EXPECT_EQ(rs[2].timestamp, kT0 + 2);  // 02:00:02.250-05:00
  EXPECT_EQ(rs[3].heart_rate, 75);      // the component
  auto errs = error_lines(c);
  ASSERT_EQ(errs.size(), 6u);
  EXPECT_EQ(errs[0]["line"].get<int>(), 3);  // the malformed Patient line
  EXPECT_NE(errs[0]["file"].get<std::string>().find("Patient.ndjson"), std::string::npos);
}

// --- Fitbit ---------------------------------------------------------------------------------------

TEST(FitbitReader, LocalTimesGetTheZonesOffsetAcrossTheDaylightSavingChange) {
  TempDir dir;
  const auto takeout = dir.path() / "Takeout" / "Fitbit" / "Global Export Data";
  // 31 March 2024: Oslo moves from +01:00 to +02:00 at 02:00 local.
  write_file(takeout / "heart_rate-2024-03-31.json",
             R"([{"dateTime":"03/31/24 01:59:59","value":{"bpm":61,"confidence":2}},)"
             R"({"dateTime":"03/31/24 03:00:00","value":{"bpm":62,"confidence":3}},)"
             R"({"dateTime":"03/31/24 03:00:05","value":{"bpm":0,"confidence":0}},)"
             R"({"value":{"bpm":64,"confidence":1}},)"
             R"({"dateTime":"2024-03-31 03:00:10","value":{"bpm":65,"confidence":1}}])");
  write_file(takeout / "heart_rate-2024-04-01.json", R"([{"dateTime":"04/01/24 00:00:00","value":{"bpm":6)");
  write_file(takeout / "steps-2024-03-31.json", R"([{"dateTime":"03/31/24 00:00:00","value":"12"}])");
  Reading r(dir, "P018");
  r.ctx.timezone = "Europe/Oslo";
  auto st = read_fitbit(dir.path() / "Takeout", r.ctx);
  ASSERT_TRUE(st.ok()) << st.error().message;
  ASSERT_TRUE(r.collector.finish().ok());
  const Collector& c = r.collector;
  EXPECT_EQ(c.readings(), 2u);
  EXPECT_EQ(c.errors_total(), 4u);
  EXPECT_EQ(c.errors().at("impossible heart rate (outside 5..300 beats/min)"), 1u);
  EXPECT_EQ(c.errors().at("missing time (no dateTime)"), 1u);
  EXPECT_EQ(c.errors().at("unreadable time (dateTime is not MM/DD/YY HH:MM:SS)"), 1u);
  EXPECT_EQ(c.records_in(), 6u);
  auto rs = spilled(c);
  ASSERT_EQ(rs.size(), 2u);
  const int64_t day = days_from_civil(2024, 3, 31) * 86400;
  EXPECT_EQ(rs[0].timestamp, day + 59 * 60 + 59);  // 01:59:59+01:00 = 00:59:59Z
  EXPECT_EQ(rs[1].timestamp, day + 3600);          // 03:00:00+02:00 = 01:00:00Z
}

TEST(FitbitReader, AnUnknownZoneIsAClearError) {
  TempDir dir;
  write_file(dir.path() / "heart_rate-2024-03-31.json", "[]");
  Reading r(dir, "P018");
  r.ctx.timezone = "Europe/Atlantis";
  auto st = read_fitbit(dir.path(), r.ctx);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("Europe/Atlantis"), std::string::npos) << st.error().message;
}

// --- Open mHealth ---------------------------------------------------------------------------------

const char* kOmhPoint =
    R"({"header":{"id":"%s","creation_date_time":"2025-03-10T08:00:00Z","schema_id":{"namespace":"omh","name":"heart-rate","version":"2.0"},"acquisition_provenance":{"source_name":"Polar H10"}},"body":{"heart_rate":{"value":%s,"unit":"%s"},"effective_time_frame":%s,"temporal_relationship_to_physical_activity":"%s"}})";

std::string omh(const std::string& id, const std::string& value, const std::string& unit, const std::string& frame,
                const std::string& rel = "at rest") {
  char buf[2048];
  std::snprintf(buf, sizeof buf, kOmhPoint, id.c_str(), value.c_str(), unit.c_str(), frame.c_str(), rel.c_str());
  return buf;
}

TEST(OmhReader, ReadsHeartRateDataPointsAsNdjsonAndAsAnArray) {
  TempDir dir;
  std::string nd;
  nd += omh("a", "60", "beats/min", R"({"date_time":"2025-03-10T08:00:00+01:00"})") + "\n";
  nd += omh("b", "61", "beats/min", R"({"time_interval":{"start_date_time":"2025-03-10T07:00:10Z","end_date_time":"2025-03-10T07:01:10Z"}})",
            "during exercise") + "\n";
  nd += R"({"header":{"schema_id":{"namespace":"omh","name":"step-count","version":"2.0"}},"body":{"step_count":{"value":12,"unit":"steps"}}})" "\n";
  nd += omh("c", "1.1", "beats/s", R"({"date_time":"2025-03-10T07:00:20Z"})") + "\n";
  nd += omh("d", "62", "beats/min", R"({"date_time":"2025-03-10T07:00:30"})") + "\n";  // no offset
  nd += R"({"header":)" "\n";
  write_file(dir.path() / "hr.ndjson", nd);
  Reading r(dir, "P019");
  ASSERT_TRUE(read_omh(dir.path() / "hr.ndjson", r.ctx).ok());
  ASSERT_TRUE(r.collector.finish().ok());
  const Collector& c = r.collector;
  EXPECT_EQ(c.readings(), 2u);
  EXPECT_EQ(c.skipped().at("not heart rate (schema step-count)"), 1u);
  EXPECT_EQ(c.errors_total(), 3u);
  EXPECT_EQ(c.records_in(), 6u);
  auto rs = spilled(c);
  ASSERT_EQ(rs.size(), 2u);
  EXPECT_EQ(rs[0].timestamp, kT0);
  EXPECT_EQ(rs[0].context, static_cast<uint8_t>(Context::kSedentary));
  EXPECT_EQ(rs[1].timestamp, kT0 + 10);
  EXPECT_EQ(rs[1].context, static_cast<uint8_t>(Context::kActive));

  TempDir dir2;
  write_file(dir2.path() / "hr.json", "[" + omh("a", "60", "beats/min", R"({"date_time":"2025-03-10T07:00:00Z"})") + ",\n" +
                                          R"({"heart_rate":{"value":64,"unit":"beats/min"},"effective_time_frame":{"date_time":"2025-03-10T07:00:01Z"}})" "]");
  Reading r2(dir2, "P019");
  ASSERT_TRUE(read_omh(dir2.path() / "hr.json", r2.ctx).ok());
  ASSERT_TRUE(r2.collector.finish().ok());
  EXPECT_EQ(r2.collector.readings(), 2u);
  EXPECT_EQ(r2.collector.records_in(), 2u);
}

// --- journal --------------------------------------------------------------------------------------

TEST(Journal, APendingBatchSurvivesAndOnlyItsResolvedPartBecomesHeld) {
  TempDir dir;
  const auto path = dir.path() / "readings.journal";
  std::vector<JournalEntry> first = {{90001, 1000, 70, 623}, {90001, 1001, 71, 623}};
  std::vector<JournalEntry> second = {{90001, 2000, 72, 623}, {90001, 2001, 73, 623}, {90002, 2002, 74, 623}};
  {
    auto j = Journal::open(path, {90001, 90002});
    ASSERT_TRUE(j.ok()) << j.error().message;
    EXPECT_TRUE(j->pending().empty());
    ASSERT_TRUE(j->begin(first).ok());
    ASSERT_TRUE(j->commit().ok());
    ASSERT_TRUE(j->begin(second).ok());  // ... and the process dies before the stream acknowledged it
    // A second importer is refused while this one runs.
    auto other = Journal::open(path, {90001});
    ASSERT_FALSE(other.ok());
    EXPECT_NE(other.error().message.find("another `hrflow import`"), std::string::npos);
  }
  {
    auto j = Journal::open(path, {90001, 90002});
    ASSERT_TRUE(j.ok());
    EXPECT_TRUE(j->holds(90001, 1000));
    EXPECT_TRUE(j->holds(90001, 1001));
    EXPECT_FALSE(j->holds(90001, 2000));
    ASSERT_EQ(j->pending().size(), 3u);
    ASSERT_TRUE(j->resolve({second[0]}).ok());
    EXPECT_TRUE(j->holds(90001, 2000));
  }
  // A torn record at the end (a crash while appending) is cut off.
  {
    std::ofstream f(path, std::ios::app | std::ios::binary);
    f << "HRIJ\x05\x00\x00\x00garbage";
  }
  auto j = Journal::open(path, {90001});
  ASSERT_TRUE(j.ok()) << j.error().message;
  EXPECT_TRUE(j->pending().empty());
  EXPECT_TRUE(j->holds(90001, 1000));
  EXPECT_TRUE(j->holds(90001, 2000));
  EXPECT_FALSE(j->holds(90001, 2001));
  EXPECT_FALSE(j->holds(90002, 2002));  // not loaded for this import's users, and not delivered anyway
  EXPECT_EQ(j->entries_loaded(), 3u);
}

// Settling a killed run's batch: per partition, the pending readings up to the partition's newest
// record arrived (in send order); a partition whose newest record is not one of them got none.
TEST(Journal, ThePendingPartTheStreamHoldsIsTheSentPrefixOfEachPartition) {
  const int32_t partitions = 6;
  uint32_t a = 90001, b = 90002;
  while (stream::partition_for_key(std::to_string(b), partitions) == stream::partition_for_key(std::to_string(a), partitions)) ++b;
  const std::vector<JournalEntry> pending = {{a, 100, 70, 623}, {b, 100, 71, 623}, {a, 101, 72, 623},
                                             {b, 101, 73, 623}, {a, 102, 74, 623}, {a, 103, 75, 623}};
  auto record = [&](uint32_t user, int64_t ts) {
    stream::Record r;
    r.partition = stream::partition_for_key(std::to_string(user), partitions);
    r.key = std::to_string(user);
    r.value = fmt::format(R"({{"user_id":{},"heart_rate":1,"timestamp":{},"meta":{{"activity_id":20623}}}})", user, ts);
    return r;
  };
  stream::StreamEnd end;
  end.partitions = partitions;
  end.last[stream::partition_for_key(std::to_string(a), partitions)] = record(a, 102);  // a: up to its third
  end.last[stream::partition_for_key(std::to_string(b), partitions)] = record(10005, 5000);  // b: another producer's
  auto got = delivered_part(pending, end);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 3u);
  EXPECT_EQ((*got)[0].timestamp, 100u);
  EXPECT_EQ((*got)[1].timestamp, 101u);
  EXPECT_EQ((*got)[2].timestamp, 102u);
  for (const auto& e : *got) EXPECT_EQ(e.user_id, a);
  end.last[stream::partition_for_key(std::to_string(b), partitions)] = record(b, 101);  // b: all of it
  got = delivered_part(pending, end);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->size(), 5u);
}

// --- times and pseudonyms -------------------------------------------------------------------------

TEST(ImportTime, OffsetsFractionsAndMissingZones) {
  EXPECT_EQ(*parse_time_with_offset("2025-03-10 08:00:00 +0100"), kT0);
  EXPECT_EQ(*parse_time_with_offset("2025-03-10T07:00:00Z"), kT0);
  EXPECT_EQ(*parse_time_with_offset("2025-03-10T12:30:00.999+05:30"), kT0);
  EXPECT_EQ(*parse_time_with_offset("2025-03-10T02:00:00-05:00"), kT0);
  EXPECT_FALSE(parse_time_with_offset("2025-03-10T07:00:00").ok());
  EXPECT_FALSE(parse_time_with_offset("2025-03-10").ok());
  EXPECT_FALSE(parse_time_with_offset("2025-13-10T07:00:00Z").ok());
  EXPECT_EQ(parse_date_yyyymmdd("1984-06-15"), 19840615);
  EXPECT_FALSE(parse_date_yyyymmdd("1984"));
}

TEST(Pseudonym, KeyedStableAndNotTheLabel) {
  EXPECT_EQ(pseudonym("", "P017"), "P017");
  const auto a = pseudonym("secret", "P017");
  EXPECT_EQ(a, pseudonym("secret", "P017"));
  EXPECT_NE(a, pseudonym("other", "P017"));
  EXPECT_NE(a, pseudonym("secret", "P018"));
  EXPECT_EQ(a.size(), 23u);
  EXPECT_EQ(a.find("P017"), std::string::npos);
}

}  // namespace
}  // namespace hrflow::import
