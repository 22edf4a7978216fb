// Result<T>: the value of an operation whose failure depends on its input
// (a bad token, a vanished file, a malformed request). Same member names as
// C++23's std::expected so the switch is mechanical once the toolchain has it.
// Environmental failures inside coroutines may throw instead; bugs assert.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace tandem {

enum class ErrorCode {
  kInvalidArgument,     // the caller gave something malformed
  kNotFound,            // the named thing does not exist
  kAlreadyExists,       // the thing to create is already there
  kFailedPrecondition,  // valid request, wrong state (e.g. read replica asked for a write token)
  kUnsupported,         // understood but not implemented (e.g. quic/ addresses)
  kCorrupt,             // stored or received bytes fail verification
  kIo,                  // the filesystem or database refused
  kInternal,            // should not happen; a bug worth reporting
};

const char* ErrorCodeName(ErrorCode code);

// A failure with a message for humans: what was wrong and what to do.
// Never contains key material.
struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
};

inline Error MakeError(ErrorCode code, std::string message) { return Error{code, std::move(message)}; }

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : state_(std::move(error)) {}  // NOLINT

  bool has_value() const { return state_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { assert(has_value()); return std::get<0>(state_); }
  const T& value() const& { assert(has_value()); return std::get<0>(state_); }
  T&& value() && { assert(has_value()); return std::get<0>(std::move(state_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  template <typename U>
  T value_or(U&& fallback) const& { return has_value() ? value() : static_cast<T>(std::forward<U>(fallback)); }
  template <typename U>
  T value_or(U&& fallback) && {
    return has_value() ? std::move(*this).value() : static_cast<T>(std::forward<U>(fallback));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { assert(!has_value()); return std::get<1>(state_); }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { assert(!ok_); return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

inline Result<void> Ok() { return Result<void>(); }

}  // namespace tandem

#define TANDEM_CONCAT_INNER(a, b) a##b
#define TANDEM_CONCAT(a, b) TANDEM_CONCAT_INNER(a, b)

// Returns the error of `expr` (a Result) from the enclosing function.
#define TANDEM_RETURN_IF_ERROR(expr)                        \
  do {                                                      \
    auto tandem_status_ = (expr);                           \
    if (!tandem_status_) return tandem_status_.error();     \
  } while (0)

// Declares `lhs` from the value of `expr`, or returns its error.
#define TANDEM_ASSIGN_OR_RETURN(lhs, expr) \
  TANDEM_ASSIGN_OR_RETURN_IMPL(TANDEM_CONCAT(tandem_result_, __LINE__), lhs, expr)
#define TANDEM_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp) return tmp.error();                      \
  lhs = std::move(tmp).value()
