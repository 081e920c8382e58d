// weft::lock::store: where locks live, and the interface every backend implements.
//
// open(uri) picks a backend by scheme through a registry: weft::lock gives
// mem://, weft::lock_file adds file:///dir (link it to get it), and later
// targets add redis://, redlock:// and zk:// the same way. The recipes
// (mutex, rw_mutex, semaphore, election) are thin value types over the
// store's acquire(): one queue per (recipe, name), served FIFO, where an
// entry is granted when it and every entry before it fit together:
//   exclusive: no other holder;  shared: no exclusive holder;
//   limit N:   fewer than N holders (semaphores; 1 for mutexes and elections).
// A store is shared by many tasks; open it once per process and keep it.
//
// The default store (open_default): $WEFT_STORE if set, otherwise
// file://$XDG_RUNTIME_DIR/weft/locks (per-user tmpfs: fast, gone at logout),
// otherwise file://$XDG_STATE_HOME/weft/locks, otherwise
// file://$HOME/.local/state/weft/locks. Relative XDG paths are ignored, as
// the XDG spec requires.
//
// Thread-safety: every member function of store is thread-safe. Cancel
// safety: acquire() and holders() leave no trace when their context is
// cancelled (a waiter leaves the queue before acquire() returns; the next
// waiter is not delayed; a grant that raced the cancellation is released).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "weft/lock/lease.hpp"
#include "weft/lock/uri.hpp"
#include "weft/context.hpp"
#include "weft/result.hpp"
#include "weft/task.hpp"

namespace weft::lock {

// Longest lock name accepted, in bytes. Names may hold any bytes, including
// '/', ".." and NUL: every store encodes them safely.
inline constexpr std::size_t max_name_length = 4096;

// errc::invalid_argument when `name` is empty or longer than max_name_length.
result<void> check_name(std::string_view name);

enum class recipe : unsigned char { mutex, rw_mutex, semaphore, election };
enum class access : unsigned char { exclusive, shared };
std::string_view to_string(recipe kind) noexcept;

struct lease_options {
  // How long the lease survives without renewal; renewal runs every ttl/3.
  // Also bounds how long a paused or partitioned holder keeps others out.
  std::chrono::nanoseconds ttl = std::chrono::seconds(10);
};
// errc::invalid_argument unless 100ms <= ttl <= 1 day.
result<void> check_options(const lease_options& options);

// What a recipe asks the store for.
struct acquire_request {
  recipe kind = recipe::mutex;
  std::string name;
  access mode = access::exclusive;
  std::uint64_t limit = 1;  // most holders at once (semaphore permits)
  std::string value;        // election: the candidate's value
  lease_options options;
  bool wait = true;         // false: a try_ variant, fail with errc::contended
  // acquire_now only: the lease's renewal starts only at
  // lease::start_upkeep(), which the caller must call well within ttl/3
  // (if it comes late, the lease is found lost, never silently kept). For a
  // caller that often gives the lease back within milliseconds and would
  // otherwise start a thread for nothing (`weft lock`).
  bool defer_upkeep = false;
};

// One holder as `weft status` and election observers see it. Never contains
// the holder's secret owner id.
struct holder_info {
  std::uint64_t token = 0;
  access mode = access::exclusive;
  std::string value;     // election value, or empty
  std::string holder;    // who holds it, for people: "pid 1234", "task 7"
  std::chrono::nanoseconds time_left{0};  // until the lease expires unless renewed
};

struct lock_info {
  recipe kind = recipe::mutex;
  std::string name;
  std::vector<holder_info> holders;  // in grant order
  std::size_t waiters = 0;
};

class store : public std::enable_shared_from_this<store> {
 public:
  virtual ~store();

  // The URI this store was opened with, password redacted.
  virtual std::string uri() const = 0;

  // Queues the request and waits (unless !request.wait) until granted, the
  // context ends (errc::canceled / deadline_exceeded; the entry leaves the
  // queue) or the store fails (errc::unreachable, io, ...). The request has
  // been checked by the recipe (name, limit, options).
  virtual task<result<lease>> acquire(acquire_request request, context ctx) = 0;

  // Grants `request` on the calling thread, without a runtime and without
  // waiting for other holders, when the store can decide at once: the lease,
  // errc::contended when the lock is held (the request leaves no trace, even
  // with request.wait), or errc::unsupported when this store cannot answer
  // without waiting (a remote store, a queue busy in another process): then
  // use acquire(). For short-lived processes that should not start a runtime
  // (`weft lock`). The default answers errc::unsupported.
  virtual result<lease> acquire_now(const acquire_request& request);

  // The locks whose name starts with `prefix`, for `weft status`.
  virtual task<result<std::vector<lock_info>>> list(std::string prefix, context ctx) = 0;

  // Current holders of (kind, name). If `known` is given, first waits until
  // the holders' tokens differ from *known (push-based where the store can).
  virtual task<result<std::vector<holder_info>>> holders(
      recipe kind, std::string name, std::optional<std::vector<std::uint64_t>> known,
      context ctx) = 0;
};

using store_factory = std::function<result<std::shared_ptr<store>>(const store_uri&)>;

// Plugs a backend into open(). Backends call it from a static registrar;
// registering a scheme twice keeps the first factory.
void register_store(std::string scheme, store_factory factory);
// The schemes open() knows in this binary, sorted ("file", "mem", ...).
std::vector<std::string> registered_schemes();

// Opens the store at `uri`. errc::invalid_argument for a malformed URI or an
// unknown scheme (the message lists the known ones), otherwise the backend's
// error. Credentials are never echoed.
result<std::shared_ptr<store>> open(std::string_view uri);

// The default store's URI per the rule above (WEFT_STORE first).
result<std::string> default_store_uri();
// open(default_store_uri()).
result<std::shared_ptr<store>> open_default();

}  // namespace weft::lock
