// Helpers shared by the project loader (project.cpp) and the rendering context (context.cpp);
// internal to the transform stage.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "transform/project.h"
#include "transform/template.h"

namespace hrflow::transform::detail {

// Config keys dbt accepts in config() / config: blocks.
extern const std::vector<std::string> kConfigKeys;
bool is_config_key(const std::string& k);
// "did you mean ...?" text for an unknown `key` among `known`.
std::string suggest(const std::string& key, const std::vector<std::string>& known);
// Merge a config value: tags accumulate, meta merges, anything else replaces.
void merge_config(std::map<std::string, Value>& cfg, const std::string& key, const Value& v);
// The relation object ({{ this }}, ref(), source()) of a node.
Value relation_value(const Node& n);
// Helpers of dbt and dbt_utils that models call, written for DuckDB (context.cpp).
void install_static_globals(Environment& env);

}  // namespace hrflow::transform::detail
