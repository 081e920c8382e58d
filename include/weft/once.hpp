// weft::once: Go's sync.Once for tasks. Runs a function exactly once.
//
//   once init;
//   co_await init.call([&] { load_config(); });             // plain function
//   co_await init.call([&]() -> task<> { co_await ...; });  // or a task
//
// The first caller runs f; callers that arrive while it runs wait for it to
// finish; later callers return at once. As in Go, f counts as done even if
// it throws (the exception reaches the first caller only).
//
// Thread-safety: call() may be awaited concurrently from any thread. The
// once must outlive every call.
//
// Cancel safety: call() completes only when f has finished.
#pragma once

#include <atomic>
#include <coroutine>
#include <exception>
#include <type_traits>
#include <utility>

#include "weft/detail/scheduler.hpp"
#include "weft/detail/spinlock.hpp"
#include "weft/detail/waiter.hpp"
#include "weft/task.hpp"

namespace weft {

class once {
 public:
  once() noexcept = default;
  once(const once&) = delete;
  once& operator=(const once&) = delete;

  // True once f has run (or thrown).
  bool done() const noexcept { return state_.load(std::memory_order_acquire) == finished; }

  // co_await: runs f if nobody has yet, else waits until it has run.
  // f returns void, or something awaitable (a task<>).
  template <typename F>
  task<void> call(F f) {
    if (done()) co_return;
    lock_.lock();
    int state = state_.load(std::memory_order_relaxed);
    if (state == finished) {
      lock_.unlock();
      co_return;
    }
    if (state == running) {
      co_await park_locked{this};  // unlocks lock_ once parked
      co_return;
    }
    state_.store(running, std::memory_order_relaxed);
    lock_.unlock();
    std::exception_ptr error;
    try {
      if constexpr (std::is_void_v<std::invoke_result_t<F&>>) f();
      else co_await f();
    } catch (...) {
      error = std::current_exception();
    }
    lock_.lock();
    state_.store(finished, std::memory_order_release);
    detail::task_waiter* waiters = waiters_.take_all();
    lock_.unlock();
    detail::task_waiter_queue::wake_all(waiters);
    if (error) std::rethrow_exception(error);
  }

 private:
  static constexpr int idle = 0;
  static constexpr int running = 1;
  static constexpr int finished = 2;

  struct park_locked {
    once* self;
    detail::task_waiter waiter{};
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> h) noexcept {
      waiter.handle = h;
      waiter.sched = detail::current_scheduler();
      once* o = self;
      o->waiters_.push_back(&waiter);
      o->lock_.unlock();  // last touch
    }
    void await_resume() const noexcept {}
  };

  detail::spinlock lock_;
  std::atomic<int> state_{idle};
  detail::task_waiter_queue waiters_;
};

}  // namespace weft
