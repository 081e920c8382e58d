// weft::mutex: an asynchronous mutual-exclusion lock for tasks.
//
//   auto guard = co_await m.lock();   // parks the task, not the thread
//   ... critical section ...          // guard unlocks when it goes away
//
// Waiters are served in FIFO order and the lock is handed directly to the
// next waiter on unlock (no barging), so no task starves.
//
// Thread-safety: all operations may be called from any thread; a task may
// hold the lock across suspension points and resume on another worker. It
// is not recursive. The mutex must outlive its guards and waiters.
//
// Cancel safety: lock() completes only when the lock is acquired.
#pragma once

#include <coroutine>
#include <mutex>
#include <utility>

#include "weft/detail/scheduler.hpp"
#include "weft/detail/spinlock.hpp"
#include "weft/detail/waiter.hpp"

namespace weft {

class mutex {
 public:
  // Owns the lock; unlocks on destruction. Move-only.
  class [[nodiscard]] guard {
   public:
    guard() noexcept = default;
    guard(mutex& m, std::adopt_lock_t) noexcept : mutex_(&m) {}
    guard(guard&& other) noexcept : mutex_(std::exchange(other.mutex_, nullptr)) {}
    guard& operator=(guard&& other) noexcept {
      if (this != &other) {
        unlock();
        mutex_ = std::exchange(other.mutex_, nullptr);
      }
      return *this;
    }
    guard(const guard&) = delete;
    guard& operator=(const guard&) = delete;
    ~guard() { unlock(); }
    bool owns_lock() const noexcept { return mutex_ != nullptr; }
    explicit operator bool() const noexcept { return owns_lock(); }
    // Unlocks early; the guard then owns nothing.
    void unlock() noexcept {
      if (mutex_ != nullptr) std::exchange(mutex_, nullptr)->unlock();
    }

   private:
    mutex* mutex_ = nullptr;
  };

  class [[nodiscard]] lock_awaiter {
   public:
    explicit lock_awaiter(mutex* m) noexcept : mutex_(m) {}
    bool await_ready() noexcept {
      mutex_->lock_.lock();
      if (!mutex_->locked_) {
        mutex_->locked_ = true;
        mutex_->lock_.unlock();
        return true;
      }
      return false;  // lock_ stays held for await_suspend
    }
    void await_suspend(std::coroutine_handle<> h) noexcept {
      waiter_.handle = h;
      waiter_.sched = detail::current_scheduler();
      mutex* m = mutex_;
      m->waiters_.push_back(&waiter_);
      m->lock_.unlock();  // last touch
    }
    guard await_resume() const noexcept { return guard(*mutex_, std::adopt_lock); }

   private:
    mutex* mutex_;
    detail::task_waiter waiter_;
  };

  mutex() noexcept = default;
  mutex(const mutex&) = delete;
  mutex& operator=(const mutex&) = delete;

  // co_await: a guard that owns the lock.
  lock_awaiter lock() noexcept { return lock_awaiter(this); }

  // Takes the lock if it is free (adopt it with guard(m, std::adopt_lock)).
  bool try_lock() noexcept {
    lock_.lock();
    bool got = !locked_;
    locked_ = true;
    lock_.unlock();
    return got;
  }

  // Releases the lock, handing it to the first waiter if there is one.
  void unlock() noexcept {
    lock_.lock();
    detail::task_waiter* next = waiters_.pop_front();
    if (next == nullptr) locked_ = false;
    lock_.unlock();
    if (next != nullptr) next->wake();
  }

 private:
  detail::spinlock lock_;
  bool locked_ = false;
  detail::task_waiter_queue waiters_;
};

}  // namespace weft
