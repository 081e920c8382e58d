// Supervision of one child command for `weft lock`, `weft sem` and `weft elect`.
//
// The child runs in its own process group with the caller's extra environment.
// SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 sent to weft are
// forwarded to that group. When the "stop" descriptor becomes readable (the
// lease was lost), the group gets SIGTERM, then SIGKILL once the grace period
// has passed. The child is always reaped: no zombie is left behind. If weft
// itself is killed, the child gets SIGKILL (PR_SET_PDEATHSIG), so it never
// goes on running unguarded.
//
// Thread-safety: a signal_guard must be created on the main thread before any
// other thread starts, so that every thread inherits the blocked mask and the
// signals reach the signalfd. One supervisor runs at a time.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "weft/result.hpp"

namespace weft::cli {

// Blocks the forwarded signals and SIGCHLD in the calling thread (and so in
// every thread started after it) and reads them through a signalfd.
class signal_guard {
 public:
  signal_guard();
  ~signal_guard();
  signal_guard(const signal_guard&) = delete;
  signal_guard& operator=(const signal_guard&) = delete;

  int fd() const noexcept { return fd_; }
  // Reads one pending signal without blocking; 0 when none is pending.
  int take() noexcept;

 private:
  int fd_ = -1;
};

// A one-shot, thread-safe notification readable through poll(2): an eventfd.
class notifier {
 public:
  notifier();
  ~notifier();
  notifier(const notifier&) = delete;
  notifier& operator=(const notifier&) = delete;

  int fd() const noexcept { return fd_; }
  // Safe from any thread, any number of times. Everything written before
  // notify() is visible to a thread that then sees notified() true; only
  // then may the waiter destroy the notifier (the fd turns readable first).
  void notify() noexcept;
  bool notified() const noexcept { return flag_.load(std::memory_order_acquire); }

 private:
  int fd_ = -1;
  std::atomic<bool> flag_{false};
};

struct child_spec {
  std::vector<std::string> argv;
  // Added to (or replacing in) the inherited environment.
  std::vector<std::pair<std::string, std::string>> environment;
  std::chrono::milliseconds grace{5000};
  // Called once, on this thread, if the child still runs `upkeep_after`
  // after it started: `weft lock` starts its lease's renewal there, so a
  // command that ends sooner never starts a thread.
  std::function<void()> upkeep;
  std::chrono::milliseconds upkeep_after{0};
};

struct child_outcome {
  // The shell-style status: the exit code, or 128 + signal when killed.
  int status = 0;
  // The stop descriptor fired and the child was stopped because of it.
  bool stopped = false;
  // The signal that finally ended a stopped child (SIGTERM or SIGKILL), 0 otherwise.
  int stop_signal = 0;
};

// Starts the child and waits for it. `stop_fd` (or -1) is polled; when it
// becomes readable the child is stopped as described above. Fails with
// errc::not_found (command not found) or errc::permission_denied (not
// executable) when the command cannot be started.
result<child_outcome> run_child(const child_spec& spec, signal_guard& signals, int stop_fd);

// Result of waiting for something while still honouring signals.
enum class wait_outcome { ready, signalled };

// Polls `fd` until it is readable or a terminating signal arrives (returned
// through `signal`). Used while acquiring, so Ctrl-C cancels the wait.
// With `other_fd` >= 0, either descriptor being readable counts as ready.
wait_outcome wait_readable_or_signal(int fd, signal_guard& signals, int& signal,
                                     int other_fd = -1);

}  // namespace weft::cli
