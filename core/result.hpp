#pragma once

#include <iosfwd>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace meldestelle {

// A machine-readable error code: stable snake_case text for logs, metrics and the wire (the
// "code" of a JSON error). Each code is a named constant declared once, next to the domain that
// raises it (db::kUnavailable in core/db.hpp, webform::errors in channels/webform/intake.hpp, …),
// and compared by that name; a code cannot be made up from a string literal in passing.
class ErrorCode {
 public:
  constexpr ErrorCode() = default;
  constexpr explicit ErrorCode(std::string_view name) : name_(name) {}
  constexpr std::string_view name() const { return name_; }
  std::string str() const { return std::string(name_); }
  constexpr bool empty() const { return name_.empty(); }
  friend constexpr bool operator==(ErrorCode a, ErrorCode b) { return a.name_ == b.name_; }
  friend constexpr bool operator!=(ErrorCode a, ErrorCode b) { return !(a == b); }

 private:
  std::string_view name_;
};

// Writes the code's name (logs, test output).
std::ostream& operator<<(std::ostream& out, ErrorCode code);

// An error as a value. `code` is machine-readable, `message` is meant for the client (German for
// citizens where the caller says so), `detail` only for the log.
struct Error {
  ErrorCode code;
  std::string message;
  std::string detail;
};

// Minimal Result<T>: std::expected is not available to the tooling here (style.md).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const Error& error() const { return std::get<1>(v_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Error> v_;
};

struct Ok {};
using Status = Result<Ok>;

inline Error MakeError(ErrorCode code, std::string message, std::string detail = {}) {
  return Error{code, std::move(message), std::move(detail)};
}

}  // namespace meldestelle
