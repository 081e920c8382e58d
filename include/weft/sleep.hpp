// weft::sleep_for / weft::sleep_until: park the calling task until a time.
//
//   co_await weft::sleep_for(50ms);
//
// The task is parked on its runtime's timer heap (O(log n)) and uses no
// thread while it sleeps. Under a virtual-time runtime the clock jumps to
// the deadline as soon as every task is parked. Off a runtime (no current
// scheduler) the calling thread sleeps instead.
//
// Thread-safety: the awaitable belongs to the awaiting task.
#pragma once

#include <coroutine>

#include "weft/clock.hpp"
#include "weft/detail/scheduler.hpp"

namespace weft {

class sleep_awaiter : private detail::timer_entry {
 public:
  explicit sleep_awaiter(clock::time_point when) noexcept { this->deadline = when; }
  bool await_ready() const noexcept;
  bool await_suspend(std::coroutine_handle<> task) noexcept;
  void await_resume() const noexcept {}

 private:
  static void fire(detail::timer_entry* entry) noexcept;
  detail::scheduler* scheduler_ = nullptr;
  std::coroutine_handle<> task_;
};

[[nodiscard]] inline sleep_awaiter sleep_until(clock::time_point deadline) noexcept {
  return sleep_awaiter(deadline);
}
[[nodiscard]] inline sleep_awaiter sleep_for(clock::duration duration) noexcept {
  return sleep_awaiter(duration <= clock::duration::zero() ? clock::now()
                                                           : clock::now() + duration);
}

}  // namespace weft
