// weft::join_handle<T>: the result of a spawned task (weft::go, runtime::spawn).
//
// `co_await handle` waits for the task to end and gives its value, or
// rethrows the exception that escaped it. Awaiting consumes the handle: the
// task's frame is freed as soon as its result is taken, and the handle is
// then empty (valid() is false).
// Dropping the handle detaches the task: it keeps running and frees itself
// when it ends. The join state lives inside the task's own frame, so a
// handle is one pointer and spawning allocates nothing else.
//
// Thread-safety: a handle is a unique owner (move-only); is_finished() may be
// called while the task runs on another thread.
#pragma once

#include <coroutine>
#include <utility>

#include "weft/detail/scheduler.hpp"
#include "weft/detail/spawn.hpp"
#include "weft/task.hpp"

namespace weft {

template <typename T = void>
class join_handle {
 public:
  using promise_type = detail::task_promise<T>;
  using handle_type = std::coroutine_handle<promise_type>;
  using value_type = T;

  join_handle() noexcept = default;
  explicit join_handle(handle_type frame) noexcept : frame_(frame) {}
  join_handle(join_handle&& other) noexcept : frame_(std::exchange(other.frame_, {})) {}
  join_handle& operator=(join_handle&& other) noexcept {
    if (this != &other) {
      detach();
      frame_ = std::exchange(other.frame_, {});
    }
    return *this;
  }
  join_handle(const join_handle&) = delete;
  join_handle& operator=(const join_handle&) = delete;
  ~join_handle() { detach(); }

  // True while the handle refers to a task (not moved from or detached).
  bool valid() const noexcept { return static_cast<bool>(frame_); }

  // True once the task has ended (its result is ready).
  bool is_finished() const noexcept {
    return frame_ &&
           frame_.promise().spawn.join.load(std::memory_order_acquire) == detail::join_state::done;
  }

  // Lets the task run on without anyone waiting for it.
  void detach() noexcept {
    if (!frame_) return;
    handle_type frame = std::exchange(frame_, {});
    detail::join_detach(frame.promise(), frame);
  }

  auto operator co_await() noexcept {
    struct awaiter {
      join_handle& owner;
      bool await_ready() const noexcept {
        return owner.frame_.promise().spawn.join.load(std::memory_order_acquire) ==
               detail::join_state::done;
      }
      bool await_suspend(std::coroutine_handle<> joiner) noexcept {
        return detail::join_wait(owner.frame_.promise(), joiner);
      }
      T await_resume() {
        // Free the frame once the result is out, even when take() throws.
        struct release {
          handle_type frame;
          ~release() { frame.destroy(); }
        } done{std::exchange(owner.frame_, {})};
        return done.frame.promise().take();
      }
    };
    return awaiter{*this};
  }

 private:
  handle_type frame_;
};

}  // namespace weft
