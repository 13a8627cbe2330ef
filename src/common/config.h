// hrflow's configuration: every setting declared once (settings.cpp) with type, default,
// description and, where it applies, range, choices and environment variable.
//
// Sources, later wins: the declared default, then `hrflow.yml` (nested YAML maps; dotted keys name
// the leaves), then the setting's environment variable. Secrets are read only from the environment
// and never printed. Loading rejects unknown keys, wrong types and out-of-range values with
// file:line:column and the valid choices.
//
// A Config is immutable after load and safe to read from several threads.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace hrflow {

enum class SettingType { kString, kInt, kDouble, kBool, kEnum, kDuration, kBytes, kMap };

struct SettingSpec {
  std::string_view key;            // dotted path, e.g. "stream.kafka.bootstrap_servers"
  SettingType type;
  std::string_view default_value;  // as it would be written in YAML; "{state_dir}" expands
  std::string_view description;
  std::vector<std::string_view> choices = {};  // kEnum only
  double min = 0, max = 0;                     // numeric range when min < max
  std::string_view env = {};                   // environment variable that overrides the file
  bool secret = false;                         // environment only; masked when printed
};

// The table of every setting (settings.cpp).
std::span<const SettingSpec> all_settings();
const SettingSpec* find_setting(std::string_view key);

// Where a value came from, for `hrflow config`.
enum class SettingSource { kDefault, kFile, kEnvironment };

class Config {
 public:
  // Load `path`. When `explicit_path` is false and the file does not exist, all defaults apply.
  static Result<Config> load(const std::filesystem::path& path, bool explicit_path);
  // Parse YAML text (tests, and load()). `origin` names the text in error messages.
  static Result<Config> parse(std::string_view yaml_text, std::string_view origin);
  // All defaults plus environment.
  static Config defaults();

  // Typed accessors. Asking for an undeclared key or the wrong type is a programming error (throws).
  std::string get_string(std::string_view key) const;
  int64_t get_int(std::string_view key) const;
  double get_double(std::string_view key) const;
  bool get_bool(std::string_view key) const;
  int64_t get_duration_ms(std::string_view key) const;
  int64_t get_bytes(std::string_view key) const;
  std::map<std::string, std::string> get_map(std::string_view key) const;
  // A path setting, relative paths resolved against the working directory at load time.
  std::filesystem::path get_path(std::string_view key) const;

  // Override a value programmatically (CLI flags, tests). Validated like file values.
  Status set(std::string_view key, std::string_view value);

  SettingSource source(std::string_view key) const;
  // The file the configuration was read from; empty when every value is a default or from the environment.
  const std::string& source_path() const { return source_path_; }
  // The effective configuration as YAML, secrets masked, each line commented with its source.
  std::string to_display_yaml() const;
  // The generated reference (docs/configuration.md).
  static std::string reference_markdown();

 private:
  std::string raw(std::string_view key, SettingType expected) const;
  std::map<std::string, std::string, std::less<>> values_;
  std::map<std::string, std::map<std::string, std::string>, std::less<>> maps_;
  std::map<std::string, SettingSource, std::less<>> sources_;
  std::string source_path_;
};

// Value parsers shared with CLI flags ("30s", "5m", "7d", "250ms"; "64MiB", "1GB").
Result<int64_t> parse_duration_ms(std::string_view text);
Result<int64_t> parse_bytes(std::string_view text);
// A URL with its password replaced by "****" (postgresql://u:****@h/db).
std::string mask_url_password(std::string_view url);

}  // namespace hrflow
