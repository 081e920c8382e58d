// file_engine: the file store's machinery, without coroutines.
//
// Each acquisition is a participant: a p-<owner> file that its owner keeps an
// OFD write lock on (so the kernel frees it the instant the owner dies) and
// whose content is the owner's lease expiry (renewed every ttl/3 by the keeper
// thread), plus an entry in the lock's queue (the state file), changed only
// under the lock's meta OFD lock. A waiter watches, with inotify, its own
// p-file (a granter touches it) and its predecessor's (the entry before it;
// the holders for the first waiter), so a release or a death wakes only the
// next waiter. The first waiter also arms a timer at the holders' expiry,
// after which it evicts a holder that stopped renewing (a paused process).
//
// Thread-safety: all public members are thread-safe. Callbacks (on_done,
// watch callbacks) run on the engine's watcher thread or, for immediate
// results, on the caller's; they must not block.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "lock/file/layout.hpp"
#include "weft/lock/lease.hpp"
#include "weft/lock/store.hpp"
#include "weft/result.hpp"

namespace weft::lock::file_detail {

// CLOCK_BOOTTIME in nanoseconds: one clock for every process on the host.
std::int64_t boot_now() noexcept;

class file_engine;
struct lock_dir;

struct participant {
  enum class phase { waiting, held, finished };
  std::shared_ptr<lock_dir> dir;
  std::string owner;  // 32 hex digits, from getrandom: the claim on the entry
  acquire_request request;
  int fd = -1;        // the p-file, OFD-locked; closed under io_mutex
  std::mutex io_mutex;  // keeps fd open during a renewal or a check
  // Guarded by the engine's mutex_:
  phase state = phase::waiting;
  std::uint64_t token = 0;
  std::int64_t expiry = 0;      // what our p-file says
  std::int64_t next_renew = 0;
  bool lost = false;
  bool left = false;             // leave() ran (or is running)
  std::function<void(result<lease>)> on_done;  // waiting -> held/failed, once
  std::weak_ptr<lease_state> granted;
  std::vector<int> watches;     // inotify watch ids this participant wakes on
  std::int64_t timer = 0;       // boot_now() deadline for an examine, 0 = none
};

struct enqueued {
  std::shared_ptr<participant> who;
  std::optional<lease> granted;  // set when granted at once
  bool would_block = false;      // may_block was false and the queue was busy: call join_queue(who, true)
};

class file_engine : public std::enable_shared_from_this<file_engine> {
 public:
  // Opens (creating, 0700) the store directory `root`, which must be an
  // absolute path owned by this user and not a symbolic link.
  static result<std::shared_ptr<file_engine>> open(std::string root);
  file_engine(const file_engine&) = delete;
  file_engine& operator=(const file_engine&) = delete;
  ~file_engine();

  const std::string& root() const noexcept { return root_; }

  // Joins the queue. Granted at once: `granted` is set and on_done is never
  // called. Otherwise (request.wait) on_done is called once, later, with the
  // lease or an error; !request.wait fails with errc::contended instead.
  // With may_block = false, never waits for the queue's lock: if it is busy
  // the participant is prepared and `would_block` is set; finish with
  // join_queue(who, true) off the runtime's workers.
  result<enqueued> enqueue(const acquire_request& request, std::function<void(result<lease>)> on_done,
                           bool may_block = true);
  result<enqueued> join_queue(const std::shared_ptr<participant>& who, bool may_block);
  // Starts the keeper for a participant enqueued with defer_upkeep (the
  // keeper renews every participant); on failure the lease is marked lost.
  void start_upkeep(const std::shared_ptr<participant>& who) noexcept;
  // Drops a participant that enqueue() prepared but left out of the queue
  // (would_block): no queue change, so no wait for the queue's lock.
  void abandon(const std::shared_ptr<participant>& who);
  // Leaves the queue. False when the grant won the race: on_done has been or
  // is being called with the lease, which the caller must then release.
  bool cancel(const std::shared_ptr<participant>& who);
  // Gives up a held entry (or a lost one). errc::lease_lost if it had been evicted.
  // With may_block = false: errc::unsupported when it would have to wait.
  result<void> release(const std::shared_ptr<participant>& who, bool may_block = true);
  // As release, on the watcher thread; never blocks.
  void release_later(const std::shared_ptr<participant>& who) noexcept;

  result<std::vector<lock_info>> list(std::string_view prefix);
  // Current holders; evicts dead or expired ones first. `next_expiry` gets
  // the earliest holder expiry (boot_now() clock), 0 when none.
  result<std::vector<holder_info>> holders(recipe kind, std::string_view name, std::int64_t* next_expiry);
  // Calls `callback` once, on the watcher thread, after the next change to
  // the queue of (kind, name), the death of one of its holders, or at
  // `deadline` (boot_now() clock, 0 = none). May block on the queue's lock.
  // Returns an id for unwatch; unwatch returns false if it already fired.
  result<std::uint64_t> watch(recipe kind, std::string_view name, std::int64_t deadline,
                              std::function<void()> callback);
  bool unwatch(std::uint64_t id);

 private:
  struct watch_entry {
    std::string path;
    std::set<participant*> participants;
    std::set<std::uint64_t> observers;
  };
  struct observer {
    std::uint64_t id;
    std::vector<int> wds;  // the queue's state file and the holders' p-files
    std::int64_t deadline;
    std::function<void()> callback;
  };
  struct command {
    enum class kind { examine, release } what;
    std::shared_ptr<participant> who;
  };

  file_engine(std::string root, int root_fd);
  // Started on first need, under mutex_; idempotent.
  result<void> start_watcher_locked();
  result<void> start_keeper_locked();
  void wake_watcher() noexcept;
  result<std::shared_ptr<lock_dir>> open_dir(recipe kind, std::string_view name, bool create);
  void drop_dir(const std::string& entry);

  // Queue maintenance under the meta lock.
  struct queue_view;
  result<void> load(lock_dir& dir, std::vector<state_entry>& entries);
  result<void> store_state(lock_dir& dir, const std::vector<state_entry>& entries);
  // Drops dead or expired entries (except `keep`), grants what fits, assigns
  // tokens. `touch` gets the owners to wake. True when anything changed.
  result<bool> settle(lock_dir& dir, std::vector<state_entry>& entries, const std::string& keep,
                      std::vector<std::string>& touch);
  enum class liveness { alive, dead, expired };
  liveness check_participant(lock_dir& dir, const std::string& owner, std::int64_t now,
                             std::int64_t* expiry);
  void touch_all(lock_dir& dir, const std::vector<std::string>& owners);

  void examine(const std::shared_ptr<participant>& who);
  result<void> leave(const std::shared_ptr<participant>& who, bool expect_held, bool may_block = true);
  void finish_participant(participant& who);  // closes and unlinks the p-file
  lease make_lease(const std::shared_ptr<participant>& who, std::uint64_t token);
  void fail_waiter(const std::shared_ptr<participant>& who, error e);
  void mark_lost(const std::shared_ptr<participant>& who, std::string reason);

  // Watches (engine mutex_ held).
  int add_watch_locked(const std::string& path, std::uint32_t mask);
  void set_watches_locked(participant& who, std::vector<int> wds);
  void release_watch_locked(int wd);
  std::function<void()> take_observer_locked(std::uint64_t id);

  void post(command c);
  void watcher_loop();
  void keeper_loop();
  std::shared_ptr<participant> find_locked(participant* raw);

  std::string root_;
  int root_fd_;
  int inotify_fd_ = -1;  // created with the watcher thread
  int event_fd_ = -1;
  pid_t pid_;
  std::string boot_id_;  // this boot's id: state written in another boot is not trusted

  std::mutex mutex_;  // guards everything below and participant fields
  std::condition_variable keeper_wake_;
  bool stopping_ = false;
  std::map<participant*, std::shared_ptr<participant>> participants_;
  std::map<std::string, std::weak_ptr<lock_dir>> dirs_;
  std::map<int, watch_entry> watches_;
  std::map<std::string, int> watch_by_path_;
  std::map<std::uint64_t, observer> observers_;
  std::uint64_t next_observer_ = 1;
  std::deque<command> commands_;

  std::thread watcher_;  // inotify events, timers and commands; started by the first waiter, watch or post
  std::thread keeper_;   // renewals; started by the first participant
};

}  // namespace weft::lock::file_detail
