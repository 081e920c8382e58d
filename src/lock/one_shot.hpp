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

#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

#include "weft/io.hpp"
#include "weft/task.hpp"

namespace weft::lock::detail {

// fd_slot<T>: as one_shot, for values set by threads that are not the
// runtime's own (a store's watcher thread, a user thread): the setter only
// writes an eventfd, and the waiter is woken by the runtime's poller. A
// foreign thread thus never touches the runtime, which may be shutting down
// the moment the woken task finishes.
template <typename T>
class fd_slot {
 public:
  fd_slot() : fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}
  ~fd_slot() {
    if (fd_ >= 0) ::close(fd_);
  }
  fd_slot(const fd_slot&) = delete;
  fd_slot& operator=(const fd_slot&) = delete;

  // False when the eventfd could not be created (out of descriptors).
  bool valid() const noexcept { return fd_ >= 0; }

  bool set(T value) {
    {
      std::lock_guard guard(mutex_);
      if (value_) return false;
      value_.emplace(std::move(value));
    }
    std::uint64_t one = 1;
    (void)!::write(fd_, &one, sizeof one);
    return true;
  }

  task<T> wait() {
    for (;;) {
      {
        std::lock_guard guard(mutex_);
        if (value_) co_return std::move(*value_);
      }
      (void)co_await weft::readable(fd_);
      std::uint64_t drained = 0;
      (void)!::read(fd_, &drained, sizeof drained);
    }
  }

 private:
  std::mutex mutex_;
  std::optional<T> value_;
  int fd_;
};

}  // namespace weft::lock::detail
