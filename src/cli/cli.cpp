#include "cli/cli.h"

#include <cstdio>

namespace hrflow {

int report_error(const Error& error) {
  fmt::print(stderr, "error: {}{}\n", error.message, error.retriable ? " (temporary; retrying may help)" : "");
  return kExitFailure;
}

}  // namespace hrflow
