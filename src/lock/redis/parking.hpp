// parking: a reusable one-waiter wake-up slot with an optional deadline, on the
// scheduler's internal contract (schedule + timers). Used for Redis replies,
// connection set-up and lock waiters woken by pub/sub.
//
// A wake() that comes before the task parks is kept: the next park returns at
// once. Thread-safety: wake() from any thread; park()/reset() by the one owner.
#pragma once

#include <atomic>
#include <coroutine>

#include "weft/clock.hpp"
#include "weft/detail/scheduler.hpp"

namespace weft::lock::redis_detail {

class parking {
 public:
  enum class outcome { woken, timed_out };

  parking() noexcept {
    timer_.on_fire = &on_timer;
    timer_.owner = this;
  }
  parking(const parking&) = delete;
  parking& operator=(const parking&) = delete;

  // Wakes the parked task, or makes its next park return at once.
  // Returns false when a wake or the deadline was already pending.
  bool wake() noexcept {
    int expected = parked;
    if (state_.compare_exchange_strong(expected, woken, std::memory_order_acq_rel)) {
      detail::schedule(scheduler_, handle_);
      return true;
    }
    expected = idle;
    return state_.compare_exchange_strong(expected, woken, std::memory_order_acq_rel);
  }

  // Forgets a wake that has been consumed, so the slot can park again.
  void reset() noexcept { state_.store(idle, std::memory_order_release); }

  // What the owner waits for happened (a reply, a push, a cancellation): sets
  // a flag that stays until clear_signal(), then wakes.
  void signal() noexcept {
    signalled_.store(true, std::memory_order_release);
    wake();
  }
  bool signalled() const noexcept { return signalled_.load(std::memory_order_acquire); }
  void clear_signal() noexcept { signalled_.store(false, std::memory_order_release); }

  // Wakes the owner to take over reading a connection (see connection.cpp).
  void hand_off() noexcept {
    handoff_.store(true, std::memory_order_release);
    wake();
  }
  bool take_handoff() noexcept { return handoff_.exchange(false, std::memory_order_acq_rel); }

  bool woken_pending() const noexcept { return state_.load(std::memory_order_acquire) == woken; }

  // co_await slot.park(deadline): parks until wake() or the deadline
  // (clock::time_point::max() for none). Must run on a runtime thread.
  auto park(clock::time_point deadline) noexcept {
    struct awaiter {
      parking* slot;
      clock::time_point deadline;
      bool await_ready() const noexcept {
        return slot->state_.load(std::memory_order_acquire) != idle;
      }
      bool await_suspend(std::coroutine_handle<> h) noexcept {
        parking* p = slot;  // `this` lives in the frame: do not touch it after the CAS
        p->handle_ = h;
        p->scheduler_ = detail::current_scheduler();
        p->armed_ = false;
        if (deadline != clock::time_point::max()) {
          p->timer_.deadline = deadline;
          detail::add_timer(p->scheduler_, &p->timer_);
          p->armed_ = true;
        }
        int expected = idle;
        return p->state_.compare_exchange_strong(expected, parked, std::memory_order_acq_rel);
      }
      outcome await_resume() noexcept {
        if (slot->armed_) {
          detail::cancel_timer(slot->scheduler_, &slot->timer_);
          slot->armed_ = false;
        }
        return slot->state_.load(std::memory_order_acquire) == timed_out ? outcome::timed_out
                                                                         : outcome::woken;
      }
    };
    return awaiter{this, deadline};
  }

 private:
  static constexpr int idle = 0, parked = 1, woken = 2, timed_out = 3;
  struct timer_node : detail::timer_entry {
    parking* owner = nullptr;
  };

  static void on_timer(detail::timer_entry* t) noexcept {
    parking* p = static_cast<timer_node*>(t)->owner;
    int expected = parked;
    if (p->state_.compare_exchange_strong(expected, timed_out, std::memory_order_acq_rel)) {
      detail::schedule(p->scheduler_, p->handle_);
      return;
    }
    expected = idle;
    p->state_.compare_exchange_strong(expected, timed_out, std::memory_order_acq_rel);
  }

  std::atomic<int> state_{idle};
  std::atomic<bool> signalled_{false};
  std::atomic<bool> handoff_{false};
  std::coroutine_handle<> handle_;
  detail::scheduler* scheduler_ = nullptr;
  timer_node timer_;
  bool armed_ = false;
};

}  // namespace weft::lock::redis_detail
