// A tiny test-and-test-and-set lock for the short critical sections of
// channels, select and the sync primitives. Not public API.
//
// unlock() is a single release store and touches nothing afterwards, so a
// lock may live inside an object that another thread frees as soon as it has
// acquired the lock after us (the "unlock is the last touch" rule that the
// parking code relies on).
#pragma once

#include <atomic>
#include <thread>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace weft::detail {

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

class spinlock {
 public:
  void lock() noexcept {
    for (;;) {
      if (!locked_.exchange(true, std::memory_order_acquire)) return;
      int spins = 0;
      while (locked_.load(std::memory_order_relaxed)) {
        // Spin briefly (holders run a few dozen instructions), then let the
        // holder's thread run if it was preempted: only 2 cores here.
        if (++spins < 64) cpu_relax();
        else std::this_thread::yield();
      }
    }
  }
  bool try_lock() noexcept {
    return !locked_.load(std::memory_order_relaxed) &&
           !locked_.exchange(true, std::memory_order_acquire);
  }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

}  // namespace weft::detail
