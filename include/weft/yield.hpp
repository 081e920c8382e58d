// weft::yield: give other tasks a turn.
//
//   co_await weft::yield();
//
// The task goes to the back of its worker's run queue (not the LIFO slot),
// so every task already queued runs first. Use it in long loops: tasks are
// cooperative and are never preempted.
//
// Thread-safety: the awaitable belongs to the awaiting task.
#pragma once

#include <coroutine>

namespace weft {

class yield_awaiter {
 public:
  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> task) noexcept;
  void await_resume() const noexcept {}
};

[[nodiscard]] inline yield_awaiter yield() noexcept { return {}; }

}  // namespace weft
