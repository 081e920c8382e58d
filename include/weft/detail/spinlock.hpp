// The lock of channels, select and the sync primitives: short critical
// sections, taken from two or more cores at once. Not public API.
//
// Adaptive: an uncontended lock() is one CAS; a contended one spins briefly
// (the holder runs a few dozen instructions), then sleeps on a futex, like
// Go's runtime lock. Sleeping matters when the lock is hot on both cores:
// the loser stops pulling the line away, so the winner runs a batch of
// operations with the line in its cache (spinning both cores on one line
// made every operation a cross-core transfer).
//
// unlock() is one atomic exchange plus, only when a thread sleeps on the
// lock, a futex wake that passes the lock's address to the kernel without
// reading it. So a lock may live inside an object that another thread frees
// as soon as it has acquired the lock after us (the "unlock is the last
// touch" rule that the parking code relies on); a wake on a freed address
// is at worst a spurious wake-up, which every futex waiter tolerates.
#pragma once

#include <atomic>
#include <cstdint>

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
    std::uint32_t expected = unlocked;
    if (state_.compare_exchange_strong(expected, locked, std::memory_order_acquire,
                                       std::memory_order_relaxed)) [[likely]]
      return;
    lock_contended();
  }
  bool try_lock() noexcept {
    std::uint32_t expected = unlocked;
    return state_.load(std::memory_order_relaxed) == unlocked &&
           state_.compare_exchange_strong(expected, locked, std::memory_order_acquire,
                                          std::memory_order_relaxed);
  }
  void unlock() noexcept {
    if (state_.exchange(unlocked, std::memory_order_release) == sleepers) [[unlikely]]
      wake_one(&state_);
  }

 private:
  static constexpr std::uint32_t unlocked = 0;
  static constexpr std::uint32_t locked = 1;
  static constexpr std::uint32_t sleepers = 2;  // locked, and a thread may sleep on it

  void lock_contended() noexcept;  // src/runtime/spinlock.cpp
  // Static: `this` may be gone; only the address goes to the kernel.
  static void wake_one(std::atomic<std::uint32_t>* word) noexcept;

  std::atomic<std::uint32_t> state_{unlocked};
};

}  // namespace weft::detail
