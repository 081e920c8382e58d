// weft::wait_group: Go's sync.WaitGroup. Waits for a number of tasks to finish.
//
//   wait_group wg;
//   wg.add(2);
//   go(worker(wg)); go(worker(wg));   // each calls wg.done() when finished
//   co_await wg.wait();               // resumes once the count is back to 0
//
// Thread-safety: add/done/wait may be called concurrently from any thread.
// The count must not go below zero (a bug: asserts in debug builds). The
// wait_group must outlive every add/done/wait on it; it is neither copyable
// nor movable (pass it by reference).
//
// Cancel safety: wait() completes only when the count reaches zero.
#pragma once

#include <cassert>
#include <coroutine>
#include <cstddef>

#include "weft/detail/scheduler.hpp"
#include "weft/detail/spinlock.hpp"
#include "weft/detail/waiter.hpp"

namespace weft {

class wait_group {
 public:
  class [[nodiscard]] wait_awaiter {
   public:
    explicit wait_awaiter(wait_group* group) noexcept : group_(group) {}
    // Checked under the lock, not with a lock-free read: a waiter that sees
    // zero may destroy the wait_group at once, so it must not see zero before
    // the last done() has released the lock (its last touch).
    bool await_ready() noexcept {
      group_->lock_.lock();
      if (group_->count_ == 0) {
        group_->lock_.unlock();
        return true;
      }
      return false;  // lock_ stays held for await_suspend
    }
    void await_suspend(std::coroutine_handle<> h) noexcept {
      waiter_.handle = h;
      waiter_.sched = detail::current_scheduler();
      wait_group* group = group_;
      group->waiters_.push_back(&waiter_);
      group->lock_.unlock();  // last touch
    }
    void await_resume() const noexcept {}

   private:
    wait_group* group_;
    detail::task_waiter waiter_;
  };

  wait_group() noexcept = default;
  wait_group(const wait_group&) = delete;
  wait_group& operator=(const wait_group&) = delete;

  // Adds n (may be negative) to the count; at zero, every waiter resumes.
  void add(std::ptrdiff_t n = 1) noexcept {
    lock_.lock();
    count_ += n;
    assert(count_ >= 0 && "wait_group count went below zero: more done() than add()");
    detail::task_waiter* waiters = count_ == 0 ? waiters_.take_all() : nullptr;
    lock_.unlock();  // last touch of *this: a waiter may destroy it from now on
    detail::task_waiter_queue::wake_all(waiters);
  }
  void done() noexcept { add(-1); }
  // co_await: resumes once the count is zero (at once if it already is).
  wait_awaiter wait() noexcept { return wait_awaiter(this); }
  std::ptrdiff_t count() noexcept {
    lock_.lock();
    std::ptrdiff_t n = count_;
    lock_.unlock();
    return n;
  }

 private:
  detail::spinlock lock_;
  std::ptrdiff_t count_ = 0;
  detail::task_waiter_queue waiters_;
};

}  // namespace weft
