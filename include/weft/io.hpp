// weft::readable / weft::writable: await readiness of a file descriptor.
//
//   if (auto r = co_await weft::readable(fd, 2s); !r) { /* errc::timeout or errc::io */ }
//
// This is how C client libraries with their own sockets (hiredis,
// ZooKeeper) are driven from tasks: ask the library for its fd and the
// direction it wants, await it, then call the library's non-blocking step.
// Readiness comes from the runtime's epoll poller; the task holds no thread
// while it waits. The fd must be non-blocking for the follow-up call not to
// block. An fd in an error or hang-up state reports ready (the follow-up
// call reports the error). A regular file is always ready.
//
// Results: success, errc::timeout when the deadline passed first, errc::io
// when the fd cannot be watched (e.g. a closed fd).
//
// Several tasks may wait on the same fd at once (e.g. one reading, one
// writing). Off a runtime, the calling thread blocks in poll(2) instead.
//
// Thread-safety: the awaitable belongs to the awaiting task; do not close the
// fd while a task waits on it.
#pragma once

#include <atomic>
#include <coroutine>
#include <cstdint>

#include "weft/clock.hpp"
#include "weft/detail/scheduler.hpp"
#include "weft/result.hpp"

namespace weft {
namespace detail {

class io_wait : private timer_entry {
 public:
  enum class direction : unsigned char { read, write };

  io_wait(int fd, direction dir, clock::time_point when) noexcept
      : fd_(fd), direction_(dir) {
    this->deadline = when;
  }
  // Waits on a persistent source (tcp_stream) registered with `source_owner`:
  // parks only if no event arrived since the count `observed` was read.
  io_wait(scheduler* source_owner, std::uint64_t source, int fd, direction dir,
          std::uint64_t observed, clock::time_point when) noexcept
      : fd_(fd), direction_(dir), token_(source), observed_(observed), source_owner_(source_owner) {
    this->deadline = when;
  }
  io_wait(const io_wait&) = delete;
  io_wait& operator=(const io_wait&) = delete;

  bool await_ready() const noexcept { return false; }
  bool await_suspend(std::coroutine_handle<> task) noexcept;
  result<void> await_resume() noexcept;

  // Called by the poller (under its lock) when the fd is ready.
  void on_ready() noexcept;

 private:
  enum outcome : int { pending = 0, ready = 1, timed_out = 2, failed = 3 };
  static void on_timer(timer_entry* entry) noexcept;
  void settle(int how) noexcept;
  void block_without_runtime() noexcept;

  int fd_;
  direction direction_;
  int watched_fd_ = -1;  // fd_ or a dup of it registered with epoll
  int error_number_ = 0;
  bool timer_armed_ = false;
  bool registered_ = false;
  bool parked_on_source_ = false;
  std::uint64_t token_ = 0;
  std::uint64_t observed_ = 0;
  scheduler* source_owner_ = nullptr;
  scheduler* scheduler_ = nullptr;
  std::coroutine_handle<> task_;
  std::atomic<int> outcome_{pending};
  std::atomic<int> handoff_{2};  // suspend finished + outcome settled
};

}  // namespace detail

inline constexpr clock::time_point no_deadline = clock::time_point::max();

[[nodiscard]] inline detail::io_wait readable(int fd, clock::time_point deadline = no_deadline) noexcept {
  return detail::io_wait(fd, detail::io_wait::direction::read, deadline);
}
[[nodiscard]] inline detail::io_wait readable(int fd, clock::duration timeout) noexcept {
  return detail::io_wait(fd, detail::io_wait::direction::read, clock::now() + timeout);
}
[[nodiscard]] inline detail::io_wait writable(int fd, clock::time_point deadline = no_deadline) noexcept {
  return detail::io_wait(fd, detail::io_wait::direction::write, deadline);
}
[[nodiscard]] inline detail::io_wait writable(int fd, clock::duration timeout) noexcept {
  return detail::io_wait(fd, detail::io_wait::direction::write, clock::now() + timeout);
}

}  // namespace weft
