// Spawning and joining tasks on a runtime (internal).
//
// A spawned task keeps its join state in its own promise
// (task_promise_base::spawn), so spawn costs exactly one allocation: the
// coroutine frame. The join word moves through these states:
//
//   running --(joiner parks)--> waiting --(task ends)--> done
//   running --(task ends)--> done          (joiner reads the result later)
//   running --(handle dropped)--> detached --(task ends)--> frame freed
//
// The join_handle owns the frame once the task is done; a detached task frees
// its own frame when it ends.
#pragma once

#include <coroutine>
#include <cstdint>

#include "weft/task.hpp"

namespace weft::detail {

namespace join_state {
inline constexpr std::uint32_t not_spawned = 0;
inline constexpr std::uint32_t running = 1;
inline constexpr std::uint32_t waiting = 2;
inline constexpr std::uint32_t done = 3;
inline constexpr std::uint32_t detached = 4;
}  // namespace join_state

// The runtime `go` spawns onto: the current thread's runtime (worker or
// blocking-pool thread), else the runtime most recently entered by block_on.
// Throws std::logic_error when there is none.
scheduler* spawn_target();

// Hands a not-yet-started frame to `s`; it is queued at the back of the
// current worker's run queue (or the injection queue off the runtime).
void spawn_frame(scheduler* s, task_promise_base& promise, std::coroutine_handle<> frame,
                 bool detached) noexcept;

// Parks `joiner` until the spawned task ends. False when it already ended
// (the joiner continues at once).
bool join_wait(task_promise_base& promise, std::coroutine_handle<> joiner) noexcept;

// Drops the join handle: the task keeps running and frees itself, or is freed
// now when it has already ended.
void join_detach(task_promise_base& promise, std::coroutine_handle<> frame) noexcept;

}  // namespace weft::detail
