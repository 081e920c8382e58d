// The lock of channels, select and the sync primitives: short critical
// sections, sometimes taken from two cores at once. Not public API.
//
// An uncontended lock() is one atomic exchange and unlock() one release
// store. A contended lock() backs off exponentially between looks at the
// lock (see src/runtime/spinlock.cpp): each look pulls the lock's cache line
// to the waiting core, so looking less often leaves the line with the core
// that holds the lock, which then runs a batch of operations cheaply instead
// of losing the line on every one. After a long wait the holder was
// preempted: the waiter yields its CPU between looks.
//
// unlock() is a single release store and touches nothing afterwards, so a
// lock may live inside an object that another thread frees as soon as it has
// acquired the lock after us (the "unlock is the last touch" rule that the
// parking code relies on).
#pragma once

#include <atomic>

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
    if (!locked_.exchange(true, std::memory_order_acquire)) [[likely]]
      return;
    lock_contended();
  }
  bool try_lock() noexcept {
    return !locked_.load(std::memory_order_relaxed) &&
           !locked_.exchange(true, std::memory_order_acquire);
  }
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  void lock_contended() noexcept;  // src/runtime/spinlock.cpp

  std::atomic<bool> locked_{false};
};

}  // namespace weft::detail
