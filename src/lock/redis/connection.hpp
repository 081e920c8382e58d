// A Redis connection for the lock store: one TCP socket, pipelined and shared
// by every task of a store (replies come back in order, so thousands of leases
// and waiters need no socket of their own), driven by the weft poller.
//
// Replies are parsed by hiredis (redisReader); commands are formatted here
// (RESP arrays of bulk strings); the socket, its readiness waits and its
// lifetime are ours.
// hiredis's own async context frees itself from whichever thread hits an error,
// which races the poller under an M:N scheduler, so it is not used.
//
// A call writes inline from the calling task (no extra hop) and parks until a
// reader task, parked on readable(fd), hands it its reply. Every call has a
// deadline; a call that times out drops the socket (its replies could no
// longer be trusted to arrive), and the next call reconnects with backoff.
//
// Thread-safety: every member function may be called from any runtime task.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "parking.hpp"
#include "weft/clock.hpp"
#include "weft/result.hpp"
#include "weft/task.hpp"

namespace weft::lock::redis_detail {

// A parsed RESP reply.
struct reply {
  enum class kind : unsigned char { nil, status, error, integer, string, array };
  kind type = kind::nil;
  long long integer = 0;
  std::string text;  // status, error and bulk string
  std::vector<reply> elements;

  bool is_error() const noexcept { return type == kind::error; }
};

// Where and as whom to connect.
struct server_address {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string user;      // ACL user; empty for the default user
  std::string password;  // empty for none
  int database = 0;

  std::string describe() const { return host + ":" + std::to_string(port); }
};

struct connection_options {
  server_address where;
  std::chrono::milliseconds connect_timeout{2000};
  // Reconnect backoff: doubles from min to max after each failed connect.
  std::chrono::milliseconds backoff_min{25};
  std::chrono::milliseconds backoff_max{1000};
  // Subscriber connections: `on_push` gets each pub/sub message (channel, payload),
  // `on_reconnect` runs after a reconnect re-subscribed (messages may have been lost).
  std::vector<std::string> subscribe;
  std::function<void(std::string_view channel, std::string_view payload)> on_push;
  std::function<void()> on_reconnect;
};

// Formats one command (a RESP array of bulk strings) straight into one
// buffer: no argument vector, no copies per argument.
class command_builder {
 public:
  explicit command_builder(std::size_t argument_count, std::size_t bytes_hint = 256);
  command_builder& add(std::string_view argument);
  std::string take() && { return std::move(text_); }

 private:
  std::string text_;
};

class connection : public std::enable_shared_from_this<connection> {
 public:
  static std::shared_ptr<connection> make(connection_options options);
  ~connection();
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;

  // Sends one command and waits for its reply until `deadline`. A Redis error
  // reply is returned as a reply of kind error, not as a failure; failures are
  // errc::unreachable (cannot connect / connection lost), errc::timeout and
  // errc::permission_denied (authentication refused). With `precise` the
  // deadline is kept to the timer's precision (lease renewals); otherwise to
  // the connection watchdog's tick, which costs nothing per call.
  task<result<reply>> call(std::vector<std::string> arguments, clock::time_point deadline,
                           bool precise = false);
  // The same for a command formatted by command_builder; `what` names it in
  // messages (e.g. "FCALL"). Without `wait_out_backoff`, a call made while the
  // connection is down and waiting to reconnect fails at once instead of
  // waiting for the next attempt (Redlock releases: a master that is down must
  // not hold the caller up; its key runs out by its TTL).
  task<result<reply>> call_formatted(std::string command, std::string_view what, clock::time_point deadline,
                                     bool precise = false, bool wait_out_backoff = true);

  // Writes one command without waiting for (or ever looking at) its reply; the
  // next task to read the connection discards the reply. No task is involved,
  // so it cannot be abandoned by a runtime that shuts down. False when not
  // connected (nothing is sent). For best-effort work such as a lease's
  // release from its destructor.
  bool send_detached(const std::vector<std::string>& arguments);

  // Connects (and subscribes) now instead of on first use.
  task<result<void>> connect(clock::time_point deadline);

  // Subscriber connections: connects (and subscribes) if needed and makes sure
  // a task reads the pushes. True when it had to connect afresh (a push sent
  // before then was missed). Cheap when a reader already runs.
  task<result<bool>> start_reading(clock::time_point deadline);
  // Subscriber connections, without a reader task: waits until `slot` is
  // signalled (on_push signals it) or `deadline`, reading pushes meanwhile
  // when no other task does (the waiters of a store take turns). Nothing is
  // left parked on the connection once every waiter has returned.
  task<void> wait_reading(std::shared_ptr<parking> slot, clock::time_point deadline);
  // Ends that task: shuts the connection down (the next start_reading
  // reconnects) and waits until the task has finished, so that no task is
  // left parked on the connection when nobody needs pushes; but no longer
  // than `deadline`, so that a caller (an acquire that already holds its
  // lease) never hangs on a reader that does not come back.
  task<void> stop_reading(clock::time_point deadline);

  // Closes the socket; pending calls fail with errc::unreachable.
  void close() noexcept;

  const server_address& where() const noexcept { return options_.where; }
  // Number of (re)connections made; for tests.
  std::uint64_t connects() const noexcept;

  struct link;  // one TCP connection's lifetime; internal

 private:
  explicit connection(connection_options options);
  task<result<std::shared_ptr<link>>> current_link(clock::time_point deadline, bool wait_out_backoff = true);
  task<result<std::shared_ptr<link>>> open_link(clock::time_point deadline);

  connection_options options_;
  mutable std::mutex mutex_;
  std::shared_ptr<link> link_;
  bool connecting_ = false;
  bool closed_ = false;
  std::vector<std::shared_ptr<parking>> connect_waiters_;
  clock::time_point next_attempt_{};
  std::chrono::milliseconds backoff_{0};
  error last_error_{errc::unreachable, "not connected yet"};
  std::uint64_t connects_ = 0;
};

}  // namespace weft::lock::redis_detail
