// one_shot<T>: a value delivered once from any thread to one awaiting task.
// The first set() wins; later values are dropped (a dropped lease releases
// itself), which is how a grant racing a cancellation never leaks a lock.
// The waiter is resumed through its scheduler, never inline on the setter's
// thread (so store threads never run user code), except off a runtime.
// Internal to weft_lock and its backends.
#pragma once

#include <coroutine>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "weft/detail/scheduler.hpp"

namespace weft::lock::detail {

template <typename T>
class one_shot {
 public:
  // True when this call delivered the value.
  bool set(T value) {
    std::coroutine_handle<> waiter;
    weft::detail::scheduler* where = nullptr;
    {
      std::lock_guard guard(mutex_);
      if (value_) return false;
      value_.emplace(std::move(value));
      waiter = std::exchange(waiter_, {});
      where = scheduler_;
    }
    if (waiter) {
      if (where) weft::detail::schedule(where, waiter);
      else waiter.resume();
    }
    return true;
  }

  bool ready() const {
    std::lock_guard guard(mutex_);
    return value_.has_value();
  }

  auto wait() noexcept {
    struct awaiter {
      one_shot* self;
      bool await_ready() const { return self->ready(); }
      bool await_suspend(std::coroutine_handle<> h) {
        std::lock_guard guard(self->mutex_);
        if (self->value_) return false;
        self->waiter_ = h;
        self->scheduler_ = weft::detail::current_scheduler();
        return true;
      }
      T await_resume() {
        std::lock_guard guard(self->mutex_);
        return std::move(*self->value_);
      }
    };
    return awaiter{this};
  }

 private:
  mutable std::mutex mutex_;
  std::optional<T> value_;
  std::coroutine_handle<> waiter_;
  weft::detail::scheduler* scheduler_ = nullptr;
};

// A lock name made safe for messages: control bytes escaped, long names cut.
inline std::string printable(std::string_view name) {
  static constexpr char hex[] = "0123456789abcdef";
  std::string out = "\"";
  for (char c : name.substr(0, 80)) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == '"' || c == '\\') {
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 15];
    } else {
      out += c;
    }
  }
  if (name.size() > 80) out += "...";
  return out + "\"";
}

}  // namespace weft::lock::detail
