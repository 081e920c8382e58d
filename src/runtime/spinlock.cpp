// The contended path of detail::spinlock (see include/weft/detail/spinlock.hpp).
#include "weft/detail/spinlock.hpp"

#include <sched.h>

namespace weft::detail {
namespace {
// A pause is ~20 ns on this machine's cores: the waits between looks grow
// 4, 8, ..., 256 pauses (~0.1 to ~6 µs). Critical sections are a few dozen
// instructions, so past ~40 µs in all the holder is not running: yield.
constexpr int first_backoff_pauses = 4;
constexpr int max_backoff_pauses = 256;
constexpr int looks_before_yield = 12;
}  // namespace

void spinlock::lock_contended() noexcept {
  int pauses = first_backoff_pauses;
  for (int look = 0;; ++look) {
    if (look < looks_before_yield) {
      for (int i = 0; i < pauses; ++i) cpu_relax();
      if (pauses < max_backoff_pauses) pauses *= 2;
    } else {
      sched_yield();
    }
    if (!locked_.load(std::memory_order_relaxed) &&
        !locked_.exchange(true, std::memory_order_acquire))
      return;
  }
}

}  // namespace weft::detail
