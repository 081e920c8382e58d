// weft::ring::atomic_ring: the current snapshot, swapped atomically.
//
// Readers call load() and keep the returned shared_ptr for as long as they
// need a consistent view (a batch of lookups, say); a writer builds the next
// snapshot off to the side and store()s or exchange()s it. A reader sees the
// old snapshot or the new one, never a half-built ring, and the old one lives
// until its last reader drops it. update() runs a read-modify-write (for
// example `[&](auto& s) { return s->with_node(n); }`) under a writer lock so
// that concurrent membership changes do not lose each other.
//
// Thread-safety: every member is safe to call from any thread.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <version>

#include "weft/result.hpp"
#include "weft/ring/snapshot.hpp"

#if defined(__cpp_lib_atomic_shared_ptr) && __cpp_lib_atomic_shared_ptr >= 201711L
#define WEFT_RING_ATOMIC_SHARED_PTR 1
#else
#define WEFT_RING_ATOMIC_SHARED_PTR 0  // older library: a mutex guards the pointer copy
#endif

namespace weft::ring {

class atomic_ring {
 public:
  using pointer = std::shared_ptr<const snapshot>;

  atomic_ring() = default;
  explicit atomic_ring(pointer initial) { store(std::move(initial)); }
  atomic_ring(const atomic_ring&) = delete;
  atomic_ring& operator=(const atomic_ring&) = delete;

  pointer load() const noexcept {
#if WEFT_RING_ATOMIC_SHARED_PTR
    return current_.load(std::memory_order_acquire);
#else
    std::lock_guard lock(read_mutex_);
    return current_;
#endif
  }

  void store(pointer next) noexcept { exchange(std::move(next)); }

  pointer exchange(pointer next) noexcept {
#if WEFT_RING_ATOMIC_SHARED_PTR
    return current_.exchange(std::move(next), std::memory_order_acq_rel);
#else
    std::lock_guard lock(read_mutex_);
    std::swap(current_, next);
    return next;
#endif
  }

  // Applies change(current) and publishes its value; returns the change's
  // error untouched when it fails. Writers are serialised; readers are not
  // blocked while change runs.
  result<pointer> update(const std::function<result<pointer>(const pointer&)>& change) {
    std::lock_guard lock(write_mutex_);
    result<pointer> next = change(load());
    if (!next) return next;
    store(*next);
    return next;
  }

 private:
#if WEFT_RING_ATOMIC_SHARED_PTR
  std::atomic<pointer> current_;
#else
  mutable std::mutex read_mutex_;
  pointer current_;
#endif
  std::mutex write_mutex_;
};

}  // namespace weft::ring
