// Intrusive waiter nodes shared by channels, select and the sync primitives.
// Not public API.
//
// A parked operation keeps its waiter node inside its awaiter (so inside the
// parked coroutine's frame): parking never allocates. Whoever completes the
// operation (the "waker") fills the waiter's slot while holding the lock that
// protects the queue, then makes the task runnable with schedule().
//
// Select: all the waiters of one select share a select_control. A waker must
// win try_claim() on it before touching the waiter, so exactly one case of a
// select ever completes. The parking side and the winning waker then meet on
// `token`: whoever arrives second resumes the task, so a select can be
// claimed while it is still arming its other cases without resuming early.
#pragma once

#include <atomic>
#include <coroutine>
#include <cstdint>
#include <new>
#include <type_traits>

#include "weft/detail/scheduler.hpp"

namespace weft::detail {

struct select_control {
  std::atomic<int> winner{-1};
  std::atomic<int> token{0};
  std::coroutine_handle<> handle;
  scheduler* sched = nullptr;

  bool claimed() const noexcept { return winner.load(std::memory_order_acquire) >= 0; }
  // Exactly one caller wins, and its case index becomes the select's result.
  bool try_claim(int index) noexcept {
    int expected = -1;
    return winner.compare_exchange_strong(expected, index, std::memory_order_acq_rel,
                                          std::memory_order_acquire);
  }
  // Called once by the waker that won try_claim, after filling its slot.
  void wake() noexcept {
    if (token.fetch_add(1, std::memory_order_acq_rel) == 1) schedule(sched, handle);
  }
  // Called once by the parking side when it has armed every case. Returns
  // true when the task must stay suspended (no waker came yet).
  bool finish_parking() noexcept { return token.fetch_add(1, std::memory_order_acq_rel) == 0; }
};

// A parked channel operation (plain send/recv, or one case of a select).
struct chan_waiter {
  chan_waiter* prev = nullptr;
  chan_waiter* next = nullptr;
  // Written under the channel lock; read without it by a select cleaning up,
  // where `false` means "already removed for good" and skips the lock.
  std::atomic<bool> linked{false};
  // Send: T* to move from. Receive: std::optional<T>* to emplace into.
  void* slot = nullptr;
  // Set by the waker: true when the value moved, false when the channel closed.
  bool success = false;
  std::coroutine_handle<> handle;  // plain operations only
  scheduler* sched = nullptr;      // plain operations only
  select_control* select = nullptr;
  int case_index = -1;
  chan_waiter* wake_next = nullptr;  // used by close() to batch wake-ups

  chan_waiter() noexcept = default;
  // A fresh node: nodes are only ever copied before being used (select cases).
  chan_waiter(const chan_waiter&) noexcept {}
  chan_waiter& operator=(const chan_waiter&) = delete;

  // Claims the waiter for the caller. Always true for plain operations.
  bool try_claim() noexcept { return select == nullptr || select->try_claim(case_index); }
  void wake() noexcept {
    if (select != nullptr) select->wake();
    else schedule(sched, handle);
  }
};

// Storage for a chan_waiter that is only built when the operation parks:
// most channel operations complete at once, and building the 80-byte node
// every time cost a dozen stores per operation. chan_waiter is trivially
// destructible, so nothing needs to run at the end.
class lazy_waiter {
 public:
  lazy_waiter() noexcept {}
  lazy_waiter(const lazy_waiter&) = delete;
  lazy_waiter& operator=(const lazy_waiter&) = delete;
  ~lazy_waiter() {}
  chan_waiter* construct() noexcept { return ::new (static_cast<void*>(&storage_.waiter)) chan_waiter(); }
  // Only after construct().
  const chan_waiter* get() const noexcept { return &storage_.waiter; }

 private:
  union storage {
    storage() noexcept {}
    ~storage() {}
    chan_waiter waiter;
  } storage_;
};
static_assert(std::is_trivially_destructible_v<chan_waiter>);

// FIFO of chan_waiter, protected by the owner's lock. `head_` is atomic only
// so that select can peek at it without the lock (a hint, see
// chan_state::recv_maybe_ready); under the lock it is accessed relaxed.
class waiter_list {
 public:
  bool empty() const noexcept { return head() == nullptr; }
  // Without the lock: a hint that may be stale.
  bool maybe_nonempty() const noexcept { return head() != nullptr; }
  void push_back(chan_waiter* w) noexcept {
    w->next = nullptr;
    w->prev = tail_;
    if (tail_ != nullptr) tail_->next = w;
    else set_head(w);
    tail_ = w;
    w->linked.store(true, std::memory_order_relaxed);
  }
  void remove(chan_waiter* w) noexcept {
    if (w->prev != nullptr) w->prev->next = w->next;
    else set_head(w->next);
    if (w->next != nullptr) w->next->prev = w->prev;
    else tail_ = w->prev;
    w->prev = w->next = nullptr;
    w->linked.store(false, std::memory_order_release);
  }
  chan_waiter* pop_front() noexcept {
    chan_waiter* w = head();
    if (w != nullptr) remove(w);
    return w;
  }
  // Pops the first waiter that can be claimed. Select waiters whose select
  // another case already won are dropped on the way (their select skips them
  // when it cleans up). The claim is tried before unlinking: once an
  // unclaimed waiter reads as unlinked, its select may free it at once.
  chan_waiter* pop_claimed() noexcept {
    while (chan_waiter* w = head()) {
      bool claimed = w->try_claim();
      remove(w);  // last touch of an unclaimed waiter
      if (claimed) return w;
    }
    return nullptr;
  }

 private:
  chan_waiter* head() const noexcept { return head_.load(std::memory_order_relaxed); }
  void set_head(chan_waiter* w) noexcept { head_.store(w, std::memory_order_relaxed); }

  std::atomic<chan_waiter*> head_{nullptr};
  chan_waiter* tail_ = nullptr;
};

// A parked task for the sync primitives (wait_group, mutex, semaphore, once):
// singly linked FIFO, never removed early.
struct task_waiter {
  task_waiter* next = nullptr;
  std::coroutine_handle<> handle;
  scheduler* sched = nullptr;
  void wake() noexcept { schedule(sched, handle); }
};

class task_waiter_queue {
 public:
  bool empty() const noexcept { return head_ == nullptr; }
  void push_back(task_waiter* w) noexcept {
    w->next = nullptr;
    if (tail_ != nullptr) tail_->next = w;
    else head_ = w;
    tail_ = w;
  }
  task_waiter* pop_front() noexcept {
    task_waiter* w = head_;
    if (w != nullptr) {
      head_ = w->next;
      if (head_ == nullptr) tail_ = nullptr;
    }
    return w;
  }
  // Takes the whole queue (to wake it after unlocking).
  task_waiter* take_all() noexcept {
    task_waiter* w = head_;
    head_ = tail_ = nullptr;
    return w;
  }
  // Wakes a chain returned by take_all(). Reads `next` before waking, since a
  // woken task may free its node at once.
  static void wake_all(task_waiter* w) noexcept {
    while (w != nullptr) {
      task_waiter* next = w->next;
      w->wake();
      w = next;
    }
  }

 private:
  task_waiter* head_ = nullptr;
  task_waiter* tail_ = nullptr;
};

__extension__ typedef unsigned __int128 uint128_for_random;

// Per-thread fast random numbers for select's poll order (wyrand).
inline std::uint64_t fast_random() noexcept {
  thread_local std::uint64_t state =
      0x9E3779B97F4A7C15ull ^ reinterpret_cast<std::uintptr_t>(&state);
  state += 0xA0761D6478BD642Full;
  uint128_for_random m = static_cast<uint128_for_random>(state) * (state ^ 0xE7037ED1A0B428DBull);
  return static_cast<std::uint64_t>(m >> 64) ^ static_cast<std::uint64_t>(m);
}

}  // namespace weft::detail
