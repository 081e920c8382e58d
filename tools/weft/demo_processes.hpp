// Small process helpers for `weft demo`: start a program with posix_spawn,
// wait for it with a deadline, signal it, and the demo's worker child, which
// the demo runs under `weft lock` / `weft elect` as `weft demo-worker ...`.
//
// Thread-safety: plain functions; a process handle is owned by one thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace weft::cli::demo {

// The path of the running weft executable (/proc/self/exe resolved).
std::string self_path();

class process {
 public:
  // Starts argv[0] (an absolute path) with stdout and stderr appended to
  // `log` (or inherited when empty) and stdin from /dev/null.
  static std::optional<process> start(const std::vector<std::string>& argv,
                                      const std::string& log);

  process(process&& other) noexcept : pid_(other.pid_), status_(other.status_) {
    other.pid_ = -1;
  }
  process& operator=(process&& other) noexcept;
  process(const process&) = delete;
  process& operator=(const process&) = delete;
  // Kills (SIGKILL) and reaps a process still running: never leaves a zombie.
  ~process();

  pid_t pid() const noexcept { return pid_; }
  void signal(int sig) const noexcept;
  // The shell-style status, once exited.
  std::optional<int> poll();
  std::optional<int> wait_for(std::chrono::milliseconds timeout);
  int wait();

 private:
  explicit process(pid_t pid) noexcept : pid_(pid) {}
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// Waits until `predicate` holds or the timeout passes; true if it held.
template <typename Predicate>
bool wait_until(Predicate predicate, std::chrono::milliseconds timeout);

std::string read_file(const std::string& path);
bool file_exists(const std::string& path);
// Replaces the file's contents atomically (write to a temporary, rename).
bool write_file_atomic(const std::string& path, const std::string& contents);

// `weft demo-worker MODE ARGS...`: the child commands the demo runs.
int run_worker(const std::vector<std::string>& args);

}  // namespace weft::cli::demo

#include <thread>

namespace weft::cli::demo {
template <typename Predicate>
bool wait_until(Predicate predicate, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}
}  // namespace weft::cli::demo
