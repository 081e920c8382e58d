// The few runtime services the Redis client uses, in one place: readiness
// waits on the weft poller and spawning a detached task.
#pragma once

#include "weft/clock.hpp"
#include "weft/result.hpp"
#include "weft/task.hpp"

namespace weft::lock::redis_detail {

// Waits until `fd` is readable (or writable), hung up, or `deadline` passes
// (errc::timeout).
task<result<void>> wait_readable(int fd, clock::time_point deadline);
task<result<void>> wait_writable(int fd, clock::time_point deadline);

// Runs `work` on the current runtime, detached.
void spawn(task<void> work);

}  // namespace weft::lock::redis_detail
