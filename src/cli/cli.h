// The contract of the command adapters in src/cli: each adds its subcommands to the CLI11 app and
// registers, per subcommand, the action to run once the command line and the configuration have been
// read. Actions return the process exit code. Stage libraries never include this header.
//
// Exit codes: 0 success, 1 failure, 2 usage error, 130 interrupted.
#pragma once

#include <CLI/CLI.hpp>

#include <atomic>
#include <functional>
#include <string>

#include "common/config.h"
#include "common/status.h"
#include "common/stop.h"

namespace hrflow {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitInterrupted = 130;

struct CliContext {
  std::string config_path = "hrflow.yml";
  bool config_explicit = false;  // --config given: the file must exist
  Config config = Config::defaults();
  std::function<int()> action;   // set by the selected subcommand's callback
};

// Run `fn` when `cmd` is the command the user chose (after the configuration is loaded).
inline void on_run(CLI::App* cmd, CliContext& ctx, std::function<int()> fn) {
  cmd->callback([&ctx, fn = std::move(fn)] { ctx.action = fn; });
}

// Print an error the way every command does, and return the failure exit code.
int report_error(const Error& error);

}  // namespace hrflow
