// One ZooKeeper session shared by every lock of a zk:// store, over the
// official C client's asynchronous API (libzookeeper-mt).
//
// The C client runs two threads of its own (I/O and completions). Every
// request here is issued from a task, which then parks; the completion
// thread stores the answer and wakes the task with weft::detail::schedule(), so no
// task ever blocks a worker thread. Watches go to one session-wide watcher
// that wakes the tasks waiting on that path.
//
// Lease safety (the rule documented in docs/LOCKS.md): the server keeps the
// session alive for at least `session_timeout` after it last heard from us,
// and it heard from us no earlier than when we sent the latest request it
// answered. So a lease is provably safe until last_answered_send_time +
// session_timeout. The session marks every lease lost once
// now - last_answered_send_time >= 2/3 of the negotiated session timeout,
// which leaves the holder a third of the timeout to stop before anyone else
// can be granted the lock. A watchdog thread sends a probe (exists) every
// third of the timeout so a healthy session never comes close. Expiry, an
// authentication failure and closing mark leases lost at once.
// A lease is also lost alone when the holder watch on its own node reports
// the node deleted or no longer this session's (watch_node/hold_node); that
// watch is sent holder_watch_delay() after the node's create, so a short
// hold costs no extra request.
//
// Thread-safety: all members are thread-safe.
#pragma once

#include <zookeeper/zookeeper.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <coroutine>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "weft/detail/scheduler.hpp"
#include "weft/result.hpp"
#include "weft/task.hpp"

namespace weft::lock::zk {

// A one-shot wake-up for one parked task: wake() from any thread resumes the
// task through its scheduler, or makes the next park() return at once.
class parker {
 public:
  void wake() noexcept {
    if (state_.exchange(woken, std::memory_order_acq_rel) == parked) {
      if (scheduler_ != nullptr) weft::detail::schedule(scheduler_, handle_);
      else handle_.resume();
    }
  }
  bool is_woken() const noexcept { return state_.load(std::memory_order_acquire) == woken; }
  // Only while nobody can wake it (not registered anywhere).
  void reset() noexcept { state_.store(idle, std::memory_order_relaxed); }

  auto park() noexcept {
    struct awaiter {
      parker* self;
      bool await_ready() const noexcept { return self->is_woken(); }
      bool await_suspend(std::coroutine_handle<> h) noexcept {
        self->handle_ = h;
        self->scheduler_ = weft::detail::current_scheduler();
        int expected = idle;
        return self->state_.compare_exchange_strong(expected, parked, std::memory_order_acq_rel);
      }
      void await_resume() const noexcept {}
    };
    return awaiter{this};
  }

 private:
  static constexpr int idle = 0, parked = 1, woken = 2;
  std::atomic<int> state_{idle};
  weft::detail::scheduler* scheduler_ = nullptr;
  std::coroutine_handle<> handle_;
};

// What a request answered. Only the fields of the request's kind are set.
struct reply {
  int rc = ZSYSTEMERROR;
  Stat stat{};
  std::string value;                  // created path, or node data
  std::vector<std::string> children;  // get_children
  bool ok() const noexcept { return rc == ZOK; }
};

// True for the answers that say "no answer from the server": the request may
// or may not have been applied.
bool is_connection_error(int rc) noexcept;
// Maps a ZooKeeper error to a weft error with `what` as context.
weft::error to_error(int rc, std::string_view what);

struct session_options {
  std::string hosts;                                      // "h1:p1,h2:p2"
  std::chrono::milliseconds session_timeout{10000};
  std::string auth;                                       // "user:password" or empty
  std::chrono::milliseconds connect_timeout{0};           // 0: the session timeout
};

enum class connection_state { connecting, connected, expired, closed };

// Called on lease-loss events with the reason. Registered per lease.
using lost_callback = std::function<void(const std::string& reason)>;

class session : public std::enable_shared_from_this<session> {
 public:
  static result<std::shared_ptr<session>> create(session_options options);
  ~session();
  session(const session&) = delete;
  session& operator=(const session&) = delete;

  bool authenticated() const noexcept { return !options_.auth.empty(); }
  // The ACL for every node we create: creator-only with auth, open otherwise.
  const ACL_vector* acl() const noexcept;
  std::chrono::milliseconds session_timeout() const noexcept;

  // The session id requests go to now (0 while none is established).
  std::int64_t session_id() const noexcept { return session_id_.load(std::memory_order_acquire); }
  // Bumped each time a new session replaces an expired one.
  std::uint64_t generation() const noexcept { return generation_.load(std::memory_order_acquire); }
  connection_state state() const noexcept { return state_.load(std::memory_order_acquire); }
  // The session's id and password (for tests that expire it from outside).
  clientid_t client_id() const;

  // Requests. Each completes into the calling task; none blocks a thread.
  task<reply> create(std::string path, std::string data, int mode);
  task<reply> remove(std::string path, int version = -1);
  task<reply> get_children(std::string path, bool watch = false);
  task<reply> exists(std::string path, bool watch = false);
  task<reply> get(std::string path, bool watch = false);
  task<reply> set(std::string path, std::string data, int version = -1);
  // Sends a create and then a get_children of `dir` back to back, without
  // waiting in between: ZooKeeper executes one session's requests in order,
  // so the listing already contains the new node. One round trip for two.
  task<std::pair<reply, reply>> create_then_list(std::string path, std::string data, int mode, std::string dir);
  // Creates every missing persistent node on `path` ("/a/b/c"), with acl().
  task<reply> ensure_path(std::string path);

  // Deletes `path` in the background, retrying across reconnections until the
  // server answers (or the session it belongs to has expired).
  void remove_detached(std::string path, std::int64_t owner_session);

  // Watches. A watch_slot is registered for a path before the request that
  // sets the watch, so no event is lost; any event on the path (or a session
  // expiry, or close) wakes it once.
  struct watch_slot {
    parker* wake = nullptr;
    std::string path;
    bool registered = false;
  };
  void add_watch(watch_slot& slot);
  void remove_watch(watch_slot& slot) noexcept;

  // Parks `p` until the state changes from `seen` (connected, expired, closed).
  // Returns false when it was already different (no park needed).
  bool add_state_waiter(parker* p, connection_state seen);
  void remove_state_waiter(parker* p) noexcept;

  // Lease bookkeeping: `on_lost` runs once when the session can no longer
  // vouch for leases of session `owner` (expiry, no contact, close).
  std::uint64_t watch_lease(std::int64_t owner, lost_callback on_lost);
  void unwatch_lease(std::uint64_t id) noexcept;

  // Holder watches: every entry node this session creates is watched (a
  // getData with a watch, not waited for) once it has been queued or held
  // for holder_watch_delay(), until the server reports it deleted, so a
  // holder hears when another client deletes its node. Armed late, not at
  // the create: a short hold (released before the delay) costs no request
  // and no echo; a node deleted before the watch is armed is still reported,
  // by the getData's answer (ZNONODE, or an owner that is not us), so the
  // delay only bounds how late a foreign deletion is detected. getData, not
  // exists: on a missing node it leaves no watch behind.
  //   watch_node: right after the create answered (owner: its ephemeralOwner);
  //     the watchdog arms it holder_watch_delay() later.
  //   hold_node: a lease now holds it; on_lost runs once when the node is
  //     deleted, or its owner or session is no longer `owner` (at once if
  //     that happened already). Our own data change re-arms the watch.
  //   release_node: we delete it ourselves (release, abandon): no on_lost;
  //     not armed yet: forgotten at once (no request was sent); otherwise
  //     the entry goes when the server's deletion event (or answer) arrives.
  void watch_node(const std::string& path, std::int64_t owner);
  void hold_node(const std::string& path, lost_callback on_lost);
  void release_node(const std::string& path) noexcept;
  // min(100 ms, session timeout / 10): how long an entry is queued or held
  // before its holder watch is sent.
  std::chrono::milliseconds holder_watch_delay() const noexcept;
  // Tests only: another delay for entries created from now on (0: the rule).
  void set_holder_watch_delay_for_testing(std::chrono::milliseconds delay) noexcept {
    holder_watch_delay_override_ms_.store(delay.count(), std::memory_order_relaxed);
  }
  // Entries still tracked (for tests: back to zero once released nodes are gone).
  std::size_t node_watch_count();
  // Entries whose watch the server holds now (for tests).
  std::size_t armed_node_watch_count();

  // Counters for the benchmark: requests sent for tasks (the watchdog's
  // liveness probes are not counted), and watch notifications received.
  std::uint64_t requests_sent() const noexcept { return requests_.load(std::memory_order_relaxed); }
  // Notifications that woke a waiter or an observer (a node or a listing it
  // watched changed).
  std::uint64_t notifications() const noexcept { return notifications_.load(std::memory_order_relaxed); }
  // Notifications on this session's own entry nodes (holder watches): the
  // echo of our own release's delete, or the alarm when someone else's is.
  std::uint64_t holder_notifications() const noexcept {
    return holder_notifications_.load(std::memory_order_relaxed);
  }

  struct pending;  // one request in flight (internal)

 private:
  explicit session(session_options options);
  result<void> open_handle();
  void watchdog_loop();
  void on_event(int type, int state, const char* path);
  void confirm(std::chrono::steady_clock::time_point sent) noexcept;
  void lose_leases(std::int64_t owner, const std::string& reason);
  void wake_state_waiters_locked();
  void wake_all_watches_locked();
  template <typename Issue>
  task<reply> run(Issue issue);
  void send_probe();
  void retry_orphans();
  struct node_watch;
  void arm_node(const std::string& path, const std::shared_ptr<node_watch>& watch);
  void arm_pending_nodes();
  // The earliest due time of a watch not sent yet, or `limit`. mutex_ held.
  std::chrono::steady_clock::time_point next_arm_locked(std::chrono::steady_clock::time_point limit) const;
  void node_answer(const std::string& path, const std::shared_ptr<node_watch>& watch, int rc, const Stat* stat);

  static void watcher(zhandle_t* zh, int type, int state, const char* path, void* context);

  session_options options_;
  // The handle is swapped only by the watchdog (after expiry); requests hold
  // the shared side while they issue, so the old handle is never used after
  // it is closed.
  mutable std::shared_mutex handle_mutex_;
  zhandle_t* handle_ = nullptr;
  // The expired handle a new session replaced, closed later by the watchdog
  // (see open_handle). Touched only by the watchdog, then the destructor.
  zhandle_t* retired_ = nullptr;
  std::chrono::steady_clock::time_point retired_at_{};

  std::atomic<std::int64_t> session_id_{0};
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<connection_state> state_{connection_state::connecting};
  std::atomic<int> negotiated_timeout_ms_{0};
  std::atomic<std::int64_t> holder_watch_delay_override_ms_{0};
  // steady_clock nanoseconds: send time of the latest request the server answered.
  std::atomic<std::int64_t> last_confirmed_ns_{0};
  std::atomic<std::uint64_t> requests_{0};
  std::atomic<std::uint64_t> notifications_{0};
  std::atomic<std::uint64_t> holder_notifications_{0};
  // Background requests (probes, orphan deletes) not yet completed: the
  // destructor lets them finish before closing, or the C client leaks them.
  std::atomic<int> detached_in_flight_{0};

  std::mutex mutex_;  // guards everything below
  std::condition_variable watchdog_wake_;
  bool stopping_ = false;
  bool expired_pending_ = false;  // the watchdog must open a new session
  bool probe_in_flight_ = false;
  std::unordered_multimap<std::string, watch_slot*> watches_;
  std::vector<parker*> state_waiters_;
  struct lease_watch {
    std::int64_t owner;
    lost_callback on_lost;
  };
  std::unordered_map<std::uint64_t, lease_watch> leases_;
  std::uint64_t next_lease_id_ = 1;
  struct orphan {
    std::string path;
    std::int64_t owner;
    bool in_flight = false;
  };
  std::vector<std::shared_ptr<orphan>> orphans_;
  struct node_watch {
    std::int64_t owner = 0;
    std::chrono::steady_clock::time_point due{};  // when to send the watch
    bool armed = false;      // the server holds our watch on the node
    bool in_flight = false;  // a getData + watch is on its way
    bool released = false;   // we delete it ourselves: never on_lost
    std::string gone;        // why it stopped being ours, before a lease held it
    lost_callback on_lost;   // set by hold_node
  };
  std::unordered_map<std::string, std::shared_ptr<node_watch>> node_watches_;
  std::thread watchdog_;
};

}  // namespace weft::lock::zk
