// The table of every hrflow setting. Add a setting here and nowhere else; docs/configuration.md
// is generated from this table (`hrflow config --reference`) and a test keeps them in sync.
#include "common/config.h"

namespace hrflow {
namespace {
using T = SettingType;

const std::vector<SettingSpec>& table() {
  static const std::vector<SettingSpec> kSettings = {
      // --- general ---------------------------------------------------------------------------
      {"state_dir", T::kString, ".hrflow",
       "Directory holding hrflow's state: stream log, lake, warehouse, managed PostgreSQL, run history."},
      {"log_level", T::kEnum, "info", "Verbosity of log messages on stderr.",
       {"trace", "debug", "info", "warn", "error"}},
      {"seed", T::kInt, "42", "Random seed for generators and the simulator; same seed, same data.", {}, 0,
       4294967295.0},

      // --- warehouse -------------------------------------------------------------------------
      {"warehouse.path", T::kString, "{state_dir}/warehouse.duckdb",
       "DuckDB file of the warehouse (schemas raw, staging, serving). One process writes it."},
      {"warehouse.threads", T::kInt, "0", "DuckDB worker threads; 0 = one per core.", {}, 0, 256},
      {"warehouse.memory_limit", T::kString, "",
       "DuckDB memory limit such as '4GB'; empty = DuckDB's default (80% of RAM)."},

      // --- operational database --------------------------------------------------------------
      {"oltp.url", T::kString, "",
       "PostgreSQL connection URL of the operational database (e.g. an RDS instance). Empty = a "
       "private PostgreSQL managed by hrflow under {state_dir}/postgres.",
       {}, 0, 0, "HRFLOW_OLTP_URL"},
      {"oltp.port", T::kInt, "54329", "Port of the managed PostgreSQL (loopback only).", {}, 1024, 65535},
      {"oltp.database", T::kString, "hrflow", "Database name used in the managed PostgreSQL."},

      // --- stream ----------------------------------------------------------------------------
      {"stream.topic", T::kString, "hr-data-topic", "Topic (Kafka) or log name (embedded) of readings."},
      {"stream.partitions", T::kInt, "6", "Partitions of the topic; records are placed by key (user id).",
       {}, 1, 1024},
      {"stream.retention", T::kDuration, "7d", "How long records are kept in the stream."},
      {"stream.retention_bytes", T::kBytes, "0", "Per-partition size cap of the embedded log; 0 = none."},
      {"stream.consumer_group", T::kString, "hrflow-sink", "Consumer group of `hrflow sink`."},
      {"stream.log.dir", T::kString, "{state_dir}/stream", "Directory of the embedded stream log."},
      {"stream.log.segment_bytes", T::kBytes, "128MiB", "Size at which a log segment file is rolled."},
      {"stream.log.fsync", T::kEnum, "batch",
       "When the embedded log fsyncs: after every append batch, after every record, or never (OS decides).",
       {"batch", "always", "never"}},
      {"stream.log.compression", T::kEnum, "zstd",
       "Compression of each batch of the embedded log; zstd keeps the disk from being the limit.",
       {"zstd", "none"}},
      {"stream.kafka.bootstrap_servers", T::kString, "",
       "Kafka bootstrap servers. Set = use this Kafka cluster instead of the embedded log.", {}, 0, 0,
       "HRFLOW_KAFKA_BOOTSTRAP_SERVERS"},
      {"stream.kafka.properties", T::kMap, "",
       "Extra librdkafka properties passed through (e.g. security.protocol, sasl.mechanisms). "
       "Put secrets such as sasl.password in HRFLOW_KAFKA_SASL_PASSWORD instead."},
      {"stream.kafka.sasl_password", T::kString, "", "SASL password for the Kafka cluster.", {}, 0, 0,
       "HRFLOW_KAFKA_SASL_PASSWORD", true},
      {"stream.kafka.create_topic", T::kBool, "true", "Create the topic when missing (if the cluster allows)."},
      {"stream.kafka.assignment", T::kString, "group",
       "Which partitions `hrflow sink` reads. `group`: join stream.consumer_group, which shares the topic's "
       "partitions among the sink processes and moves them when one stops (brokers wait a few seconds before "
       "the first assignment). `all`: read every partition without joining (one sink process, no wait). A "
       "list such as `0-5,9`: read these partitions without joining (one sink per disjoint list). Positions "
       "are committed to stream.consumer_group in every case; don't mix `group` and lists in one group."},

      // --- simulator -------------------------------------------------------------------------
      {"simulator.ground_truth", T::kString, "{state_dir}/ground-truth.json",
       "Where `hrflow produce` writes the effects the simulator planted (JSON), for checking the warehouse."},

      // --- import ----------------------------------------------------------------------------
      {"import.dir", T::kString, "{state_dir}/import",
       "State of `hrflow import`: the journal of delivered readings (what makes re-imports and restarts "
       "send nothing twice), errors files, and the temporary spill of an import in progress."},
      {"import.buffer", T::kBytes, "1MiB", "Read buffer of an import: its memory for the input, whatever the file size.",
       {}, 4096, 1073741824.0},
      {"import.batch", T::kInt, "20000",
       "Readings per batch sent to the stream; each is journaled before and marked done after it is acknowledged.",
       {}, 1, 10000000},
      {"privacy.pseudonym_key", T::kString, "",
       "Key of the keyed hash (HMAC-SHA-256) that replaces participant labels and FHIR Patient ids in imports and "
       "exports; empty = labels are kept as given.",
       {}, 0, 0, "HRFLOW_PSEUDONYM_KEY", true},

      // --- lake ------------------------------------------------------------------------------
      {"lake.url", T::kString, "file://{state_dir}/lake",
       "Lake location: file:///absolute/path, file://relative/path or s3://bucket/prefix."},
      {"lake.compression", T::kEnum, "none", "Compression of lake files.", {"none", "gzip", "zstd"}},
      {"lake.s3.endpoint", T::kString, "",
       "S3 endpoint URL for S3-compatible servers (e.g. http://127.0.0.1:9000); empty = AWS.", {}, 0, 0,
       "AWS_ENDPOINT_URL"},
      {"lake.s3.region", T::kString, "us-east-1", "S3 region used for request signing.", {}, 0, 0,
       "AWS_REGION"},
      {"lake.s3.access_key_id", T::kString, "", "S3 access key id.", {}, 0, 0, "AWS_ACCESS_KEY_ID", true},
      {"lake.s3.secret_access_key", T::kString, "", "S3 secret access key.", {}, 0, 0,
       "AWS_SECRET_ACCESS_KEY", true},
      {"lake.s3.session_token", T::kString, "", "S3 session token of temporary credentials.", {}, 0, 0,
       "AWS_SESSION_TOKEN", true},
      {"lake.s3.path_style", T::kBool, "true", "Address buckets by path (http://host/bucket/key)."},
      {"lake.s3.timeout", T::kDuration, "60s",
       "Time limit of one S3 request attempt (large uploads get more in proportion to their size)."},
      {"lake.s3.max_attempts", T::kInt, "5",
       "Attempts per S3 request; retries back off exponentially on 5xx, throttling and timeouts.", {}, 1, 100},

      // --- sink ------------------------------------------------------------------------------
      {"sink.flush_size", T::kInt, "100000", "Close a lake file after this many records.", {}, 1, 1e9},
      {"sink.rotate_bytes", T::kBytes, "64MiB", "Close a lake file at this size."},
      {"sink.rotate_interval", T::kDuration, "1h", "Close a lake file when its event-time span reaches this."},
      {"sink.idle_timeout", T::kDuration, "30s", "Close the files of a partition that received nothing for this long."},
      {"sink.max_file_age", T::kDuration, "0s", "Close a partition's open files at most this long (wall clock) after they opened, so new readings reach the lake within seconds (0 = off: files close by size, event-time span or idle time). hrflow serve's own sink uses serve.sink_max_file_age."},
      {"sink.max_open_files", T::kInt, "64", "Open lake files per sink process; the oldest is closed first.",
       {}, 1, 100000},

      // --- sync ------------------------------------------------------------------------------
      {"sync.days_to_sync_if_history_full", T::kInt, "3",
       "When the per-file history is full, files modified within this many days are re-checked.", {}, 1,
       3650},
      {"sync.history_max_files", T::kInt, "10000", "Per-file load history kept before it is compacted.",
       {}, 100, 1e9},
      {"sync.merge_after", T::kDuration, "15m",
       "Merge a closed hour's small lake files (one partition's) into one file this long after the hour ended, once sync has loaded them (0 = never)."},
      {"sync.batch_mb", T::kInt, "256",
       "Lake files are loaded in transactions of about this many MiB (a crash reloads the batch in progress); "
       "a rest under half of it joins the last batch.",
       {}, 1, 65536},
      {"sync.cdc.slot", T::kString, "airbyte_slot", "Logical replication slot of the CDC source."},
      {"sync.cdc.publication", T::kString, "airbyte_publication", "Publication of the CDC source."},

      // --- transform -------------------------------------------------------------------------
      {"transform.project_dir", T::kString, "",
       "Project folder of models, seeds and tests; empty = the built-in heart-rate warehouse."},

      // --- query -----------------------------------------------------------------------------
      {"query.min_cell_users", T::kInt, "11",
       "Small-cell suppression: every aggregate of the semantic layer (dashboard, API, `hrflow query`, CSV "
       "export) hides cells of fewer than this many distinct people, with complementary and differencing "
       "protection (src/query/README.md). 1 turns it off (tests on tiny data only).",
       {}, 1, 100000},

      // --- serve -----------------------------------------------------------------------------
      {"serve.host", T::kString, "127.0.0.1",
       "Address of the web UI and API. Beyond loopback a token (serve.token) is required."},
      {"serve.port", T::kInt, "8080", "Port of the web UI and API.", {}, 1, 65535},
      {"serve.token", T::kString, "", "Access token for the web UI and API.", {}, 0, 0, "HRFLOW_SERVE_TOKEN",
       true},
      {"serve.history_retention", T::kDuration, "30d", "How long run history is kept."},
      {"serve.sink", T::kBool, "true",
       "Run the lake sink inside hrflow serve; turn off when `hrflow sink` runs as its own process."},
      {"serve.sink_max_file_age", T::kDuration, "5s",
       "sink.max_file_age of the sink inside hrflow serve: live readings reach the lake, and then serving.fct_heart_rates, within seconds; sync merges a closed hour's small files (sync.merge_after)."},
      {"serve.sql.port", T::kInt, "5433",
       "Port of the PostgreSQL-protocol SQL endpoint of hrflow serve (psql, JDBC, BI tools); 0 = no endpoint.", {}, 0,
       65535},
      {"serve.sql.host", T::kString, "127.0.0.1",
       "Address of the SQL endpoint. Beyond loopback it needs TLS (serve.sql.tls_cert/tls_key) and passwords."},
      {"serve.sql.users", T::kMap, "",
       "Users of the SQL endpoint and their passwords (SCRAM-SHA-256), e.g. {researcher: secret}. None = any user "
       "name with serve.token as password; no token either = no password (loopback only)."},
      {"serve.sql.tls_cert", T::kString, "", "PEM certificate (chain) of the SQL endpoint; set with tls_key = TLS offered."},
      {"serve.sql.tls_key", T::kString, "", "PEM private key of serve.sql.tls_cert."},
      {"serve.sql.statement_timeout", T::kDuration, "5m",
       "Longest a statement on the SQL endpoint may run before it is cancelled; clients may SET a lower one."},
      {"serve.sql.max_connections", T::kInt, "64", "Clients the SQL endpoint serves at once.", {}, 1, 10000},
  };
  return kSettings;
}
}  // namespace

std::span<const SettingSpec> all_settings() { return table(); }

const SettingSpec* find_setting(std::string_view key) {
  for (const auto& s : table()) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

}  // namespace hrflow
