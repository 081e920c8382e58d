// Internal contract between the scheduler and the primitives built on it
// (channels, select, sync, context, timers, I/O). Not public API.
//
// A primitive parks a task by keeping its coroutine handle together with the
// scheduler it was running on, and wakes it with schedule(). Timers are
// intrusive entries that the scheduler keeps in a heap per runtime.
#pragma once

#include <coroutine>
#include <cstddef>
#include <cstdint>

#include "weft/clock.hpp"

namespace weft::detail {

class scheduler;

// The scheduler whose worker (or block_on) thread this is; nullptr elsewhere.
scheduler* current_scheduler() noexcept;

// Makes `h` runnable on `s`. Thread-safe; callable from any thread.
// From one of s's own workers the task goes to that worker's LIFO "next" slot
// (capped, so ping-pong pairs cannot starve others); from elsewhere it goes
// to s's injection queue and an idle worker is unparked.
void schedule(scheduler* s, std::coroutine_handle<> h) noexcept;

// An intrusive timer. The owner keeps it alive until it fired or was
// cancelled. on_fire runs on a runtime thread, without the timer lock: it
// must be short and must not block, but it may add and cancel timers (its
// own included; cancel_timer then returns false at once).
struct timer_entry {
  clock::time_point deadline{};
  void (*on_fire)(timer_entry*) noexcept = nullptr;
  // Owned by the scheduler.
  std::size_t heap_index = static_cast<std::size_t>(-1);
};

// Arms `t` on `s`. O(log n).
void add_timer(scheduler* s, timer_entry* t) noexcept;

// Disarms `t`. Returns true when it was removed before firing; false when it
// has already fired. Either way, once this returns on_fire is not running
// (unless this is called from that on_fire) and will not run, so the entry
// may be destroyed. O(log n).
bool cancel_timer(scheduler* s, timer_entry* t) noexcept;

}  // namespace weft::detail
