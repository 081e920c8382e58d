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

#include <atomic>
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
    bool await_ready() const noexcept {
      return group_->count_.load(std::memory_order_acquire) == 0;
    }
    bool await_suspend(std::coroutine_handle<> h) noexcept {
      waiter_.handle = h;
      waiter_.sched = detail::current_scheduler();
      wait_group* group = group_;
      group->lock_.lock();
      if (group->count_.load(std::memory_order_acquire) == 0) {
        group->lock_.unlock();
        return false;
      }
      group->waiters_.push_back(&waiter_);
      group->lock_.unlock();  // last touch
      return true;
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
    std::ptrdiff_t now = count_.fetch_add(n, std::memory_order_acq_rel) + n;
    assert(now >= 0 && "wait_group count went below zero: more done() than add()");
    if (now != 0) return;
    lock_.lock();
    detail::task_waiter* waiters = waiters_.take_all();
    lock_.unlock();
    detail::task_waiter_queue::wake_all(waiters);
  }
  void done() noexcept { add(-1); }
  // co_await: resumes once the count is zero (at once if it already is).
  wait_awaiter wait() noexcept { return wait_awaiter(this); }
  std::ptrdiff_t count() const noexcept { return count_.load(std::memory_order_acquire); }

 private:
  detail::spinlock lock_;
  std::atomic<std::ptrdiff_t> count_{0};
  detail::task_waiter_queue waiters_;
};

}  // namespace weft
