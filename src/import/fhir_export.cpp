#include "import/fhir_export.h"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "common/civil_time.h"
#include "common/duckdb.h"
#include "common/progress.h"
#include "common/state.h"
#include "import/input.h"
#include "import/participants.h"

namespace hrflow::import {

namespace {

constexpr int64_t kWindow = 7 * 86400;  // one user-week of readings per query

std::string rfc3339(int64_t ts) {
  std::string s = format_utc(ts);
  s[10] = 'T';
  return s + "Z";
}

}  // namespace

Result<ExportReport> export_fhir(const Config& config, const ExportOptions& o) {
  ExportReport report;
  std::error_code ec;
  std::filesystem::create_directories(o.out_dir, ec);
  if (ec) return io_error("cannot create {}: {}", o.out_dir.string(), ec.message());
  const auto layout = StateLayout::from(config);
  if (!std::filesystem::exists(layout.warehouse_path)) {
    return Error{ErrorKind::kNotFound,
                 fmt::format("no warehouse at {}: run `hrflow sync` and `hrflow build` first", layout.warehouse_path.string()),
                 false};
  }
  HRFLOW_ASSIGN_OR_RETURN(auto db, db::Database::open(layout.warehouse_path.string(), {{"access_mode", "READ_ONLY"}}));
  HRFLOW_ASSIGN_OR_RETURN(auto conn, db::Connection::connect(db));
  const std::string key = config.get_string("privacy.pseudonym_key");
  std::string where = "true";
  if (o.from) where += fmt::format(" and f.event_datetime >= make_timestamp({}::bigint * 1000000)", *o.from);
  if (o.to) where += fmt::format(" and f.event_datetime < make_timestamp({}::bigint * 1000000)", *o.to);
  if (!o.users.empty()) {
    std::string list;
    for (auto u : o.users) list += (list.empty() ? "" : ",") + std::to_string(u);
    where += fmt::format(" and u.user_id in ({})", list);
  }
  // Users with readings in the selection, with their current attributes and time span.
  HRFLOW_ASSIGN_OR_RETURN(
      auto users,
      conn.query(fmt::format(
          "select u.user_id, epoch(min(f.event_datetime))::bigint, epoch(max(f.event_datetime))::bigint, count(*), "
          "(select strftime(c.date_of_birth, '%Y-%m-%d') from serving.dim_users c where c.user_id = u.user_id and c.end_date is null), "
          "(select c.sex from serving.dim_users c where c.user_id = u.user_id and c.end_date is null) "
          "from serving.fct_heart_rates f join serving.dim_users u on u.user_key = f.user_key where {} "
          "group by u.user_id order by u.user_id",
          where)));
  report.patient_file = o.out_dir / "Patient.ndjson";
  report.observation_file = o.out_dir / "Observation.ndjson";
  FilePtr pf(std::fopen(report.patient_file.c_str(), "wb"));
  FilePtr of(std::fopen(report.observation_file.c_str(), "wb"));
  if (!pf || !of) return io_error("cannot write in {}: {}", o.out_dir.string(), std::strerror(errno));
  uint64_t total = 0;
  for (uint64_t r = 0; r < users.row_count(); ++r) total += static_cast<uint64_t>(users.get_int64(r, 3).value_or(0));
  Progress progress("export fhir", "observations", total, o.show_progress);
  std::string buf;
  for (uint64_t r = 0; r < users.row_count(); ++r) {
    const int64_t user = *users.get_int64(r, 0);
    const std::string pid = pseudonym(key, fmt::format("user-{}", user));
    nlohmann::json patient = {{"resourceType", "Patient"}, {"id", pid}};
    if (auto dob = users.get_string(r, 4)) patient["birthDate"] = *dob;
    if (auto sex = users.get_string(r, 5)) patient["gender"] = *sex == "M" ? "male" : *sex == "F" ? "female" : "unknown";
    const std::string pline = patient.dump() + "\n";
    if (std::fwrite(pline.data(), 1, pline.size(), pf.get()) != pline.size()) {
      return io_error("writing {}: {}", report.patient_file.string(), std::strerror(errno));
    }
    ++report.patients;
    const int64_t first = *users.get_int64(r, 1), last = *users.get_int64(r, 2);
    for (int64_t w = first; w <= last; w += kWindow) {
      if (o.stop.stop_requested()) {
        report.interrupted = true;
        return report;
      }
      HRFLOW_ASSIGN_OR_RETURN(
          auto rows, conn.query(fmt::format("select epoch(f.event_datetime)::bigint, f.heart_rate from serving.fct_heart_rates f "
                                            "join serving.dim_users u on u.user_key = f.user_key where {} and u.user_id = {} "
                                            "and f.event_datetime >= make_timestamp({}::bigint * 1000000) and "
                                            "f.event_datetime < make_timestamp({}::bigint * 1000000) order by 1",
                                            where, user, w, w + kWindow)));
      buf.clear();
      for (uint64_t i = 0; i < rows.row_count(); ++i) {
        const int64_t ts = *rows.get_int64(i, 0);
        const int64_t hr = *rows.get_int64(i, 1);
        fmt::format_to(std::back_inserter(buf),
                       R"({{"resourceType":"Observation","id":"hr-{}-{}","meta":{{"profile":["http://hl7.org/fhir/StructureDefinition/heartrate"]}},)"
                       R"("status":"final","category":[{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"vital-signs","display":"Vital Signs"}}],"text":"Vital Signs"}}],)"
                       R"("code":{{"coding":[{{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}}],"text":"Heart rate"}},)"
                       R"("subject":{{"reference":"Patient/{}"}},"effectiveDateTime":"{}",)"
                       R"("valueQuantity":{{"value":{},"unit":"beats/minute","system":"http://unitsofmeasure.org","code":"/min"}}}})"
                       "\n",
                       pid, ts, pid, rfc3339(ts), hr);
      }
      if (std::fwrite(buf.data(), 1, buf.size(), of.get()) != buf.size()) {
        return io_error("writing {}: {} (is the disk full?)", report.observation_file.string(), std::strerror(errno));
      }
      report.observations += rows.row_count();
      progress.add(rows.row_count());
    }
  }
  if (std::fflush(pf.get()) != 0 || std::fflush(of.get()) != 0) {
    return io_error("writing in {}: {}", o.out_dir.string(), std::strerror(errno));
  }
  progress.finish();
  return report;
}

}  // namespace hrflow::import
