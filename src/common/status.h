// The one error model of hrflow.
//
// Expected failures travel as values: `Status` (no payload) or `Result<T>` (a value or an Error).
// Every Error says whether trying again can help (`retriable`): a broker that is down or an S3 5xx
// is retriable; a bad configuration value or a corrupt record is not. Messages name the input, the
// place (file:line, topic/partition/offset, table) and what to do about it.
// Exceptions are reserved for setup that cannot continue (and are turned into messages by the CLI).
#pragma once

#include <fmt/format.h>

#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace hrflow {

enum class ErrorKind {
  kInvalidArgument,  // the user gave something we cannot use
  kNotFound,         // a file, table, topic or object is missing
  kAlreadyExists,    // refusing to clobber
  kIo,               // disk, network or service failure
  kCorrupt,          // data failed a checksum or could not be parsed
  kUnavailable,      // a service is not reachable (yet)
  kInternal,         // a bug: an invariant does not hold
};

struct Error {
  ErrorKind kind = ErrorKind::kInternal;
  std::string message;
  bool retriable = false;

  // Prefix context to the message: "loading users.csv: <original message>".
  Error with_context(std::string_view context) const {
    return Error{kind, fmt::format("{}: {}", context, message), retriable};
  }
};

template <typename... Args>
Error make_error(ErrorKind kind, fmt::format_string<Args...> f, Args&&... args) {
  return Error{kind, fmt::format(f, std::forward<Args>(args)...),
               kind == ErrorKind::kUnavailable || kind == ErrorKind::kIo};
}

template <typename... Args>
Error invalid_argument(fmt::format_string<Args...> f, Args&&... args) {
  return Error{ErrorKind::kInvalidArgument, fmt::format(f, std::forward<Args>(args)...), false};
}

template <typename... Args>
Error io_error(fmt::format_string<Args...> f, Args&&... args) {
  return Error{ErrorKind::kIo, fmt::format(f, std::forward<Args>(args)...), true};
}

template <typename... Args>
Error corrupt(fmt::format_string<Args...> f, Args&&... args) {
  return Error{ErrorKind::kCorrupt, fmt::format(f, std::forward<Args>(args)...), false};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}    // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Error error) : error_(std::move(error)) {}  // NOLINT(google-explicit-constructor)
  static Status ok_status() { return {}; }

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return *error_; }

 private:
  std::optional<Error> error_;
};

// Propagate a failed Status/Result from the current function.
#define HRFLOW_TRY(expr)                                  \
  do {                                                    \
    auto&& hrflow_try_ = (expr);                          \
    if (!hrflow_try_.ok()) return hrflow_try_.error();    \
  } while (0)

#define HRFLOW_CONCAT_INNER(a, b) a##b
#define HRFLOW_CONCAT(a, b) HRFLOW_CONCAT_INNER(a, b)
#define HRFLOW_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.error();                 \
  lhs = std::move(tmp).value()
// HRFLOW_ASSIGN_OR_RETURN(auto x, f()); — bind the value or return the error.
#define HRFLOW_ASSIGN_OR_RETURN(lhs, expr) \
  HRFLOW_ASSIGN_OR_RETURN_IMPL(HRFLOW_CONCAT(hrflow_result_, __LINE__), lhs, expr)

}  // namespace hrflow
