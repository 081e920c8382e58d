// The slow paths of detail::spinlock (see include/weft/detail/spinlock.hpp).
#include "weft/detail/spinlock.hpp"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace weft::detail {
namespace {
// Exponential backoff between looks at the lock, then a futex sleep. A look
// pulls the lock's cache line to this core; backing off leaves the line with
// the core that holds the lock, which then runs a batch of operations
// cheaply instead of losing the line on every one.
constexpr int first_backoff_pauses = 4;
constexpr int max_backoff_pauses = 256;
constexpr int looks_before_sleep = 12;
}  // namespace

void spinlock::lock_contended() noexcept {
  int pauses = first_backoff_pauses;
  for (int look = 0; look < looks_before_sleep; ++look) {
    for (int i = 0; i < pauses; ++i) cpu_relax();
    if (pauses < max_backoff_pauses) pauses *= 2;
    std::uint32_t value = state_.load(std::memory_order_relaxed);
    if (value == unlocked) {
      if (state_.compare_exchange_weak(value, locked, std::memory_order_acquire,
                                       std::memory_order_relaxed))
        return;
    } else if (value == sleepers) {
      break;  // others already sleep: queue behind them
    }
  }
  // Take it marked "sleepers" (we cannot know whether others still sleep),
  // or sleep until an unlock wakes us.
  while (state_.exchange(sleepers, std::memory_order_acquire) != unlocked)
    syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&state_), FUTEX_WAIT_PRIVATE, sleepers,
            nullptr, nullptr, 0);
}

void spinlock::wake_one(std::atomic<std::uint32_t>* word) noexcept {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE_PRIVATE, 1, nullptr,
          nullptr, 0);
}

}  // namespace weft::detail
