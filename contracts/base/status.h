// The error model shared by every Itaku layer: a Status is ok or carries one
// line a person can act on (which file, line, contractor or clause).
// Result<T> is a value or a Status. Neither throws.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "contracts/base/names.h"

namespace itaku {

// What kind of failure a Status is, so that "refused" is one thing whoever
// says it: the CLI and the staff API map kinds, not message texts.
enum class ErrorKind {
  kInvalidInput,  // the request or its input is wrong: a flag, a CSV, a TOML file
  kRefused,       // a rule says no: role, NDA, state, clause (policies/)
  kNotFound,      // the thing named is not on record
  kConflict,      // it exists already, or another change came first
  kIo,            // a file or the store could not be read or written
  kNetwork,       // a peer (SFTP server, SMTP server) could not be reached or failed
  kInternal,      // a defect: what should not happen did
};

// "invalid-input", "refused", "not-found", "conflict", "io", "network",
// "internal": how JSON output names a kind.
constexpr std::string_view ToString(ErrorKind kind) {
  constexpr std::string_view kNames[] = {"invalid-input", "refused", "not-found", "conflict", "io",
                                         "network",       "internal"};
  return NameOf(kNames, kind);
}

class Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  // Error() is invalid input, the most common kind; the others say theirs.
  static Status Error(std::string message) { return Make(ErrorKind::kInvalidInput, message); }
  static Status Refused(std::string message) { return Make(ErrorKind::kRefused, message); }
  static Status NotFound(std::string message) { return Make(ErrorKind::kNotFound, message); }
  static Status Conflict(std::string message) { return Make(ErrorKind::kConflict, message); }
  static Status Io(std::string message) { return Make(ErrorKind::kIo, message); }
  static Status Network(std::string message) { return Make(ErrorKind::kNetwork, message); }
  static Status Internal(std::string message) { return Make(ErrorKind::kInternal, message); }
  static Status Make(ErrorKind kind, std::string message) {
    return Status(kind, std::move(message));
  }

  bool ok() const { return !message_.has_value(); }
  // Meaningless when ok().
  ErrorKind kind() const { return kind_; }
  // Empty when ok().
  const std::string& message() const {
    static const std::string kEmpty;
    return message_ ? *message_ : kEmpty;
  }
  // The same kind with another message (e.g. a prefix naming the file).
  Status WithMessage(std::string message) const { return Make(kind_, std::move(message)); }

 private:
  Status(ErrorKind kind, std::string message) : kind_(kind), message_(std::move(message)) {}
  ErrorKind kind_ = ErrorKind::kInternal;
  std::optional<std::string> message_;
};

template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}       // NOLINT: implicit by design
  Result(Status error) : v_(std::move(error)) {}  // NOLINT: must not be ok()
  static Result Error(std::string message) { return Result(Status::Error(std::move(message))); }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T& value() & { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  // The value, or `fallback` when this holds an error.
  template <typename U>
  T value_or(U&& fallback) const& {
    return ok() ? value() : static_cast<T>(std::forward<U>(fallback));
  }
  const T* operator->() const { return &std::get<T>(v_); }
  T* operator->() { return &std::get<T>(v_); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }
  ErrorKind kind() const { return ok() ? ErrorKind::kInternal : std::get<Status>(v_).kind(); }
  const std::string& message() const {
    static const std::string kEmpty;
    return ok() ? kEmpty : std::get<Status>(v_).message();
  }

 private:
  std::variant<T, Status> v_;
};

}  // namespace itaku
