// sleep_for / sleep_until and yield.
#include <chrono>
#include <thread>

#include "runtime/scheduler.hpp"
#include "weft/sleep.hpp"
#include "weft/yield.hpp"

namespace weft {

bool sleep_awaiter::await_ready() const noexcept {
  if (detail::current_scheduler() == nullptr) {
    // Off a runtime: block the calling thread instead.
    const auto remaining = deadline - clock::now();
    if (remaining > clock::duration::zero()) std::this_thread::sleep_for(remaining);
    return true;
  }
  return deadline <= clock::now();
}

bool sleep_awaiter::await_suspend(std::coroutine_handle<> task) noexcept {
  scheduler_ = detail::current_scheduler();
  task_ = task;
  on_fire = &sleep_awaiter::fire;
  detail::add_timer(scheduler_, this);  // may resume the task at once: touch nothing after
  return true;
}

void sleep_awaiter::fire(detail::timer_entry* entry) noexcept {
  auto* self = static_cast<sleep_awaiter*>(entry);
  detail::schedule(self->scheduler_, self->task_);
}

bool yield_awaiter::await_suspend(std::coroutine_handle<> task) noexcept {
  detail::scheduler* s = detail::current_scheduler();
  if (s == nullptr) return false;
  s->schedule_yield(task);
  return true;
}

}  // namespace weft
