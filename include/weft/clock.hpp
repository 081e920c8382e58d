// weft::clock: the runtime's monotonic clock.
//
// On a normal runtime it is std::chrono::steady_clock. On a runtime built in
// test mode (`runtime_options::virtual_time`), time is virtual: it stands
// still while tasks run and jumps straight to the next timer when every task
// is parked, so a minute-long timeout finishes in microseconds.
//
// Thread-safety: now() may be called from any thread. Off a runtime thread it
// reads the real steady clock.
#pragma once

#include <chrono>

namespace weft {

struct clock {
  using duration = std::chrono::nanoseconds;
  using rep = duration::rep;
  using period = duration::period;
  using time_point = std::chrono::time_point<clock, duration>;
  static constexpr bool is_steady = true;

  static time_point now() noexcept;
};

}  // namespace weft
