// lock_session: the blocking facade the operator commands use over the
// weft::lock library. It owns a small runtime (one worker) and one opened
// store, and turns the library's asynchronous calls into calls that block the
// main thread while still honouring SIGINT/SIGTERM (through signal_guard).
//
// Thread-safety: used from the main thread only. A held_lease's lost_fd() is
// written from a runtime thread when the library reports the lease lost.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "supervisor.hpp"
#include "weft/result.hpp"

namespace weft::cli {

struct hold_request {
  std::string name;
  std::chrono::milliseconds ttl{10'000};
  // nullopt waits forever; zero tries once.
  std::optional<std::chrono::milliseconds> wait;
  // 0 for a mutex; N for a semaphore of N permits.
  unsigned permits = 0;
  // Election only: the value published with the leadership.
  std::string value;
  // A lock or permit granted at once does not start its renewal thread until
  // held_lease::start_upkeep() (the caller's wait loop calls it).
  bool defer_upkeep = false;
};

// A lock, permit or leadership held by this process.
class held_lease {
 public:
  struct impl;
  explicit held_lease(std::unique_ptr<impl> p);
  held_lease(held_lease&&) noexcept;
  held_lease& operator=(held_lease&&) noexcept;
  ~held_lease();

  std::uint64_t token() const;
  // Starts the lease's renewal if it was deferred (see hold_request). Call
  // it well within ttl/3 of the grant; idempotent.
  void start_upkeep() noexcept;
  // Readable once the lease is lost.
  int lost_fd() const;
  bool lost() const;
  // Releases (or resigns); best effort, bounded.
  result<void> release();

 private:
  std::unique_ptr<impl> impl_;
};

struct leader_info {
  bool present = false;
  std::string value;
  std::uint64_t token = 0;
};

struct lock_listing {
  std::string name;
  std::string kind;  // "mutex", "rw_mutex", "semaphore", "election"
  struct holder {
    std::string id;     // "pid 1234", for people
    std::uint64_t token = 0;
    std::string mode;   // "exclusive" or "shared"
    std::string value;  // election value
    std::optional<std::chrono::milliseconds> time_left;
  };
  std::vector<holder> holders;
  std::size_t waiters = 0;
  std::uint64_t last_token = 0;
};

class lock_session {
 public:
  struct impl;
  // Opens the store; errc::invalid_argument for a bad URI, errc::unreachable
  // when it cannot be reached.
  static result<std::unique_ptr<lock_session>> open(const std::string& uri);
  ~lock_session();

  // Blocks until acquired, the wait runs out (errc::timeout / contended), or
  // a terminating signal arrives (errc::canceled, `signal` set).
  result<held_lease> acquire(const hold_request& request, signal_guard& signals, int& signal);
  // Campaigns for leadership of request.name with request.value.
  result<held_lease> campaign(const hold_request& request, signal_guard& signals, int& signal);
  // Calls `on_change` on the main thread for the current leader and every
  // change, until a terminating signal arrives (returned in `signal`).
  result<void> observe(const std::string& name, signal_guard& signals, int& signal,
                       const std::function<void(const leader_info&)>& on_change);
  // Lists the locks whose names start with prefix.
  result<std::vector<lock_listing>> list(const std::string& prefix);

 private:
  explicit lock_session(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

// How elect and status start: resolve --store (resolve_store_uri) and open
// it. On failure prints "weft <command>: ..." and returns nullptr with the
// exit code in `exit_code`; on success `uri` is the resolved URI.
std::unique_ptr<lock_session> open_session_for(std::string_view command, const std::string& store_option,
                                               std::string& uri, int& exit_code);

}  // namespace weft::cli
