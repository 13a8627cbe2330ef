// `hrflow import apple-health|fhir|fitbit|omh` and `hrflow export fhir`: the command-line side of the
// import stage (src/import): options, help with examples, the summary lines, exit codes.
#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "common/civil_time.h"
#include "common/progress.h"
#include "import/fhir_export.h"
#include "import/import.h"
#include "simulator/produce.h"

namespace hrflow {

namespace {

struct ImportArgs {
  std::string input, participant, timezone, errors;
  bool with_names = false, with_addresses = false, quiet = false;
};

int run_import_command(const Config& config, import::Format format, const ImportArgs& a) {
  install_stop_handlers();
  import::ImportOptions o;
  o.format = format;
  o.input = a.input;
  o.participant = a.participant;
  o.timezone = a.timezone;
  o.with_names = a.with_names;
  o.with_addresses = a.with_addresses;
  o.errors_path = a.errors;
  o.show_progress = !a.quiet;
  o.stop = StopToken::process();
  auto report = import::run_import(config, o);
  if (!report.ok()) return report_error(report.error().with_context(fmt::format("import {} {}", import::format_name(format), a.input)));
  for (const auto& line : import::summary_lines(*report)) std::printf("%s\n", line.c_str());
  std::fflush(stdout);
  if (report->interrupted) return kExitInterrupted;
  return kExitOk;
}

CLI::App* add_one(CLI::App* parent, CliContext& ctx, import::Format format, const char* what, const char* input_help,
                  const char* examples) {
  auto args = std::make_shared<ImportArgs>();
  auto* cmd = parent->add_subcommand(import::format_name(format), what);
  cmd->add_option("input", args->input, input_help)->required();
  if (format != import::Format::kFhir) {
    cmd->add_option("--participant", args->participant,
                    "The study's label of the person (e.g. P017); a new label creates a user in the operational "
                    "database. With privacy.pseudonym_key set only its keyed hash is stored.")
        ->required();
  }
  if (format == import::Format::kFitbit) {
    cmd->add_option("--timezone", args->timezone,
                    "IANA time zone of the export's local times (e.g. Europe/Oslo); daylight saving is applied")
        ->required();
  }
  if (format == import::Format::kFhir) {
    cmd->add_flag("--with-names", args->with_names, "Keep Patient names (default: first_name 'Participant', last_name = id)");
    cmd->add_flag("--with-addresses", args->with_addresses, "Keep Patient addresses (line, postcode, city, country)");
  }
  cmd->add_option("--errors", args->errors,
                  "Where bad records go, one JSON line each with file, line/offset and reason "
                  "(default: {import.dir}/errors/<input>.<format>.errors.jsonl)");
  cmd->add_flag("-q,--quiet", args->quiet, "No progress bar");
  cmd->footer(examples);
  on_run(cmd, ctx, [&ctx, format, args] { return run_import_command(ctx.config, format, *args); });
  return cmd;
}

}  // namespace

void add_import_commands(CLI::App& app, CliContext& ctx) {
  auto* imp = app.add_subcommand(
      "import",
      "Real heart-rate data into the stream, as readings of imported participants (then sink, sync, build as usual)");
  imp->require_subcommand(1);
  imp->footer(
      "Each import prints one line per outcome (imported, duplicates, skipped and errors by reason); bad records\n"
      "go to an errors file with their place. Importing the same file again, or a later export that overlaps it,\n"
      "adds nothing twice; an interrupted import (Ctrl-C, kill -9) is finished by running it again.");
  add_one(imp, ctx, import::Format::kAppleHealth, "Apple Health \"Export All Health Data\" (export.zip or export.xml)",
          "export.zip from the Health app, or the export.xml inside it",
          "Examples:\n"
          "  hrflow import apple-health export.zip --participant P017\n"
          "  hrflow import apple-health apple_health_export/export.xml --participant P017 --quiet\n"
          "Heart-rate records become readings; workouts give the readings they cover their activity; other\n"
          "record types are skipped and counted. Date of birth, sex and blood type come from <Me>.");
  add_one(imp, ctx, import::Format::kFhir, "FHIR R4 Bulk Data export (Patient.ndjson, Observation.ndjson, ...)",
          "Directory of the export's NDJSON files (or one Observation file)",
          "Examples:\n"
          "  hrflow import fhir bulk-export/\n"
          "  HRFLOW_PSEUDONYM_KEY=... hrflow import fhir bulk-export/ --with-names\n"
          "Observations with LOINC 8867-4 (status final, amended or corrected) become readings of their\n"
          "subject Patient; Patients become users (birth date, sex).");
  add_one(imp, ctx, import::Format::kFitbit, "Fitbit / Google Takeout heart_rate-YYYY-MM-DD.json files",
          "Directory holding the heart_rate-*.json files (searched recursively)",
          "Example:\n"
          "  hrflow import fitbit Takeout/Fitbit/ --participant P018 --timezone Europe/Oslo");
  add_one(imp, ctx, import::Format::kOmh, "Open mHealth heart-rate data points (NDJSON or a JSON array)",
          "File of data points",
          "Example:\n"
          "  hrflow import omh heart-rate.ndjson --participant P019");

  auto* exp = app.add_subcommand("export", "The warehouse's readings for other systems");
  exp->require_subcommand(1);
  struct ExportArgs {
    std::string out, from, to;
    std::vector<int64_t> users;
    bool quiet = false;
  };
  auto args = std::make_shared<ExportArgs>();
  auto* fhir = exp->add_subcommand("fhir", "FHIR R4 Bulk NDJSON: Patient.ndjson + Observation.ndjson (heart-rate profile)");
  fhir->add_option("--out", args->out, "Directory to write (created if missing)")->required();
  fhir->add_option("--from", args->from, "Only readings at or after this UTC time (YYYY-MM-DD[ HH:MM:SS])");
  fhir->add_option("--to", args->to, "Only readings before this UTC time");
  fhir->add_option("--user", args->users, "Only these user ids (repeat the option)");
  fhir->add_flag("-q,--quiet", args->quiet, "No progress bar");
  fhir->footer(
      "Examples:\n"
      "  hrflow export fhir --out fhir-export/\n"
      "  HRFLOW_PSEUDONYM_KEY=... hrflow export fhir --out fhir-export/ --from 2025-01-01 --to 2025-02-01 --user 90001\n"
      "Patient ids are user-<id>, or their keyed hash when privacy.pseudonym_key is set.");
  on_run(fhir, ctx, [&ctx, args] {
    install_stop_handlers();
    import::ExportOptions o;
    o.out_dir = args->out;
    o.users = args->users;
    o.show_progress = !args->quiet;
    o.stop = StopToken::process();
    for (auto [text, into] : {std::pair{&args->from, &o.from}, std::pair{&args->to, &o.to}}) {
      if (text->empty()) continue;
      auto t = sim::parse_utc_time(*text);
      if (!t.ok()) return report_error(t.error().with_context(text == &args->from ? "--from" : "--to"));
      *into = *t;
    }
    auto r = import::export_fhir(ctx.config, o);
    if (!r.ok()) return report_error(r.error().with_context("export fhir"));
    std::printf("patients      %s  -> %s\nobservations  %s  -> %s\n", with_thousands(r->patients).c_str(),
                r->patient_file.c_str(), with_thousands(r->observations).c_str(), r->observation_file.c_str());
    return r->interrupted ? kExitInterrupted : kExitOk;
  });
}

}  // namespace hrflow
