// Selecting nodes of a project with dbt's selector syntax (`--select`, `--exclude`), see selector.cpp.
// Pure function of the project; thread-safe.
#pragma once

#include <set>
#include <string>
#include <vector>

#include "common/status.h"
#include "transform/project.h"

namespace hrflow::transform {

// Resolve selectors to unique ids (models, seeds, tests; tests follow their models "eagerly").
// Each entry of `select`/`exclude` is one space-separated group; no selection means every node.
Result<std::set<std::string>> select_nodes(const Project& project, const std::vector<std::string>& select,
                                           const std::vector<std::string>& exclude, bool include_tests);

}  // namespace hrflow::transform
