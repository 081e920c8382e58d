// weft::ring::atomic_ring: the current snapshot, swapped atomically.
//
// Readers call load() and keep the returned shared_ptr for as long as they
// need a consistent view (a batch of lookups, say); a writer builds the next
// snapshot off to the side and store()s or exchange()s it. A reader sees the
// old snapshot or the new one, never a half-built ring, and the old one lives
// until its last reader drops it (and is freed outside the lock). update() runs a read-modify-write (for
// example `[&](auto& s) { return s->with_node(n); }`) under a writer lock so
// that concurrent membership changes do not lose each other.
//
// Thread-safety: every member is safe to call from any thread.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <utility>

#include "weft/result.hpp"
#include "weft/ring/snapshot.hpp"

namespace weft::ring {

class atomic_ring {
 public:
  using pointer = std::shared_ptr<const snapshot>;

  atomic_ring() = default;
  explicit atomic_ring(pointer initial) { store(std::move(initial)); }
  atomic_ring(const atomic_ring&) = delete;
  atomic_ring& operator=(const atomic_ring&) = delete;

  pointer load() const noexcept {
    std::lock_guard lock(read_mutex_);
    return current_;
  }

  void store(pointer next) noexcept { exchange(std::move(next)); }

  pointer exchange(pointer next) noexcept {
    {
      std::lock_guard lock(read_mutex_);
      std::swap(current_, next);
    }
    return next;  // the old snapshot is released outside the lock
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
  // A mutex, not std::atomic<std::shared_ptr>: libstdc++ 12's atomic
  // shared_ptr trips ThreadSanitizer (clang 14), and the critical section is
  // one reference-count increment.
  mutable std::mutex read_mutex_;
  pointer current_;
  std::mutex write_mutex_;
};

}  // namespace weft::ring
