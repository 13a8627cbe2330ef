#include "common/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace hrflow {
namespace {

std::string_view type_name(SettingType t) {
  switch (t) {
    case SettingType::kString: return "string";
    case SettingType::kInt: return "integer";
    case SettingType::kDouble: return "number";
    case SettingType::kBool: return "boolean";
    case SettingType::kEnum: return "one of";
    case SettingType::kDuration: return "duration";
    case SettingType::kBytes: return "size";
    case SettingType::kMap: return "map";
  }
  return "?";
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

Result<int64_t> parse_int(std::string_view text) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || p != text.data() + text.size()) return invalid_argument("not an integer");
  return v;
}

Result<double> parse_double(std::string_view text) {
  std::string s(text);
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v)) return invalid_argument("not a number");
  return v;
}

Result<bool> parse_bool(std::string_view text) {
  auto l = lower(text);
  if (l == "true" || l == "yes" || l == "on" || l == "1") return true;
  if (l == "false" || l == "no" || l == "off" || l == "0") return false;
  return invalid_argument("not a boolean");
}

// Split "30s" into (30, "s").
Result<std::pair<double, std::string>> number_and_unit(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
  if (i == 0) return invalid_argument("expected a number first");
  auto n = parse_double(text.substr(0, i));
  if (!n.ok()) return n.error();
  std::string unit = lower(text.substr(i));
  unit.erase(std::remove(unit.begin(), unit.end(), ' '), unit.end());
  return std::make_pair(*n, unit);
}

// Check `value` against `spec`; returns the normalised text to store.
Result<std::string> validate(const SettingSpec& spec, std::string_view value) {
  auto range_error = [&]() {
    return invalid_argument("'{}' must be between {} and {}, got {}", spec.key, spec.min, spec.max, value);
  };
  switch (spec.type) {
    case SettingType::kString: return std::string(value);
    case SettingType::kInt: {
      auto v = parse_int(value);
      if (!v.ok()) return invalid_argument("'{}' must be an integer, got '{}'", spec.key, value);
      if (spec.min < spec.max && (*v < spec.min || *v > spec.max)) return range_error();
      return std::to_string(*v);
    }
    case SettingType::kDouble: {
      auto v = parse_double(value);
      if (!v.ok()) return invalid_argument("'{}' must be a number, got '{}'", spec.key, value);
      if (spec.min < spec.max && (*v < spec.min || *v > spec.max)) return range_error();
      return std::string(value);
    }
    case SettingType::kBool: {
      auto v = parse_bool(value);
      if (!v.ok()) return invalid_argument("'{}' must be true or false, got '{}'", spec.key, value);
      return std::string(*v ? "true" : "false");
    }
    case SettingType::kEnum: {
      for (auto c : spec.choices) {
        if (c == value) return std::string(value);
      }
      std::string choices;
      for (auto c : spec.choices) choices += (choices.empty() ? "" : ", ") + std::string(c);
      return invalid_argument("'{}' must be one of: {}; got '{}'", spec.key, choices, value);
    }
    case SettingType::kDuration: {
      auto v = parse_duration_ms(value);
      if (!v.ok()) return invalid_argument("'{}': {}", spec.key, v.error().message);
      return std::string(value);
    }
    case SettingType::kBytes: {
      auto v = parse_bytes(value);
      if (!v.ok()) return invalid_argument("'{}': {}", spec.key, v.error().message);
      return std::string(value);
    }
    case SettingType::kMap: return invalid_argument("'{}' must be a map of key: value", spec.key);
  }
  return invalid_argument("unknown type");
}

std::string valid_keys_under(std::string_view prefix) {
  std::string out;
  for (const auto& s : all_settings()) {
    if (prefix.empty() || s.key.starts_with(std::string(prefix) + ".")) {
      out += (out.empty() ? "" : ", ") + std::string(s.key);
    }
  }
  return out;
}

std::string mark(std::string_view origin, const YAML::Node& node) {
  auto m = node.Mark();
  if (m.is_null()) return std::string(origin);
  return fmt::format("{}:{}:{}", origin, m.line + 1, m.column + 1);
}

std::string quote_if_needed(std::string_view v) {
  if (v.empty() || v.find_first_of(":#{}[],&*?|<>=!%@`'\" ") != std::string_view::npos) {
    std::string q = "\"";
    for (char c : v) {
      if (c == '"' || c == '\\') q += '\\';
      q += c;
    }
    return q + "\"";
  }
  return std::string(v);
}

}  // namespace

Result<int64_t> parse_duration_ms(std::string_view text) {
  auto nu = number_and_unit(text);
  if (!nu.ok()) return invalid_argument("duration must look like 250ms, 30s, 5m, 1h or 7d; got '{}'", text);
  auto [n, unit] = *nu;
  double ms = 0;
  if (unit == "ms") ms = n;
  else if (unit == "s" || unit.empty()) ms = n * 1e3;
  else if (unit == "m" || unit == "min") ms = n * 60e3;
  else if (unit == "h") ms = n * 3600e3;
  else if (unit == "d") ms = n * 86400e3;
  else return invalid_argument("duration must look like 250ms, 30s, 5m, 1h or 7d; got '{}'", text);
  return static_cast<int64_t>(ms);
}

Result<int64_t> parse_bytes(std::string_view text) {
  auto nu = number_and_unit(text);
  if (!nu.ok()) return invalid_argument("size must look like 4096, 64KiB, 128MiB or 1GB; got '{}'", text);
  auto [n, unit] = *nu;
  double mult = 0;
  if (unit.empty() || unit == "b") mult = 1;
  else if (unit == "kb") mult = 1e3;
  else if (unit == "kib" || unit == "k") mult = 1024;
  else if (unit == "mb") mult = 1e6;
  else if (unit == "mib" || unit == "m") mult = 1024.0 * 1024;
  else if (unit == "gb") mult = 1e9;
  else if (unit == "gib" || unit == "g") mult = 1024.0 * 1024 * 1024;
  else return invalid_argument("size must look like 4096, 64KiB, 128MiB or 1GB; got '{}'", text);
  return static_cast<int64_t>(n * mult);
}

std::string mask_url_password(std::string_view url) {
  auto scheme = url.find("://");
  auto at = url.rfind('@');
  if (scheme == std::string_view::npos || at == std::string_view::npos || at < scheme) {
    // key=value form: mask password=...
    std::string s(url);
    auto p = s.find("password=");
    if (p != std::string::npos) {
      auto end = s.find(' ', p);
      s.replace(p + 9, (end == std::string::npos ? s.size() : end) - (p + 9), "****");
    }
    return s;
  }
  auto colon = url.find(':', scheme + 3);
  if (colon == std::string_view::npos || colon > at) return std::string(url);
  return std::string(url.substr(0, colon + 1)) + "****" + std::string(url.substr(at));
}

Config Config::defaults() {
  auto c = parse("", "(defaults)");
  if (!c.ok()) throw std::runtime_error(c.error().message);  // environment value invalid
  return std::move(c).value();
}

Result<Config> Config::load(const std::filesystem::path& path, bool explicit_path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    if (explicit_path) {
      return Error{ErrorKind::kNotFound,
                   fmt::format("configuration file '{}' does not exist; create it or drop --config to use "
                               "the defaults (see `hrflow config`)",
                               path.string()),
                   false};
    }
    return parse("", "(defaults)");
  }
  std::ifstream in(path);
  if (!in) return io_error("cannot read configuration file '{}'", path.string());
  std::stringstream ss;
  ss << in.rdbuf();
  auto config = parse(ss.str(), path.string());
  if (config.ok()) config->source_path_ = std::filesystem::absolute(path).string();
  return config;
}

Result<Config> Config::parse(std::string_view yaml_text, std::string_view origin) {
  Config c;
  for (const auto& s : all_settings()) {
    c.sources_[std::string(s.key)] = SettingSource::kDefault;
    if (s.type != SettingType::kMap) c.values_[std::string(s.key)] = std::string(s.default_value);
    else c.maps_[std::string(s.key)] = {};
  }

  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::ParserException& e) {
    return invalid_argument("{}:{}:{}: not valid YAML: {}", origin, e.mark.line + 1, e.mark.column + 1, e.msg);
  }
  if (root && !root.IsNull() && !root.IsMap()) {
    return invalid_argument("{}: the configuration must be a map of settings (key: value)", mark(origin, root));
  }

  // Walk nested maps; a leaf's dotted path must be a declared setting.
  std::vector<std::pair<std::string, YAML::Node>> stack;
  if (root && root.IsMap()) stack.emplace_back("", root);
  while (!stack.empty()) {
    auto [prefix, node] = stack.back();
    stack.pop_back();
    for (auto it = node.begin(); it != node.end(); ++it) {
      // Copies: yaml-cpp's iterator hands out temporaries, references to them would dangle.
      const YAML::Node key_node = it->first;
      const YAML::Node value = it->second;
      std::string key = prefix.empty() ? key_node.as<std::string>() : prefix + "." + key_node.as<std::string>();
      const SettingSpec* spec = find_setting(key);
      if (spec == nullptr) {
        bool is_group = false;
        for (const auto& s : all_settings()) is_group |= s.key.starts_with(key + ".");
        if (is_group && value.IsMap()) {
          stack.emplace_back(key, value);
          continue;
        }
        auto dot = key.rfind('.');
        std::string parent = dot == std::string::npos ? "" : key.substr(0, dot);
        std::string valid = valid_keys_under(parent);
        if (valid.empty()) valid = valid_keys_under("");
        return invalid_argument("{}: unknown setting '{}'; valid settings{}: {}", mark(origin, key_node), key,
                                parent.empty() ? "" : " under '" + parent + "'", valid);
      }
      if (spec->secret) {
        return invalid_argument("{}: '{}' is a secret and is not read from files; set the environment "
                                "variable {} instead",
                                mark(origin, key_node), key, spec->env);
      }
      if (spec->type == SettingType::kMap) {
        if (!value.IsMap() && !value.IsNull()) {
          return invalid_argument("{}: '{}' must be a map of key: value", mark(origin, value), key);
        }
        auto& m = c.maps_[key];
        if (value.IsMap()) {
          for (auto kv = value.begin(); kv != value.end(); ++kv) {
            if (!kv->second.IsScalar()) {
              return invalid_argument("{}: values of '{}' must be plain strings", mark(origin, kv->second), key);
            }
            m[kv->first.as<std::string>()] = kv->second.as<std::string>();
          }
        }
        c.sources_[key] = SettingSource::kFile;
        continue;
      }
      if (!value.IsScalar()) {
        return invalid_argument("{}: '{}' must be a single {} value, not a {}", mark(origin, value), key,
                                type_name(spec->type), value.IsMap() ? "map" : "list");
      }
      auto v = validate(*spec, value.as<std::string>());
      if (!v.ok()) return v.error().with_context(mark(origin, value));
      c.values_[key] = *v;
      c.sources_[key] = SettingSource::kFile;
    }
  }

  for (const auto& s : all_settings()) {
    if (s.env.empty()) continue;
    const char* env = std::getenv(std::string(s.env).c_str());
    if (env == nullptr || *env == '\0') continue;
    auto v = validate(s, env);
    if (!v.ok()) return v.error().with_context(fmt::format("environment variable {}", s.env));
    c.values_[std::string(s.key)] = *v;
    c.sources_[std::string(s.key)] = SettingSource::kEnvironment;
  }
  return c;
}

Status Config::set(std::string_view key, std::string_view value) {
  const SettingSpec* spec = find_setting(key);
  if (spec == nullptr) return invalid_argument("unknown setting '{}'", key);
  auto v = validate(*spec, value);
  if (!v.ok()) return v.error();
  values_[std::string(key)] = *v;
  return {};
}

std::string Config::raw(std::string_view key, SettingType expected) const {
  const SettingSpec* spec = find_setting(key);
  if (spec == nullptr) throw std::logic_error(fmt::format("undeclared setting '{}'", key));
  if (spec->type != expected && !(expected == SettingType::kString && spec->type == SettingType::kEnum)) {
    throw std::logic_error(fmt::format("setting '{}' read with the wrong type", key));
  }
  std::string v = values_.find(key)->second;
  auto pos = v.find("{state_dir}");
  if (pos != std::string::npos) v.replace(pos, 11, values_.find("state_dir")->second);
  return v;
}

std::string Config::get_string(std::string_view key) const { return raw(key, SettingType::kString); }
int64_t Config::get_int(std::string_view key) const { return *parse_int(raw(key, SettingType::kInt)); }
double Config::get_double(std::string_view key) const { return *parse_double(raw(key, SettingType::kDouble)); }
bool Config::get_bool(std::string_view key) const { return *parse_bool(raw(key, SettingType::kBool)); }
int64_t Config::get_duration_ms(std::string_view key) const {
  return *parse_duration_ms(raw(key, SettingType::kDuration));
}
int64_t Config::get_bytes(std::string_view key) const { return *parse_bytes(raw(key, SettingType::kBytes)); }
std::map<std::string, std::string> Config::get_map(std::string_view key) const {
  if (find_setting(key) == nullptr || find_setting(key)->type != SettingType::kMap) {
    throw std::logic_error(fmt::format("setting '{}' is not a map", key));
  }
  return maps_.find(key)->second;
}
std::filesystem::path Config::get_path(std::string_view key) const {
  return std::filesystem::absolute(get_string(key));
}

SettingSource Config::source(std::string_view key) const {
  auto it = sources_.find(key);
  return it == sources_.end() ? SettingSource::kDefault : it->second;
}

std::string Config::to_display_yaml() const {
  std::string out;
  std::vector<std::string> open;  // currently open parent groups
  for (const auto& s : all_settings()) {
    std::string key(s.key);
    std::vector<std::string> parts;
    for (size_t start = 0;;) {
      auto dot = key.find('.', start);
      parts.push_back(key.substr(start, dot - start));
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    size_t common = 0;
    while (common < open.size() && common + 1 < parts.size() && open[common] == parts[common]) ++common;
    open.resize(common);
    for (size_t i = common; i + 1 < parts.size(); ++i) {
      out += std::string(i * 2, ' ') + parts[i] + ":\n";
      open.push_back(parts[i]);
    }
    std::string indent((parts.size() - 1) * 2, ' ');
    auto src = source(key);
    std::string from = src == SettingSource::kDefault ? "default"
                       : src == SettingSource::kFile  ? "file"
                                                      : "env " + std::string(s.env);
    if (s.type == SettingType::kMap) {
      const auto& m = maps_.find(key)->second;
      out += indent + parts.back() + ":" + (m.empty() ? " {}" : "") + "  # " + from + "\n";
      for (const auto& [k, v] : m) {
        bool looks_secret = k.find("password") != std::string::npos || k.find("secret") != std::string::npos ||
                            key == "serve.sql.users";  // user: password
        out += indent + "  " + k + ": " + (looks_secret ? "\"****\"" : quote_if_needed(v)) + "\n";
      }
      continue;
    }
    std::string v = values_.find(key)->second;
    if (s.secret) v = v.empty() ? "" : "****";
    else if (key == "oltp.url") v = mask_url_password(v);
    out += indent + parts.back() + ": " + quote_if_needed(v) + "  # " + from + "\n";
  }
  return out;
}

std::string Config::reference_markdown() {
  std::string out =
      "# Configuration reference\n\n"
      "Generated from the settings table (`src/common/settings.cpp`) by `hrflow config --reference`; do not "
      "edit by hand.\n\n"
      "hrflow reads `hrflow.yml` from the working directory (or the file given with `--config`); a missing "
      "default file means all defaults. Nested keys are written as YAML maps: `stream.kafka.bootstrap_servers` "
      "is\n\n```yaml\nstream:\n  kafka:\n    bootstrap_servers: 127.0.0.1:9092\n```\n\n"
      "Unknown keys, wrong types and out-of-range values are rejected with the file, line and column. "
      "Settings with an environment variable take it over the file; secrets are read only from the "
      "environment and are never printed. `{state_dir}` in a default stands for the value of `state_dir`. "
      "Durations are written like `250ms`, `30s`, `5m`, `1h`, `7d`; sizes like `4096`, `64KiB`, `128MiB`, "
      "`1GB`. `hrflow config` prints the effective configuration.\n\n"
      "| setting | type | default | environment | description |\n|---|---|---|---|---|\n";
  for (const auto& s : all_settings()) {
    std::string type(type_name(s.type));
    if (s.type == SettingType::kEnum) {
      type = "one of ";
      for (size_t i = 0; i < s.choices.size(); ++i) type += (i ? ", " : "") + fmt::format("`{}`", s.choices[i]);
    }
    if (s.min < s.max) type += fmt::format(" ({}..{})", s.min, s.max);
    std::string env = s.env.empty() ? "" : fmt::format("`{}`", s.env);
    if (s.secret) env += " (secret, environment only)";
    std::string def = s.default_value.empty() ? "" : fmt::format("`{}`", s.default_value);
    out += fmt::format("| `{}` | {} | {} | {} | {} |\n", s.key, type, def, env, s.description);
  }
  return out;
}

}  // namespace hrflow
