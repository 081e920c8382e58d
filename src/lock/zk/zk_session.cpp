#include "zk_session.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace weft::lock::zk {

namespace {

using steady = std::chrono::steady_clock;

std::int64_t to_ns(steady::time_point t) noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// The C client logs to stderr by default; keep it quiet unless asked.
void log_sink(const char* message) {
  static const bool enabled = std::getenv("WEFT_ZK_DEBUG") != nullptr;
  if (enabled) std::fprintf(stderr, "zookeeper: %s\n", message);
}

// Why a held node vanished: usually another client deleted it; the server
// also deletes it when the session ends (its expiry event may come later).
std::string deleted_reason(const std::string& path) {
  return "the lock node " + path +
         " was deleted while held: another ZooKeeper client deleted it (an operator, or any client of the "
         "ensemble when zk:// has no credentials: use digest authentication on a shared ensemble), or its "
         "session expired or was closed";
}

bool answered(int rc) noexcept {
  return !is_connection_error(rc) && rc != ZSESSIONEXPIRED && rc != ZCLOSING &&
         rc != ZINVALIDSTATE && rc != ZAUTHFAILED && rc != ZSYSTEMERROR;
}

}  // namespace

bool is_connection_error(int rc) noexcept {
  return rc == ZCONNECTIONLOSS || rc == ZOPERATIONTIMEOUT || rc == ZSESSIONMOVED;
}

weft::error to_error(int rc, std::string_view what) {
  std::string message = std::string(what) + ": " + zerror(rc);
  switch (rc) {
    case ZNONODE: return error(errc::not_found, std::move(message));
    case ZNOAUTH:
    case ZAUTHFAILED:
    case ZINVALIDACL:
      return error(errc::permission_denied,
                   std::move(message) + " (check the zk:// credentials or WEFT_ZK_AUTH)");
    case ZCONNECTIONLOSS:
    case ZOPERATIONTIMEOUT:
    case ZCLOSING:
      return error(errc::unreachable, std::move(message) + " (is ZooKeeper running?)");
    case ZSESSIONEXPIRED:
    case ZINVALIDSTATE:
      return error(errc::lease_lost, std::move(message));
    case ZBADARGUMENTS: return error(errc::invalid_argument, std::move(message));
    default: return error(errc::protocol, std::move(message));
  }
}

struct session::pending {
  session* owner = nullptr;
  parker wake;
  reply out;
  steady::time_point sent;
  std::uint64_t generation = 0;

  // Set for requests sent as a group (create_then_list): the last one to
  // complete wakes the task once, so a pipelined pair costs one wake-up.
  std::atomic<int>* group_remaining = nullptr;
  parker* group_wake = nullptr;

  void finish(int rc) noexcept {
    out.rc = rc;
    if (answered(rc) && generation == owner->generation()) owner->confirm(sent);
    // Last touch: the task may destroy *this right after the wake.
    if (group_remaining == nullptr) {
      wake.wake();
    } else if (group_remaining->fetch_sub(1, std::memory_order_acq_rel) == 1) {
      group_wake->wake();
    }
  }

  static void on_void(int rc, const void* data) {
    static_cast<pending*>(const_cast<void*>(data))->finish(rc);
  }
  static void on_stat(int rc, const Stat* stat, const void* data) {
    auto* self = static_cast<pending*>(const_cast<void*>(data));
    if (rc == ZOK && stat != nullptr) self->out.stat = *stat;
    self->finish(rc);
  }
  static void on_string_stat(int rc, const char* value, const Stat* stat, const void* data) {
    auto* self = static_cast<pending*>(const_cast<void*>(data));
    if (rc == ZOK) {
      if (value != nullptr) self->out.value = value;
      if (stat != nullptr) self->out.stat = *stat;
    }
    self->finish(rc);
  }
  static void on_strings(int rc, const String_vector* strings, const void* data) {
    auto* self = static_cast<pending*>(const_cast<void*>(data));
    if (rc == ZOK && strings != nullptr) {
      self->out.children.reserve(static_cast<std::size_t>(strings->count));
      for (int i = 0; i < strings->count; ++i) self->out.children.emplace_back(strings->data[i]);
    }
    self->finish(rc);
  }
  static void on_data(int rc, const char* value, int length, const Stat* stat, const void* data) {
    auto* self = static_cast<pending*>(const_cast<void*>(data));
    if (rc == ZOK) {
      if (value != nullptr && length > 0) self->out.value.assign(value, static_cast<std::size_t>(length));
      if (stat != nullptr) self->out.stat = *stat;
    }
    self->finish(rc);
  }
};

result<std::shared_ptr<session>> session::create(session_options options) {
  if (options.hosts.empty()) return fail(errc::invalid_argument, "zk:// needs at least one host:port");
  std::shared_ptr<session> self(new session(std::move(options)));
  if (auto opened = self->open_handle(); !opened) return fail(std::move(opened).error());
  self->watchdog_ = std::thread([raw = self.get()] { raw->watchdog_loop(); });
  return self;
}

session::session(session_options options) : options_(std::move(options)) {}

session::~session() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  watchdog_wake_.notify_all();
  if (watchdog_.joinable()) watchdog_.join();
  // Let background requests finish (bounded): zookeeper_close drops
  // completions still queued, leaking them. Pending orphan deletes need not
  // be sent: closing the session deletes its ephemeral nodes anyway.
  for (int i = 0; i < 2000 && detached_in_flight_.load(std::memory_order_acquire) > 0 &&
                  state() == connection_state::connected;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  zhandle_t* handle = nullptr;
  {
    std::unique_lock lock(handle_mutex_);
    handle = std::exchange(handle_, nullptr);
  }
  state_.store(connection_state::closed, std::memory_order_release);
  // Closing deletes our ephemeral nodes at once and runs every pending
  // completion (ZCLOSING) before it returns, while *this is still alive.
  if (handle != nullptr) zookeeper_close(handle);
  if (retired_ != nullptr) {
    // Give its completion thread the moment it needs to deliver what it had
    // queued (see open_handle); bounded, and only right after an expiry.
    const auto settle = retired_at_ + std::chrono::milliseconds(200);
    if (steady::now() < settle) std::this_thread::sleep_until(settle);
    zookeeper_close(std::exchange(retired_, nullptr));
  }
  std::vector<lost_callback> lost;
  {
    std::lock_guard lock(mutex_);
    for (auto& [id, watch] : leases_) lost.push_back(std::move(watch.on_lost));
    leases_.clear();
    wake_state_waiters_locked();
    wake_all_watches_locked();
  }
  for (auto& callback : lost) callback("the zk:// store was closed");
}

result<void> session::open_handle() {
  const int timeout = static_cast<int>(options_.session_timeout.count());
  zhandle_t* old = nullptr;
  {
    // Held across zookeeper_init2: the new handle's first events (CONNECTED
    // may come at once) wait in watcher() until handle_ names it.
    std::unique_lock lock(handle_mutex_);
    zhandle_t* handle = zookeeper_init2(options_.hosts.c_str(), &session::watcher, timeout, nullptr, this, 0,
                                        &log_sink);
    if (handle == nullptr) {
      return fail(errc::invalid_argument,
                  "cannot start a ZooKeeper client for '" + options_.hosts + "': " + std::strerror(errno) +
                      " (check the host list of the zk:// URI)");
    }
    if (!options_.auth.empty()) {
      // Queued before any request, and replayed by the client on every reconnect.
      zoo_add_auth(handle, "digest", options_.auth.data(), static_cast<int>(options_.auth.size()), nullptr,
                   nullptr);
    }
    old = std::exchange(handle_, handle);
    session_id_.store(0, std::memory_order_release);
    state_.store(connection_state::connecting, std::memory_order_release);
    generation_.fetch_add(1, std::memory_order_acq_rel);
  }
  if (old != nullptr) {
    // Not closed yet: zookeeper_close frees nothing still queued for
    // delivery, so closing at once would leak the events that arrived with
    // the expiry. Every request on it has completed (ZSESSIONEXPIRED), and
    // watcher() ignores it; the watchdog closes it a third of the session
    // timeout later. Only the watchdog calls open_handle with an old handle.
    if (retired_ != nullptr) zookeeper_close(retired_);
    retired_ = old;
    retired_at_ = steady::now();
  }
  return {};
}

clientid_t session::client_id() const {
  std::shared_lock lock(handle_mutex_);
  clientid_t out{};
  if (handle_ != nullptr) {
    if (const clientid_t* id = zoo_client_id(handle_)) out = *id;
  }
  return out;
}

const ACL_vector* session::acl() const noexcept {
  return authenticated() ? &ZOO_CREATOR_ALL_ACL : &ZOO_OPEN_ACL_UNSAFE;
}

std::chrono::milliseconds session::session_timeout() const noexcept {
  const int negotiated = negotiated_timeout_ms_.load(std::memory_order_acquire);
  return negotiated > 0 ? std::chrono::milliseconds(negotiated) : options_.session_timeout;
}

void session::watcher(zhandle_t* zh, int type, int state, const char* path, void* context) {
  auto* self = static_cast<session*>(context);
  {
    std::shared_lock lock(self->handle_mutex_);
    if (zh != self->handle_) return;  // an old, replaced handle
    if (type == ZOO_SESSION_EVENT && state == ZOO_CONNECTED_STATE) {
      if (const clientid_t* id = zoo_client_id(zh)) self->session_id_.store(id->client_id, std::memory_order_release);
      self->negotiated_timeout_ms_.store(zoo_recv_timeout(zh), std::memory_order_release);
    }
  }
  self->on_event(type, state, path);
}

void session::on_event(int type, int state, const char* path) {
  if (type != ZOO_SESSION_EVENT) {
    const std::string key = path != nullptr ? std::string(path) : std::string();
    lost_callback lost;
    std::string reason;
    bool rearm = false;
    {
      std::lock_guard lock(mutex_);
      bool woke = false;
      auto [first, last] = watches_.equal_range(key);
      for (auto it = first; it != last; ++it) {
        it->second->registered = false;
        it->second->wake->wake();
        woke = true;
      }
      watches_.erase(first, last);
      // One of our own entry nodes (a holder watch)?
      auto own = node_watches_.find(key);
      const bool is_own = own != node_watches_.end();
      if (is_own) {
        holder_notifications_.fetch_add(1, std::memory_order_relaxed);
        node_watch& watch = *own->second;
        watch.armed = false;
        if (watch.released) {
          node_watches_.erase(own);  // the echo of our own delete
        } else if (type == ZOO_DELETED_EVENT) {
          reason = deleted_reason(key);
          if (watch.on_lost) {
            lost = std::move(watch.on_lost);
            node_watches_.erase(own);
          } else {
            watch.gone = reason;  // not held yet: hold_node() reports it
          }
        } else if (watch.gone.empty()) {
          rearm = true;  // its data changed (a semaphore holder's own rewrite): watch it again
        }
      }
      if (woke || !is_own) notifications_.fetch_add(1, std::memory_order_relaxed);
    }
    if (lost) lost(reason);
    if (rearm) watchdog_wake_.notify_all();
    return;
  }
  if (state == ZOO_CONNECTED_STATE) {
    state_.store(connection_state::connected, std::memory_order_release);
    std::lock_guard lock(mutex_);
    wake_state_waiters_locked();
    watchdog_wake_.notify_all();  // probe now, retry orphan deletes
    return;
  }
  if (state == ZOO_CONNECTING_STATE || state == ZOO_ASSOCIATING_STATE) {
    state_.store(connection_state::connecting, std::memory_order_release);
    return;  // "cannot know": the watchdog decides when leases are lost
  }
  if (state == ZOO_EXPIRED_SESSION_STATE || state == ZOO_AUTH_FAILED_STATE) {
    const bool auth_failed = state == ZOO_AUTH_FAILED_STATE;
    const std::int64_t owner = session_id_.load(std::memory_order_acquire);
    state_.store(auth_failed ? connection_state::closed : connection_state::expired, std::memory_order_release);
    lose_leases(owner, auth_failed ? "ZooKeeper rejected the credentials (authentication failed)"
                                   : "the ZooKeeper session expired");
    std::lock_guard lock(mutex_);
    if (!auth_failed) expired_pending_ = true;
    node_watches_.clear();  // their nodes died with the session; lose_leases told the holders
    wake_state_waiters_locked();
    wake_all_watches_locked();
    watchdog_wake_.notify_all();
  }
}

void session::confirm(steady::time_point sent) noexcept {
  const std::int64_t ns = to_ns(sent);
  std::int64_t seen = last_confirmed_ns_.load(std::memory_order_relaxed);
  while (seen < ns && !last_confirmed_ns_.compare_exchange_weak(seen, ns, std::memory_order_acq_rel)) {
  }
}

void session::lose_leases(std::int64_t owner, const std::string& reason) {
  std::vector<lost_callback> lost;
  {
    std::lock_guard lock(mutex_);
    for (auto it = leases_.begin(); it != leases_.end();) {
      if (owner == 0 || it->second.owner == owner) {
        lost.push_back(std::move(it->second.on_lost));
        it = leases_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& callback : lost) callback(reason);
}

void session::wake_state_waiters_locked() {
  for (parker* p : state_waiters_) p->wake();
  state_waiters_.clear();
}

void session::wake_all_watches_locked() {
  for (auto& [path, slot] : watches_) {
    slot->registered = false;
    slot->wake->wake();
  }
  watches_.clear();
}

void session::add_watch(watch_slot& slot) {
  std::lock_guard lock(mutex_);
  slot.registered = true;
  watches_.emplace(slot.path, &slot);
}

void session::remove_watch(watch_slot& slot) noexcept {
  std::lock_guard lock(mutex_);
  if (!slot.registered) return;
  auto [first, last] = watches_.equal_range(slot.path);
  for (auto it = first; it != last; ++it) {
    if (it->second == &slot) {
      watches_.erase(it);
      break;
    }
  }
  slot.registered = false;
}

bool session::add_state_waiter(parker* p, connection_state seen) {
  std::lock_guard lock(mutex_);
  if (state() != seen || stopping_) return false;
  state_waiters_.push_back(p);
  return true;
}

void session::remove_state_waiter(parker* p) noexcept {
  std::lock_guard lock(mutex_);
  std::erase(state_waiters_, p);
}

std::uint64_t session::watch_lease(std::int64_t owner, lost_callback on_lost) {
  std::unique_lock lock(mutex_);
  if (owner != session_id() || state() == connection_state::expired || state() == connection_state::closed) {
    lock.unlock();
    on_lost("the ZooKeeper session that created the lock node is gone");
    return 0;
  }
  const std::uint64_t id = next_lease_id_++;
  leases_.emplace(id, lease_watch{owner, std::move(on_lost)});
  return id;
}

void session::unwatch_lease(std::uint64_t id) noexcept {
  std::lock_guard lock(mutex_);
  leases_.erase(id);
}

void session::watch_node(const std::string& path, std::int64_t owner) {
  // Not sent now: the watchdog sends it once the entry has been queued or
  // held for holder_watch_delay() (release_node before that forgets it).
  auto watch = std::make_shared<node_watch>();
  watch->owner = owner;
  watch->due = steady::now() + holder_watch_delay();
  std::lock_guard lock(mutex_);
  node_watches_[path] = std::move(watch);
  // No wake-up needed: the watchdog never sleeps longer than its tick, and
  // the tick is never longer than the delay (see watchdog_loop).
}

std::chrono::milliseconds session::holder_watch_delay() const noexcept {
  if (const auto forced = holder_watch_delay_override_ms_.load(std::memory_order_relaxed); forced > 0) {
    return std::chrono::milliseconds(forced);
  }
  return std::min<std::chrono::milliseconds>(std::chrono::milliseconds(100), session_timeout() / 10);
}

void session::hold_node(const std::string& path, lost_callback on_lost) {
  std::string reason;
  {
    std::lock_guard lock(mutex_);
    auto it = node_watches_.find(path);
    if (it == node_watches_.end()) {
      reason = "the lock node " + path + " is no longer watched (its session is gone)";
    } else if (!it->second->gone.empty()) {
      reason = std::move(it->second->gone);
      node_watches_.erase(it);
    } else {
      it->second->on_lost = std::move(on_lost);
      return;
    }
  }
  on_lost(reason);
}

void session::release_node(const std::string& path) noexcept {
  std::lock_guard lock(mutex_);
  auto it = node_watches_.find(path);
  if (it == node_watches_.end()) return;
  node_watch& watch = *it->second;
  watch.on_lost = nullptr;
  if (!watch.armed && !watch.in_flight) {
    node_watches_.erase(it);  // no watch on the server: no echo to wait for
  } else {
    watch.released = true;  // the deletion's event (or the answer) removes it
  }
}

std::size_t session::node_watch_count() {
  std::lock_guard lock(mutex_);
  return node_watches_.size();
}

std::size_t session::armed_node_watch_count() {
  std::lock_guard lock(mutex_);
  std::size_t armed = 0;
  for (auto& [path, watch] : node_watches_) armed += watch->armed ? 1 : 0;
  return armed;
}

steady::time_point session::next_arm_locked(steady::time_point limit) const {
  for (auto& [path, watch] : node_watches_) {
    if (!watch->armed && !watch->in_flight && !watch->released && watch->gone.empty() && watch->due < limit) {
      limit = watch->due;
    }
  }
  return limit;
}

void session::node_answer(const std::string& path, const std::shared_ptr<node_watch>& watch, int rc,
                          const Stat* stat) {
  lost_callback lost;
  std::string reason;
  {
    std::lock_guard lock(mutex_);
    auto it = node_watches_.find(path);
    if (it == node_watches_.end() || it->second != watch) return;  // replaced (new session)
    watch->in_flight = false;
    if (rc == ZOK && stat != nullptr && stat->ephemeralOwner == watch->owner) {
      watch->armed = true;
      return;
    }
    if (is_connection_error(rc)) {
      // No watch was set: the watchdog arms it again once reconnected (not
      // before a delay, so a connection that keeps failing is not spun on).
      if (watch->released) node_watches_.erase(it);
      else watch->due = steady::now() + holder_watch_delay();
      return;
    }
    if (rc == ZOK || rc == ZNONODE) {
      watch->armed = rc == ZOK;  // a node of another owner: its watch is set, but not ours to keep
      if (!watch->released) {
        reason = rc == ZNONODE ? deleted_reason(path)
                               : "the lock node " + path + " now belongs to another ZooKeeper session";
        if (watch->on_lost) {
          lost = std::move(watch->on_lost);
        } else {
          watch->gone = reason;
          return;
        }
      }
      if (!watch->armed || lost) node_watches_.erase(it);
    } else {
      // Expired, closing, or an error: the session-wide rules decide.
      if (watch->released || !watch->on_lost) node_watches_.erase(it);
    }
  }
  if (lost) lost(reason);
}

void session::arm_node(const std::string& path, const std::shared_ptr<node_watch>& watch) {
  struct arm_call {
    session* owner;
    std::string path;
    std::shared_ptr<node_watch> watch;
  };
  auto* call = new arm_call{this, path, watch};
  int rc = ZCLOSING;
  {
    std::shared_lock lock(handle_mutex_);
    if (handle_ != nullptr) {
      requests_.fetch_add(1, std::memory_order_relaxed);
      detached_in_flight_.fetch_add(1, std::memory_order_acq_rel);
      rc = zoo_aget(
          handle_, path.c_str(), 1,
          [](int result, const char*, int, const Stat* stat, const void* data) {
            auto* c = static_cast<arm_call*>(const_cast<void*>(data));
            c->owner->node_answer(c->path, c->watch, result, stat);
            c->owner->detached_in_flight_.fetch_sub(1, std::memory_order_acq_rel);
            delete c;
          },
          call);
      if (rc != ZOK) detached_in_flight_.fetch_sub(1, std::memory_order_acq_rel);
    }
  }
  if (rc != ZOK) {
    node_answer(path, watch, is_connection_error(rc) || rc == ZINVALIDSTATE ? ZCONNECTIONLOSS : rc, nullptr);
    delete call;
  }
}

void session::arm_pending_nodes() {
  // Called by the watchdog, connected, without mutex_ held. Sends the
  // watches that are due (a watch lost with a connection is due again a
  // delay after the failure).
  std::vector<std::pair<std::string, std::shared_ptr<node_watch>>> todo;
  {
    std::lock_guard lock(mutex_);
    const auto now = steady::now();
    for (auto& [path, watch] : node_watches_) {
      if (!watch->armed && !watch->in_flight && !watch->released && watch->gone.empty() && watch->due <= now) {
        watch->in_flight = true;
        todo.emplace_back(path, watch);
      }
    }
  }
  for (auto& [path, watch] : todo) arm_node(path, watch);
}

template <typename Issue>
task<reply> session::run(Issue issue) {
  pending op;
  op.owner = this;
  int rc = ZCLOSING;
  {
    std::shared_lock lock(handle_mutex_);
    if (handle_ != nullptr) {
      op.sent = steady::now();
      op.generation = generation();
      requests_.fetch_add(1, std::memory_order_relaxed);
      rc = issue(handle_, &op);
    }
  }
  if (rc != ZOK) {
    op.out.rc = rc;
    co_return std::move(op.out);
  }
  co_await op.wake.park();
  co_return std::move(op.out);
}

task<reply> session::create(std::string path, std::string data, int mode) {
  co_return co_await run([&](zhandle_t* zh, pending* op) {
    return zoo_acreate2(zh, path.c_str(), data.data(), static_cast<int>(data.size()), acl(), mode,
                        &pending::on_string_stat, op);
  });
}

task<std::pair<reply, reply>> session::create_then_list(std::string path, std::string data, int mode,
                                                        std::string dir) {
  pending created;
  pending listed;
  parker both_done;
  std::atomic<int> remaining{2};
  created.owner = listed.owner = this;
  created.group_remaining = listed.group_remaining = &remaining;
  created.group_wake = listed.group_wake = &both_done;
  int rc_create = ZCLOSING;
  int rc_list = ZCLOSING;
  {
    std::shared_lock lock(handle_mutex_);
    if (handle_ != nullptr) {
      created.sent = listed.sent = steady::now();
      created.generation = listed.generation = generation();
      requests_.fetch_add(1, std::memory_order_relaxed);
      rc_create = zoo_acreate2(handle_, path.c_str(), data.data(), static_cast<int>(data.size()), acl(), mode,
                               &pending::on_string_stat, &created);
      if (rc_create == ZOK) {
        requests_.fetch_add(1, std::memory_order_relaxed);
        rc_list = zoo_aget_children(handle_, dir.c_str(), 0, &pending::on_strings, &listed);
      }
    }
  }
  if (rc_create != ZOK) {
    created.out.rc = rc_create;
    listed.out.rc = rc_create;
    co_return std::pair<reply, reply>(std::move(created.out), std::move(listed.out));
  }
  if (rc_list != ZOK) {
    listed.out.rc = rc_list;
    listed.finish(rc_list);  // count it as done; the create's answer still comes
  }
  co_await both_done.park();
  co_return std::pair<reply, reply>(std::move(created.out), std::move(listed.out));
}

task<reply> session::remove(std::string path, int version) {
  co_return co_await run([&](zhandle_t* zh, pending* op) {
    return zoo_adelete(zh, path.c_str(), version, &pending::on_void, op);
  });
}

task<reply> session::get_children(std::string path, bool watch) {
  co_return co_await run([&](zhandle_t* zh, pending* op) {
    return zoo_aget_children(zh, path.c_str(), watch ? 1 : 0, &pending::on_strings, op);
  });
}

task<reply> session::exists(std::string path, bool watch) {
  co_return co_await run([&](zhandle_t* zh, pending* op) {
    return zoo_aexists(zh, path.c_str(), watch ? 1 : 0, &pending::on_stat, op);
  });
}

task<reply> session::get(std::string path, bool watch) {
  co_return co_await run([&](zhandle_t* zh, pending* op) {
    return zoo_aget(zh, path.c_str(), watch ? 1 : 0, &pending::on_data, op);
  });
}

task<reply> session::set(std::string path, std::string data, int version) {
  co_return co_await run([&](zhandle_t* zh, pending* op) {
    return zoo_aset(zh, path.c_str(), data.data(), static_cast<int>(data.size()), version, &pending::on_stat, op);
  });
}

task<reply> session::ensure_path(std::string path) {
  // Create from the top down; NODEEXISTS is success.
  reply last;
  last.rc = ZOK;
  for (std::size_t slash = path.find('/', 1);; slash = path.find('/', slash + 1)) {
    std::string prefix = slash == std::string::npos ? path : path.substr(0, slash);
    last = co_await create(prefix, {}, ZOO_PERSISTENT);
    if (last.rc == ZNODEEXISTS) last.rc = ZOK;
    if (last.rc != ZOK) co_return last;
    if (slash == std::string::npos) break;
  }
  co_return last;
}

void session::remove_detached(std::string path, std::int64_t owner_session) {
  {
    std::lock_guard lock(mutex_);
    orphans_.push_back(std::make_shared<orphan>(orphan{std::move(path), owner_session, false}));
  }
  watchdog_wake_.notify_all();
}

namespace {
// A request nobody awaits: `done` runs with its answer, then the session's
// count of such requests in flight (`in_flight`) goes down.
struct detached_call {
  std::atomic<int>* in_flight;
  std::function<void(int)> done;

  // The completion: `data` is the detached_call, which it deletes.
  static void answered(int result, const void* data) {
    auto* c = static_cast<detached_call*>(const_cast<void*>(data));
    c->done(result);
    c->in_flight->fetch_sub(1, std::memory_order_acq_rel);
    delete c;
  }
};
}  // namespace

void session::retry_orphans() {
  // Called by the watchdog without mutex_ held.
  std::vector<std::shared_ptr<orphan>> todo;
  {
    std::lock_guard lock(mutex_);
    const std::int64_t current = session_id();
    std::erase_if(orphans_, [&](const std::shared_ptr<orphan>& o) {
      // A node of an expired session is gone already (ephemeral).
      return o->owner != current && o->owner != 0 && state() == connection_state::connected;
    });
    for (auto& o : orphans_) {
      if (!o->in_flight) {
        o->in_flight = true;
        todo.push_back(o);
      }
    }
  }
  if (todo.empty()) return;
  std::shared_lock lock(handle_mutex_);
  if (handle_ == nullptr) return;
  for (auto& o : todo) {
    auto* call = new detached_call{&detached_in_flight_, [this, o](int rc) {
                                     std::lock_guard guard(mutex_);
                                     if (answered(rc)) std::erase(orphans_, o);  // done, or already gone
                                     else o->in_flight = false;                  // retry on reconnect
                                   }};
    requests_.fetch_add(1, std::memory_order_relaxed);
    detached_in_flight_.fetch_add(1, std::memory_order_acq_rel);
    const int rc = zoo_adelete(handle_, o->path.c_str(), -1, &detached_call::answered, call);
    if (rc != ZOK) {
      detached_in_flight_.fetch_sub(1, std::memory_order_acq_rel);
      delete call;
      std::lock_guard guard(mutex_);
      o->in_flight = false;
    }
  }
}

void session::send_probe() {
  auto* call = new detached_call{&detached_in_flight_, nullptr};
  const auto sent = steady::now();
  call->done = [this, sent, generation = generation()](int rc) {
    if (answered(rc) && generation == this->generation()) confirm(sent);
    std::lock_guard lock(mutex_);
    probe_in_flight_ = false;
  };
  std::shared_lock lock(handle_mutex_);
  if (handle_ == nullptr) {
    delete call;
    return;
  }
  {
    std::lock_guard guard(mutex_);
    probe_in_flight_ = true;
  }
  detached_in_flight_.fetch_add(1, std::memory_order_acq_rel);
  const int rc = zoo_aexists(
      handle_, "/", 0,
      [](int result, const Stat*, const void* data) { detached_call::answered(result, data); },
      call);
  if (rc != ZOK) {
    detached_in_flight_.fetch_sub(1, std::memory_order_acq_rel);
    delete call;
    std::lock_guard guard(mutex_);
    probe_in_flight_ = false;
  }
}

void session::watchdog_loop() {
  steady::time_point last_probe{};
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    const auto timeout = session_timeout();
    // The tick is at most min(100 ms, timeout / 20), never longer than
    // holder_watch_delay(), so a watch added while we sleep is seen in time.
    const auto tick = std::clamp<steady::duration>(timeout / 20, std::chrono::milliseconds(5),
                                                   std::chrono::milliseconds(100));
    const auto next_tick = steady::now() + tick;
    watchdog_wake_.wait_until(lock, state() == connection_state::connected ? next_arm_locked(next_tick) : next_tick);
    if (stopping_) break;
    if (expired_pending_) {
      expired_pending_ = false;
      lock.unlock();
      (void)open_handle();  // a new session; waiters start over in it
      lock.lock();
      continue;
    }
    const bool connected = state() == connection_state::connected;
    const bool has_leases = !leases_.empty();
    const bool has_orphans = !orphans_.empty();
    const bool probe_busy = probe_in_flight_;
    lock.unlock();

    const auto now = steady::now();
    if (retired_ != nullptr && now - retired_at_ >= timeout / 3) zookeeper_close(std::exchange(retired_, nullptr));
    if (connected && !probe_busy && now - last_probe >= timeout / 3) {
      last_probe = now;
      send_probe();
    }
    if (has_leases) {
      const auto confirmed = steady::time_point(std::chrono::nanoseconds(last_confirmed_ns_.load()));
      const auto silent = now - confirmed;
      if (silent >= timeout * 2 / 3) {
        const auto silent_ms = std::chrono::duration_cast<std::chrono::milliseconds>(silent).count();
        lose_leases(0, "no answer from ZooKeeper for " + std::to_string(silent_ms) +
                           " ms, at least 2/3 of the " + std::to_string(timeout.count()) +
                           " ms session timeout: the session may expire at any moment");
      }
    }
    if (connected && has_orphans) retry_orphans();
    if (connected) arm_pending_nodes();
    lock.lock();
  }
}

}  // namespace weft::lock::zk

// ThreadSanitizer: libzookeeper-mt (not instrumented) formats log and
// endpoint strings into a static buffer from its own I/O threads, a race
// inside the library that weft cannot fix. Suppress only frames in it.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WEFT_ZK_TSAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define WEFT_ZK_TSAN 1
#endif
#if defined(WEFT_ZK_TSAN)
extern "C" const char* __tsan_default_suppressions() {
  return "race:libzookeeper_mt.so\n";
}
#endif
