// weft::result<T>: the value of an operation that can fail in an expected way.
//
// Expected failures (a closed channel, a timeout, a contended lock, an
// unreachable store, a lost lease, cancellation) are values, not exceptions.
// `result<T>` holds either a T or a `weft::error`; `result<void>` holds
// success or an error. An `error` carries a machine-readable `errc` and a
// human-readable message that says what happened and, where it can, what to do.
//
// Thread-safety: plain value types; the usual rules for std types apply.
#pragma once

#include <cassert>
#include <exception>
#include <new>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>

namespace weft {

// The kinds of expected failure. Stable: scripts and exit codes map onto them.
enum class errc : int {
  ok = 0,
  closed,             // the channel (or store) is closed
  full,               // a non-blocking send found no room
  empty,              // a non-blocking receive found nothing
  timeout,            // a wait ran past its deadline
  canceled,           // a context was cancelled
  deadline_exceeded,  // a context's deadline passed
  contended,          // a try_ acquire found the lock held
  unreachable,        // the store or peer could not be reached
  lease_lost,         // the lease can no longer be trusted
  invalid_argument,   // bad input from the caller
  not_found,          // no such name, key or node
  permission_denied,  // the OS or the store refused access
  protocol,           // the peer answered something we do not understand
  io,                 // an operating-system I/O error
  unsupported,        // the store or platform cannot do this
  internal,           // a bug in weft: please report it
};

// Short, stable name of an errc ("timeout", "lease_lost", ...).
std::string_view to_string(errc code) noexcept;

const std::error_category& weft_category() noexcept;

inline std::error_code make_error_code(errc code) noexcept {
  return {static_cast<int>(code), weft_category()};
}

// An expected failure: what kind, and a message for people.
class error {
 public:
  error() noexcept = default;
  explicit error(errc code) noexcept : code_(code) {}
  error(errc code, std::string message) noexcept : code_(code), message_(std::move(message)) {}

  errc code() const noexcept { return code_; }
  // The message given at construction, or the errc's name when there is none.
  std::string_view message() const noexcept {
    return message_.empty() ? to_string(code_) : std::string_view(message_);
  }
  std::error_code error_code() const noexcept { return make_error_code(code_); }

  friend bool operator==(const error& a, errc b) noexcept { return a.code_ == b; }

 private:
  errc code_ = errc::internal;
  std::string message_;
};

// Thrown only by result::value() on an error: a programming mistake, since
// callers are expected to check first.
class bad_result_access : public std::exception {
 public:
  explicit bad_result_access(weft::error e) : error_(std::move(e)), what_(error_.message()) {}
  const char* what() const noexcept override { return what_.c_str(); }
  const weft::error& error() const noexcept { return error_; }

 private:
  weft::error error_;
  std::string what_;
};

// Tag for constructing a failed result: `return weft::fail(errc::timeout, "...")`.
struct failure {
  error value;
};
inline failure fail(errc code, std::string message = {}) {
  return failure{error(code, std::move(message))};
}
inline failure fail(error e) { return failure{std::move(e)}; }

template <typename T>
class [[nodiscard]] result {
  static_assert(!std::is_reference_v<T>, "result<T&> is not supported");
  static_assert(!std::is_same_v<std::remove_cv_t<T>, weft::error>, "result<error> is ambiguous");

 public:
  using value_type = T;

  template <typename U = T>
    requires std::is_constructible_v<T, U&&> &&
             (!std::is_same_v<std::remove_cvref_t<U>, result>) &&
             (!std::is_same_v<std::remove_cvref_t<U>, failure>)
  result(U&& value) noexcept(std::is_nothrow_constructible_v<T, U&&>)  // NOLINT: implicit by design
      : has_value_(true) {
    ::new (&storage_.value) T(std::forward<U>(value));
  }
  result(failure f) noexcept : has_value_(false) {  // NOLINT: implicit by design
    ::new (&storage_.failed) weft::error(std::move(f.value));
  }
  result(const result& other) : has_value_(other.has_value_) {
    if (has_value_) ::new (&storage_.value) T(other.storage_.value);
    else ::new (&storage_.failed) weft::error(other.storage_.failed);
  }
  result(result&& other) noexcept(std::is_nothrow_move_constructible_v<T>)
      : has_value_(other.has_value_) {
    if (has_value_) ::new (&storage_.value) T(std::move(other.storage_.value));
    else ::new (&storage_.failed) weft::error(std::move(other.storage_.failed));
  }
  result& operator=(result other) noexcept(std::is_nothrow_move_constructible_v<T>) {
    destroy();
    has_value_ = other.has_value_;
    if (has_value_) ::new (&storage_.value) T(std::move(other.storage_.value));
    else ::new (&storage_.failed) weft::error(std::move(other.storage_.failed));
    return *this;
  }
  ~result() { destroy(); }

  bool has_value() const noexcept { return has_value_; }
  explicit operator bool() const noexcept { return has_value_; }

  T& value() & {
    if (!has_value_) throw bad_result_access(storage_.failed);
    return storage_.value;
  }
  const T& value() const& {
    if (!has_value_) throw bad_result_access(storage_.failed);
    return storage_.value;
  }
  T&& value() && {
    if (!has_value_) throw bad_result_access(storage_.failed);
    return std::move(storage_.value);
  }
  template <typename U>
  T value_or(U&& fallback) const& {
    return has_value_ ? storage_.value : static_cast<T>(std::forward<U>(fallback));
  }

  T& operator*() & noexcept { assert(has_value_); return storage_.value; }
  const T& operator*() const& noexcept { assert(has_value_); return storage_.value; }
  T&& operator*() && noexcept { assert(has_value_); return std::move(storage_.value); }
  T* operator->() noexcept { assert(has_value_); return &storage_.value; }
  const T* operator->() const noexcept { assert(has_value_); return &storage_.value; }

  const weft::error& error() const& noexcept { assert(!has_value_); return storage_.failed; }
  weft::error&& error() && noexcept { assert(!has_value_); return std::move(storage_.failed); }

 private:
  void destroy() noexcept {
    if (has_value_) storage_.value.~T();
    else storage_.failed.~error();
  }
  union storage {
    storage() {}
    ~storage() {}
    T value;
    weft::error failed;
  } storage_;
  bool has_value_;
};

template <>
class [[nodiscard]] result<void> {
 public:
  using value_type = void;

  result() noexcept = default;
  result(failure f) noexcept : error_(std::move(f.value)), has_value_(false) {}  // NOLINT

  bool has_value() const noexcept { return has_value_; }
  explicit operator bool() const noexcept { return has_value_; }
  void value() const {
    if (!has_value_) throw bad_result_access(error_);
  }
  const weft::error& error() const& noexcept { assert(!has_value_); return error_; }
  weft::error&& error() && noexcept { assert(!has_value_); return std::move(error_); }

 private:
  weft::error error_;
  bool has_value_ = true;
};

}  // namespace weft

template <>
struct std::is_error_code_enum<weft::errc> : std::true_type {};
