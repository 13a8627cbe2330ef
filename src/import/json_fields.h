// Reading optional fields of a simdjson DOM element: what the JSON readers (FHIR, OMH) share.
#pragma once

#include <simdjson.h>

#include <string_view>

namespace hrflow::import {

// The string member `key` of `e`, or empty when it is missing or not a string.
inline std::string_view json_str(simdjson::dom::element e, const char* key) {
  std::string_view v;
  if (e[key].get(v) != simdjson::SUCCESS) return {};
  return v;
}

}  // namespace hrflow::import
