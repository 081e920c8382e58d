// weft::semaphore: a counting semaphore for tasks.
//
//   semaphore slots(4);
//   co_await slots.acquire();   // parks the task until a permit is free
//   ...
//   slots.release();
//
// Waiters are served in FIFO order; release(n) hands permits directly to the
// first n waiters, so a waiter is never overtaken by a later try_acquire.
//
// Thread-safety: all operations may be called from any thread. The semaphore
// must outlive its waiters.
//
// Cancel safety: acquire() completes only when a permit is acquired.
#pragma once

#include <coroutine>
#include <cstddef>

#include "weft/detail/scheduler.hpp"
#include "weft/detail/spinlock.hpp"
#include "weft/detail/waiter.hpp"

namespace weft {

class semaphore {
 public:
  class [[nodiscard]] acquire_awaiter {
   public:
    explicit acquire_awaiter(semaphore* s) noexcept : semaphore_(s) {}
    bool await_ready() noexcept {
      semaphore_->lock_.lock();
      if (semaphore_->permits_ > 0) {
        --semaphore_->permits_;
        semaphore_->lock_.unlock();
        return true;
      }
      return false;  // lock_ stays held for await_suspend
    }
    void await_suspend(std::coroutine_handle<> h) noexcept {
      waiter_.handle = h;
      waiter_.sched = detail::current_scheduler();
      semaphore* s = semaphore_;
      s->waiters_.push_back(&waiter_);
      s->lock_.unlock();  // last touch
    }
    void await_resume() const noexcept {}

   private:
    semaphore* semaphore_;
    detail::task_waiter waiter_;
  };

  explicit semaphore(std::size_t permits) noexcept : permits_(permits) {}
  semaphore(const semaphore&) = delete;
  semaphore& operator=(const semaphore&) = delete;

  // co_await: takes one permit, waiting for it if needed.
  acquire_awaiter acquire() noexcept { return acquire_awaiter(this); }

  bool try_acquire() noexcept {
    lock_.lock();
    bool got = permits_ > 0;
    if (got) --permits_;
    lock_.unlock();
    return got;
  }

  // Returns n permits: first to waiters (FIFO), the rest to the pool.
  void release(std::size_t n = 1) noexcept {
    detail::task_waiter* first = nullptr;
    detail::task_waiter** tail = &first;
    lock_.lock();
    while (n > 0) {
      detail::task_waiter* w = waiters_.pop_front();
      if (w == nullptr) break;
      w->next = nullptr;
      *tail = w;
      tail = &w->next;
      --n;
    }
    permits_ += n;
    lock_.unlock();
    detail::task_waiter_queue::wake_all(first);
  }

  std::size_t available() noexcept {
    lock_.lock();
    std::size_t n = permits_;
    lock_.unlock();
    return n;
  }

 private:
  detail::spinlock lock_;
  std::size_t permits_;
  detail::task_waiter_queue waiters_;
};

}  // namespace weft
