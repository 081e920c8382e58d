// readable / writable: one-shot epoll registrations with an optional timer.
//
// Two sources can settle a wait: the poller (fd ready) and the timer. The
// first to CAS `outcome_` wins; the task is resumed by whoever drops
// `handoff_` to zero, which also counts the end of await_suspend, so the task
// never resumes while await_suspend still runs.
#include <fcntl.h>
#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "runtime/scheduler.hpp"
#include "weft/io.hpp"

namespace weft::detail {

bool io_wait::await_suspend(std::coroutine_handle<> task) noexcept {
  scheduler_ = current_scheduler();
  if (scheduler_ == nullptr) {
    block_without_runtime();
    return false;
  }
  task_ = task;
  if (source_owner_ != nullptr) {
    if (!source_owner_->io_source_park(token_, direction_ == direction::write, observed_, this)) {
      outcome_.store(ready, std::memory_order_relaxed);  // an event came in meanwhile
      return false;
    }
    parked_on_source_ = true;
    if (deadline != clock::time_point::max()) {
      on_fire = &io_wait::on_timer;
      timer_armed_ = true;
      add_timer(scheduler_, this);
    }
    return handoff_.fetch_sub(1, std::memory_order_acq_rel) != 1;
  }
  const std::uint32_t events =
      direction_ == direction::read ? (EPOLLIN | EPOLLRDHUP) : static_cast<std::uint32_t>(EPOLLOUT);
  watched_fd_ = fd_;
  int err = scheduler_->io_register(this, watched_fd_, events, token_);
  if (err == EEXIST) {
    // Another task waits on this fd: watch a duplicate (its own epoll entry).
    const int copy = ::fcntl(fd_, F_DUPFD_CLOEXEC, 0);
    if (copy >= 0) {
      watched_fd_ = copy;
      err = scheduler_->io_register(this, copy, events, token_);
      if (err != 0) {
        ::close(copy);
        watched_fd_ = fd_;
      }
    }
  }
  if (err == EPERM) {  // regular files are always ready
    outcome_.store(ready, std::memory_order_relaxed);
    return false;
  }
  if (err != 0) {
    error_number_ = err;
    outcome_.store(failed, std::memory_order_relaxed);
    return false;
  }
  registered_ = true;
  if (deadline != clock::time_point::max()) {
    on_fire = &io_wait::on_timer;
    timer_armed_ = true;
    add_timer(scheduler_, this);
  }
  return handoff_.fetch_sub(1, std::memory_order_acq_rel) != 1;
}

void io_wait::on_ready() noexcept { settle(ready); }

void io_wait::on_timer(timer_entry* entry) noexcept {
  static_cast<io_wait*>(entry)->settle(timed_out);
}

void io_wait::settle(int how) noexcept {
  int expected = pending;
  if (!outcome_.compare_exchange_strong(expected, how, std::memory_order_acq_rel)) return;
  if (handoff_.fetch_sub(1, std::memory_order_acq_rel) == 1) schedule(scheduler_, task_);
}

void io_wait::block_without_runtime() noexcept {
  pollfd p{};
  p.fd = fd_;
  p.events = direction_ == direction::read ? POLLIN : POLLOUT;
  int timeout_ms = -1;
  if (deadline != clock::time_point::max()) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now()).count();
    timeout_ms = static_cast<int>(std::clamp<long long>(left, 0, INT32_MAX));
  }
  int n = 0;
  do {
    n = ::poll(&p, 1, timeout_ms);
  } while (n < 0 && errno == EINTR);
  if (n > 0 && (p.revents & POLLNVAL) != 0) {
    error_number_ = EBADF;
    outcome_.store(failed, std::memory_order_relaxed);
  } else if (n > 0) {
    outcome_.store(ready, std::memory_order_relaxed);
  } else if (n == 0) {
    outcome_.store(timed_out, std::memory_order_relaxed);
  } else {
    error_number_ = errno;
    outcome_.store(failed, std::memory_order_relaxed);
  }
}

result<void> io_wait::await_resume() noexcept {
  if (timer_armed_) cancel_timer(scheduler_, this);
  if (registered_) scheduler_->io_unregister(watched_fd_, token_, true);
  if (parked_on_source_) source_owner_->io_source_unpark(token_, direction_ == direction::write, this);
  if (watched_fd_ >= 0 && watched_fd_ != fd_) ::close(watched_fd_);
  const char* what = direction_ == direction::read ? "readable" : "writable";
  switch (outcome_.load(std::memory_order_acquire)) {
    case ready:
      return {};
    case timed_out:
      return fail(errc::timeout, "fd " + std::to_string(fd_) + " did not become " + what +
                                     " before the deadline");
    default:
      return fail(errc::io, "cannot wait for fd " + std::to_string(fd_) + " to become " + what +
                                ": " + std::strerror(error_number_) +
                                " (is it an open socket, pipe or eventfd?)");
  }
}

}  // namespace weft::detail
