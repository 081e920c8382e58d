// weft::task<T>: a lazy, move-only coroutine that produces a T.
//
// A task does nothing until it is awaited (or handed to `go`/`block_on`).
// Awaiting resumes the task by symmetric transfer, and the task resumes its
// awaiter the same way when it finishes, so chains of any depth run in
// constant stack. An exception that escapes the task's body is rethrown in
// whoever awaits it.
//
// Frames come from a per-thread recycling allocator (detail/frame_allocator.hpp),
// so creating a task costs no malloc in the steady state.
//
// Thread-safety: a task is a unique owner of its coroutine frame; move it,
// await it once, or drop it. Dropping a task that never started destroys
// the frame without running the body.
#pragma once

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <exception>
#include <new>
#include <type_traits>
#include <utility>

#include "weft/detail/frame_allocator.hpp"

namespace weft {

template <typename T = void>
class task;

namespace detail {

class scheduler;

class task_promise_base {
 public:
  struct final_awaiter {
    bool await_ready() const noexcept { return false; }
    template <typename Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> self) noexcept {
      task_promise_base& promise = self.promise();
      // A spawned task runs the runtime's completion hook (join or free);
      // an awaited one transfers symmetrically back to its awaiter.
      if (promise.spawn.on_final != nullptr) return promise.spawn.on_final(promise, self);
      return promise.continuation_;
    }
    void await_resume() const noexcept {}
  };

  static void* operator new(std::size_t size) { return allocate_frame(size); }
  static void operator delete(void* frame, std::size_t size) noexcept {
    deallocate_frame(frame, size);
  }

  std::suspend_always initial_suspend() const noexcept { return {}; }
  final_awaiter final_suspend() const noexcept { return {}; }
  void set_continuation(std::coroutine_handle<> c) noexcept { continuation_ = c; }
  std::coroutine_handle<> continuation() const noexcept { return continuation_; }

  // State of a task handed to the runtime (spawn/go); unused when awaited.
  // The join state lives in the frame, so a spawned task is one allocation.
  struct spawn_state {
    using final_hook = std::coroutine_handle<> (*)(task_promise_base&,
                                                   std::coroutine_handle<>) noexcept;
    final_hook on_final = nullptr;
    std::atomic<std::uint32_t> join{0};  // see detail/spawn.hpp
    scheduler* joiner_scheduler = nullptr;
  } spawn;

 protected:
  std::coroutine_handle<> continuation_ = std::noop_coroutine();
};

template <typename T>
class task_promise final : public task_promise_base {
 public:
  task_promise() noexcept {}
  ~task_promise() {
    if (state_ == state::value) value_.~T();
    else if (state_ == state::exception) exception_.~exception_ptr();
  }

  task<T> get_return_object() noexcept;

  template <typename U = T>
    requires std::is_convertible_v<U&&, T>
  void return_value(U&& v) noexcept(std::is_nothrow_constructible_v<T, U&&>) {
    ::new (&value_) T(std::forward<U>(v));
    state_ = state::value;
  }
  void unhandled_exception() noexcept {
    ::new (&exception_) std::exception_ptr(std::current_exception());
    state_ = state::exception;
  }

  T take() {
    if (state_ == state::exception) std::rethrow_exception(exception_);
    return std::move(value_);
  }

 private:
  enum class state : unsigned char { empty, value, exception };
  union {
    T value_;
    std::exception_ptr exception_;
  };
  state state_ = state::empty;
};

template <>
class task_promise<void> final : public task_promise_base {
 public:
  task<void> get_return_object() noexcept;
  void return_void() noexcept {}
  void unhandled_exception() noexcept { exception_ = std::current_exception(); }
  void take() {
    if (exception_) std::rethrow_exception(exception_);
  }

 private:
  std::exception_ptr exception_;
};

}  // namespace detail

template <typename T>
class [[nodiscard]] task {
 public:
  using promise_type = detail::task_promise<T>;
  using handle_type = std::coroutine_handle<promise_type>;
  using value_type = T;

  task() noexcept = default;
  explicit task(handle_type h) noexcept : handle_(h) {}
  task(task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  task& operator=(task&& other) noexcept {
    if (this != &other) {
      if (handle_) handle_.destroy();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  task(const task&) = delete;
  task& operator=(const task&) = delete;
  ~task() {
    if (handle_) handle_.destroy();
  }

  bool valid() const noexcept { return static_cast<bool>(handle_); }

  auto operator co_await() && noexcept {
    struct awaiter {
      handle_type handle;
      bool await_ready() const noexcept { return !handle || handle.done(); }
      std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) noexcept {
        handle.promise().set_continuation(awaiting);
        return handle;  // symmetric transfer into the task
      }
      T await_resume() { return handle.promise().take(); }
    };
    return awaiter{handle_};
  }

  // Gives up ownership of the frame; the caller must destroy it. Used by the
  // runtime to run tasks it has adopted.
  handle_type release() noexcept { return std::exchange(handle_, {}); }
  handle_type handle() const noexcept { return handle_; }

 private:
  handle_type handle_;
};

namespace detail {
template <typename T>
task<T> task_promise<T>::get_return_object() noexcept {
  return task<T>(std::coroutine_handle<task_promise<T>>::from_promise(*this));
}
inline task<void> task_promise<void>::get_return_object() noexcept {
  return task<void>(std::coroutine_handle<task_promise<void>>::from_promise(*this));
}
}  // namespace detail

}  // namespace weft
