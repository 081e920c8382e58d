// weft::spawn_blocking: run a call that blocks its thread, off the workers.
//
//   auto rows = co_await weft::spawn_blocking([&] { return db_query(sql); });
//
// The call runs on the runtime's blocking pool: at most
// runtime_options::blocking_threads threads, created on demand and retired
// after 10 s idle; further calls queue. The awaiting task gets the call's
// return value, or its exception rethrown. Use it for file locks, DNS, and
// synchronous C client libraries. Off a runtime the call runs inline.
//
// Under a virtual-time runtime the clock does not advance while a blocking
// call is in flight.
//
// Thread-safety: the callable runs on another thread; what it touches must
// be safe to use from there. The awaiting task is parked meanwhile.
#pragma once

#include <coroutine>
#include <exception>
#include <optional>
#include <type_traits>
#include <utility>

#include "weft/detail/scheduler.hpp"

namespace weft {
namespace detail {

// A unit of work for the blocking pool; intrusive, lives in the awaiter.
struct blocking_job {
  void (*run)(blocking_job*) noexcept = nullptr;
  blocking_job* next = nullptr;
  scheduler* owner = nullptr;
  std::coroutine_handle<> task;
};

// Queues `job` on s's blocking pool. When it has run, the job's task is
// scheduled on s.
void submit_blocking(scheduler* s, blocking_job* job) noexcept;

}  // namespace detail

template <typename F>
class spawn_blocking_awaiter : private detail::blocking_job {
 public:
  using value_type = std::invoke_result_t<F&>;

  explicit spawn_blocking_awaiter(F callable) : callable_(std::move(callable)) {
    this->run = &spawn_blocking_awaiter::execute;
  }

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> awaiting) noexcept {
    detail::scheduler* s = detail::current_scheduler();
    if (s == nullptr) {
      invoke();
      return false;
    }
    this->owner = s;
    this->task = awaiting;
    detail::submit_blocking(s, this);
    return true;
  }
  value_type await_resume() {
    if (error_) std::rethrow_exception(error_);
    if constexpr (!std::is_void_v<value_type>) return std::move(*value_);
  }

 private:
  void invoke() noexcept {
    try {
      if constexpr (std::is_void_v<value_type>) {
        callable_();
      } else {
        value_.emplace(callable_());
      }
    } catch (...) {
      error_ = std::current_exception();
    }
  }
  static void execute(detail::blocking_job* job) noexcept {
    static_cast<spawn_blocking_awaiter*>(job)->invoke();
  }

  struct nothing {};
  F callable_;
  std::conditional_t<std::is_void_v<value_type>, nothing, std::optional<value_type>> value_;
  std::exception_ptr error_;
};

template <typename F>
  requires std::invocable<std::decay_t<F>&> &&
           (!std::is_reference_v<std::invoke_result_t<std::decay_t<F>&>>)
[[nodiscard]] auto spawn_blocking(F&& callable) {
  return spawn_blocking_awaiter<std::decay_t<F>>(std::forward<F>(callable));
}

}  // namespace weft
