#include "zk_store.hpp"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdlib>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "weft/context.hpp"
#include "weft/duration.hpp"
#include "lock/one_shot.hpp"
#include "weft/lock/lease.hpp"
#include "zk_session.hpp"

namespace weft::lock::zk {

namespace {

using namespace std::chrono_literals;

constexpr std::string_view data_magic = "weft1";

std::string_view recipe_dir(recipe kind) noexcept {
  switch (kind) {
    case recipe::mutex: return "mutex";
    case recipe::rw_mutex: return "rw_mutex";
    case recipe::semaphore: return "semaphore";
    case recipe::election: return "election";
  }
  return "mutex";
}

// Keeps [A-Za-z0-9_-]; every other byte becomes %XX, so the result is a
// valid, non-reserved ZooKeeper node name whatever the lock name holds.
std::string encode_name(std::string_view name) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(name.size());
  for (unsigned char c : name) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

std::optional<std::string> decode_name(std::string_view encoded) {
  std::string out;
  for (std::size_t i = 0; i < encoded.size(); ++i) {
    if (encoded[i] != '%') {
      out.push_back(encoded[i]);
      continue;
    }
    if (i + 2 >= encoded.size()) return std::nullopt;
    unsigned value = 0;
    auto [end, ec] = std::from_chars(encoded.data() + i + 1, encoded.data() + i + 3, value, 16);
    if (ec != std::errc() || end != encoded.data() + i + 3) return std::nullopt;
    out.push_back(static_cast<char>(value));
    i += 2;
  }
  return out;
}

std::string attempt_id() {
  thread_local std::mt19937_64 generator([] {
    std::random_device device;
    std::seed_seq seed{device(), device(), device(), device(), static_cast<unsigned>(::getpid())};
    return std::mt19937_64(seed);
  }());
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (int word = 0; word < 2; ++word) {
    std::uint64_t bits = generator();
    for (int i = 0; i < 16; ++i, bits >>= 4) out.push_back(hex[bits & 15]);
  }
  return out;
}

std::string holder_description() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  std::string out = "pid " + std::to_string(::getpid());
  if (host[0] != '\0') out += " on " + std::string(host);
  return out;
}

struct node_data {
  std::string holder;
  std::uint64_t limit = 1;
  std::string value;
};

std::string encode_data(const node_data& data) {
  return std::string(data_magic) + "\n" + data.holder + "\n" + std::to_string(data.limit) + "\n" + data.value;
}

node_data decode_data(std::string_view text) {
  node_data out;
  auto take_line = [&]() {
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    return line;
  };
  if (take_line() != data_magic) return out;
  out.holder = std::string(take_line());
  auto limit = take_line();
  std::from_chars(limit.data(), limit.data() + limit.size(), out.limit);
  if (out.limit == 0) out.limit = 1;
  out.value = std::string(text);
  return out;
}

// One queue entry: a child named _c_<id>-<kind>-<sequence>.
struct entry {
  std::string name;
  std::uint64_t sequence = 0;
  bool shared = false;   // a reader of a rw_mutex
  bool writer = false;   // a writer of a rw_mutex
};

std::optional<entry> parse_entry(const std::string& name) {
  // _c_ + 32 hex + '-' + kind(4) + '-' + 10 digits
  if (name.size() < 3 + 32 + 1 + 4 + 1 + 10 || name.compare(0, 3, "_c_") != 0) return std::nullopt;
  const std::size_t dash = name.rfind('-');
  if (dash == std::string::npos || dash < 5) return std::nullopt;
  entry e;
  e.name = name;
  auto [end, ec] = std::from_chars(name.data() + dash + 1, name.data() + name.size(), e.sequence);
  if (ec != std::errc() || end != name.data() + name.size()) return std::nullopt;
  const std::string_view kind(name.data() + dash - 4, 4);
  e.shared = kind == "read";
  e.writer = kind == "writ";
  return e;
}

std::vector<entry> sorted_entries(const std::vector<std::string>& children) {
  std::vector<entry> out;
  out.reserve(children.size());
  for (const auto& child : children) {
    if (auto e = parse_entry(child)) out.push_back(std::move(*e));
  }
  std::sort(out.begin(), out.end(), [](const entry& a, const entry& b) { return a.sequence < b.sequence; });
  return out;
}

// What the entry at `index` may do now under the grant rule of `kind`.
struct decision {
  bool granted = false;
  bool watch_children = false;  // wait on the directory's children
  std::size_t watch_index = 0;  // otherwise: wait on this entry
};

decision decide(recipe kind, const std::vector<entry>& entries, std::size_t index, std::uint64_t limit) {
  decision d;
  if (kind == recipe::rw_mutex && entries[index].shared) {
    // A reader waits for the nearest earlier writer; readers share.
    for (std::size_t i = index; i-- > 0;) {
      if (!entries[i].shared) {
        d.watch_index = i;
        return d;
      }
    }
    d.granted = true;
    return d;
  }
  if (kind != recipe::semaphore) limit = 1;
  if (index < limit) {
    d.granted = true;
    return d;
  }
  if (limit > 1 && index == limit) {
    d.watch_children = true;  // the first semaphore waiter: any release frees a permit
    return d;
  }
  d.watch_index = index - 1;
  return d;
}

// The holders at the head of a queue: entries granted under the rule.
std::vector<std::size_t> granted_prefix(recipe kind, const std::vector<entry>& entries,
                                        const std::vector<std::uint64_t>& limits) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const std::uint64_t limit = i < limits.size() ? limits[i] : 1;
    if (!decide(kind, entries, i, limit).granted) break;
    out.push_back(i);
  }
  return out;
}

struct store_config {
  session_options session;
  std::string root;  // the chroot, "" for "/"
  std::string redacted;
};

class zk_store;

class zk_lease final : public lease_state {
 public:
  zk_lease(std::string name, std::uint64_t token, std::chrono::nanoseconds ttl, std::shared_ptr<session> s,
           std::string path, std::int64_t owner)
      : lease_state(std::move(name), token, ttl), session_(std::move(s)), path_(std::move(path)), owner_(owner) {}

  ~zk_lease() override {
    if (!released_.exchange(true)) {
      session_->unwatch_lease(watch_id_.load());
      session_->release_node(path_);
      session_->remove_detached(path_, owner_);
    }
  }

  // Session-wide loss (expiry, no contact, close) and the holder watch on
  // its own node (deleted by another client, or no longer this session's).
  void start_watching(const std::shared_ptr<zk_lease>& self) {
    std::weak_ptr<zk_lease> weak = self;
    const auto id = session_->watch_lease(owner_, [weak](const std::string& reason) {
      if (auto lease = weak.lock()) {
        lease->mark_lost(reason);
        // Let the next waiter in: a lost lease must not keep others out.
        if (!lease->released_.exchange(true)) {
          lease->session_->release_node(lease->path_);
          lease->session_->remove_detached(lease->path_, lease->owner_);
        }
      }
    });
    watch_id_.store(id);
    session_->hold_node(path_, [weak](const std::string& reason) {
      if (auto lease = weak.lock()) {
        lease->mark_lost(reason);
        // The node is gone already: nothing to delete, nothing left to watch.
        if (!lease->released_.exchange(true)) lease->session_->unwatch_lease(lease->watch_id_.load());
      }
    });
  }

  task<result<void>> release() override {
    if (is_lost()) {
      // Its node is already being deleted (see start_watching); say so.
      if (!released_.exchange(true)) {
        session_->unwatch_lease(watch_id_.load());
        session_->release_node(path_);
        session_->remove_detached(path_, owner_);
      }
      co_return fail(errc::lease_lost, "the lease on " + lock::detail::printable(name()) +
                                           " was lost before release: " + lost_reason());
    }
    if (released_.exchange(true)) co_return result<void>{};
    session_->unwatch_lease(watch_id_.load());
    session_->release_node(path_);  // before the delete: our own deletion is not a loss
    reply r = co_await session_->remove(path_);
    if (r.ok() || r.rc == ZNONODE) co_return result<void>{};
    if (is_connection_error(r.rc)) {
      session_->remove_detached(path_, owner_);
      co_return fail(errc::unreachable,
                     "release of \"" + name() + "\": no answer from ZooKeeper (" + zerror(r.rc) +
                         "); the lock node is deleted in the background, or when the session expires");
    }
    if (r.rc == ZSESSIONEXPIRED || r.rc == ZINVALIDSTATE || r.rc == ZCLOSING) co_return result<void>{};
    co_return fail(to_error(r.rc, "release of \"" + name() + "\""));
  }

  void release_detached() noexcept override {
    if (released_.exchange(true)) return;
    try {
      session_->unwatch_lease(watch_id_.load());
      session_->release_node(path_);
      session_->remove_detached(path_, owner_);
    } catch (...) {
      // Out of memory: the node goes when the session ends.
    }
  }

 private:
  std::shared_ptr<session> session_;
  std::string path_;
  std::int64_t owner_;
  std::atomic<std::uint64_t> watch_id_{0};
  std::atomic<bool> released_{false};
};

// Parks the calling task until `slot` fires, the session changes state, or
// ctx ends. The slot must already be registered.
task<void> park_on(session& s, session::watch_slot& slot, parker& wake, const context& ctx) {
  {
    context_callback on_cancel(ctx, [&wake]() noexcept { wake.wake(); });
    co_await wake.park();
  }
  s.remove_watch(slot);
}

class zk_store final : public store {
 public:
  zk_store(store_config config, std::shared_ptr<session> s)
      : config_(std::move(config)), session_(std::move(s)), holder_(holder_description()) {}

  std::string uri() const override { return config_.redacted; }
  const std::shared_ptr<session>& zk_session() const noexcept { return session_; }

  task<result<lease>> acquire(acquire_request request, context ctx) override;
  task<result<std::vector<lock_info>>> list(std::string prefix, context ctx) override;
  task<result<std::vector<holder_info>>> holders(recipe kind, std::string name,
                                                 std::optional<std::vector<std::uint64_t>> known,
                                                 context ctx) override;

 private:
  std::string dir_of(recipe kind, std::string_view name) const {
    return config_.root + "/" + std::string(recipe_dir(kind)) + "/" + encode_name(name);
  }
  task<result<void>> wait_connected(const context& ctx);
  struct created {
    std::string path;
    Stat stat{};
    // The queue as listed right after the create (pipelined), when available.
    std::optional<std::vector<std::string>> children;
  };
  // nullopt: start over (new session or the node vanished).
  task<result<std::optional<created>>> create_entry(const std::string& dir, const std::string& prefix,
                                                    const std::string& data, const context& ctx);
  task<void> abandon(const std::string& path, std::int64_t owner);
  task<result<std::vector<holder_info>>> read_holders(recipe kind, const std::string& dir, bool watch,
                                                      bool& dir_missing, bool& raced);

  store_config config_;
  std::shared_ptr<session> session_;
  std::string holder_;
};

task<result<void>> zk_store::wait_connected(const context& ctx) {
  const auto limit = config_.session.connect_timeout.count() > 0 ? config_.session.connect_timeout
                                                                  : session_->session_timeout();
  const auto give_up = clock::now() + limit;
  for (;;) {
    const connection_state seen = session_->state();
    if (seen == connection_state::connected) co_return result<void>{};
    if (seen == connection_state::closed) {
      co_return fail(errc::permission_denied,
                     "the ZooKeeper session of " + config_.redacted +
                         " is closed (authentication failed?): check the credentials");
    }
    if (auto done = ctx.check(); !done) co_return done;
    if (clock::now() >= give_up) {
      co_return fail(errc::unreachable,
                     "no ZooKeeper server of " + config_.redacted + " answered within " +
                         format_duration(limit) + " (is ZooKeeper running and reachable?)");
    }
    auto [bounded, cancel] = with_deadline(ctx, give_up);
    parker wake;
    if (!session_->add_state_waiter(&wake, seen)) continue;
    {
      context_callback on_cancel(bounded, [&wake]() noexcept { wake.wake(); });
      co_await wake.park();
    }
    session_->remove_state_waiter(&wake);
    cancel();
  }
}

task<void> zk_store::abandon(const std::string& path, std::int64_t owner) {
  // A cancelled waiter deletes its node; if ZooKeeper cannot answer now the
  // session keeps retrying in the background.
  session_->release_node(path);
  if (session_->session_id() != owner) co_return;  // gone with its session
  reply r = co_await session_->remove(path);
  if (is_connection_error(r.rc)) session_->remove_detached(path, owner);
}

task<result<std::optional<zk_store::created>>> zk_store::create_entry(const std::string& dir,
                                                                      const std::string& prefix,
                                                                      const std::string& data,
                                                                      const context& ctx) {
  const std::string base = dir + "/" + prefix;
  for (int attempts = 0;; ++attempts) {
    if (attempts > 100) co_return fail(errc::internal, "cannot create a lock node under " + dir + " after 100 attempts");
    auto [r, listing] = co_await session_->create_then_list(base, data, ZOO_EPHEMERAL_SEQUENTIAL, dir);
    if (r.ok()) {
      if (r.stat.ephemeralOwner != session_->session_id()) {
        // Created by a session that is no longer ours: never act on it.
        session_->remove_detached(r.value, r.stat.ephemeralOwner);
        co_return std::optional<created>();
      }
      created out{std::move(r.value), r.stat, std::nullopt};
      if (listing.ok()) out.children = std::move(listing.children);
      co_return std::optional<created>(std::move(out));
    }
    if (r.rc == ZNONODE) {
      reply made = co_await session_->ensure_path(dir);
      if (!made.ok() && !is_connection_error(made.rc)) co_return fail(to_error(made.rc, "create " + dir));
      continue;
    }
    if (r.rc == ZSESSIONEXPIRED || r.rc == ZINVALIDSTATE) co_return std::optional<created>();
    if (!is_connection_error(r.rc)) co_return fail(to_error(r.rc, "create a lock node under " + dir));
    // The create may have landed: find our node by its attempt id (protected mode).
    for (;;) {
      if (auto up = co_await wait_connected(ctx); !up) co_return fail(std::move(up).error());
      reply kids = co_await session_->get_children(dir);
      if (is_connection_error(kids.rc)) continue;
      if (kids.rc == ZSESSIONEXPIRED || kids.rc == ZINVALIDSTATE) co_return std::optional<created>();
      if (!kids.ok() && kids.rc != ZNONODE) co_return fail(to_error(kids.rc, "list " + dir));
      auto mine = std::find_if(kids.children.begin(), kids.children.end(), [&](const std::string& child) {
        return child.compare(0, prefix.size(), prefix) == 0;
      });
      if (mine == kids.children.end()) break;  // it did not land: create again
      const std::string path = dir + "/" + *mine;
      reply st = co_await session_->exists(path);
      if (is_connection_error(st.rc)) continue;
      if (st.ok() && st.stat.ephemeralOwner == session_->session_id()) {
        co_return std::optional<created>(created{path, st.stat, std::nullopt});
      }
      // It belongs to an older session of ours (about to vanish): drop it.
      if (st.ok()) session_->remove_detached(path, st.stat.ephemeralOwner);
      co_return std::optional<created>();
    }
  }
}

task<result<lease>> zk_store::acquire(acquire_request request, context ctx) {
  const std::string dir = dir_of(request.kind, request.name);
  const bool rw_reader = request.kind == recipe::rw_mutex && request.mode == access::shared;
  const std::string_view kind_tag =
      request.kind == recipe::rw_mutex ? (rw_reader ? "read" : "writ") : std::string_view("lock");
  const std::uint64_t limit = request.kind == recipe::semaphore ? std::max<std::uint64_t>(request.limit, 1) : 1;
  const std::string data = encode_data(node_data{holder_, limit, request.value});

  for (int rounds = 0;; ++rounds) {
    if (auto done = ctx.check(); !done) co_return fail(std::move(done).error());
    if (rounds > 1000) co_return fail(errc::internal, "acquire of \"" + request.name + "\" restarted 1000 times");
    if (auto up = co_await wait_connected(ctx); !up) co_return fail(std::move(up).error());
    const std::string prefix = "_c_" + attempt_id() + "-" + std::string(kind_tag) + "-";
    auto made = co_await create_entry(dir, prefix, data, ctx);
    if (!made) co_return fail(std::move(made).error());
    if (!*made) continue;  // a new session: start over
    const std::string path = (*made)->path;
    const std::string own = path.substr(path.rfind('/') + 1);
    const std::int64_t owner = (*made)->stat.ephemeralOwner;
    const std::uint64_t token = static_cast<std::uint64_t>((*made)->stat.czxid);
    // The holder watch on our own node: the session sends it (not waited
    // for) once the entry has been queued or held for holder_watch_delay(),
    // so a short uncontended hold costs no extra request, and a waiter that
    // queued that long is already watching its node when it is granted.
    session_->watch_node(path, owner);

    bool watch_children = false;
    bool restart = false;
    std::optional<std::vector<std::string>> first_listing = std::move((*made)->children);
    for (;;) {
      parker wake;
      session::watch_slot slot{&wake, dir, false};
      reply kids;
      if (first_listing && !watch_children) {
        kids.rc = ZOK;  // listed in the same round trip as the create
        kids.children = std::move(*first_listing);
        first_listing.reset();
      } else {
        first_listing.reset();
        if (watch_children) session_->add_watch(slot);
        kids = co_await session_->get_children(dir, watch_children);
      }
      if (kids.rc == ZSESSIONEXPIRED || kids.rc == ZINVALIDSTATE) {
        session_->remove_watch(slot);
        restart = true;
        break;
      }
      if (is_connection_error(kids.rc)) {
        session_->remove_watch(slot);
        auto up = co_await wait_connected(ctx);
        if (!up) {
          co_await abandon(path, owner);
          co_return fail(std::move(up).error());
        }
        continue;
      }
      if (!kids.ok()) {
        session_->remove_watch(slot);
        co_await abandon(path, owner);
        co_return fail(to_error(kids.rc, "list the waiters of \"" + request.name + "\""));
      }
      // Same session as the node's creator, and the node is listed: the
      // node is ours (its ephemeralOwner is this session) at this zxid.
      if (session_->session_id() != owner) {
        session_->remove_watch(slot);
        restart = true;
        break;
      }
      const auto entries = sorted_entries(kids.children);
      auto me = std::find_if(entries.begin(), entries.end(), [&](const entry& e) { return e.name == own; });
      if (me == entries.end()) {
        session_->remove_watch(slot);
        restart = true;  // deleted under us (session expired, or an operator)
        break;
      }
      const auto index = static_cast<std::size_t>(me - entries.begin());
      const decision d = decide(request.kind, entries, index, limit);
      if (d.granted) {
        session_->remove_watch(slot);
        if (limit > 1 && index + 1 < entries.size()) {
          // Wake our successor: it was waiting for us to be granted or to go
          // (a data change fires its exists watch on us).
          (void)co_await session_->set(path, data);
        }
        auto state = std::make_shared<zk_lease>(request.name, token, session_->session_timeout(), session_,
                                                path, owner);
        state->start_watching(state);
        co_return lease(std::move(state));
      }
      if (!request.wait) {
        session_->remove_watch(slot);
        co_await abandon(path, owner);
        co_return fail(errc::contended, "the " + std::string(to_string(request.kind)) + " " +
                                            lock::detail::printable(request.name) + " is held by another client");
      }
      if (d.watch_children) {
        if (!watch_children) {
          watch_children = true;  // read again, this time setting the watch
          continue;
        }
      } else {
        session_->remove_watch(slot);
        slot.path = dir + "/" + entries[d.watch_index].name;
        session_->add_watch(slot);
        // getData, not exists: on a predecessor already gone, exists would
        // leave a watch for its (never coming) creation on the server.
        reply there = co_await session_->get(slot.path, true);
        if (there.rc == ZNONODE) {
          session_->remove_watch(slot);  // already gone: look again
          watch_children = false;
          continue;
        }
        if (!there.ok() && !is_connection_error(there.rc) && there.rc != ZSESSIONEXPIRED &&
            there.rc != ZINVALIDSTATE) {
          session_->remove_watch(slot);
          co_await abandon(path, owner);
          co_return fail(to_error(there.rc, "watch the waiter ahead of \"" + request.name + "\""));
        }
        if (!there.ok()) {
          session_->remove_watch(slot);
          continue;  // connection trouble: the next read sorts it out
        }
        watch_children = false;
      }
      co_await park_on(*session_, slot, wake, ctx);
      if (ctx.is_done()) {
        co_await abandon(path, owner);
        auto done = ctx.check();
        co_return fail(done ? errc::canceled : done.error().code(),
                       "gave up waiting for the " + std::string(to_string(request.kind)) + " " +
                           lock::detail::printable(request.name) + ": " +
                           (done ? std::string("cancelled") : std::string(done.error().message())));
      }
      if (session_->state() == connection_state::closed) {
        session_->release_node(path);
        co_return fail(errc::permission_denied, "the ZooKeeper session of " + config_.redacted + " was closed");
      }
    }
    if (restart) {
      session_->release_node(path);  // gone, or a node of a dead session
      continue;
    }
  }
}

task<result<std::vector<holder_info>>> zk_store::read_holders(recipe kind, const std::string& dir, bool watch,
                                                              bool& dir_missing, bool& raced) {
  dir_missing = false;
  raced = false;
  std::vector<holder_info> out;
  reply kids = co_await session_->get_children(dir, watch);
  if (kids.rc == ZNONODE) {
    dir_missing = true;
    co_return out;
  }
  if (!kids.ok()) co_return fail(to_error(kids.rc, "list " + dir));
  const auto entries = sorted_entries(kids.children);
  std::vector<std::uint64_t> limits;
  std::vector<node_data> datas;
  std::vector<Stat> stats;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    reply got = co_await session_->get(dir + "/" + entries[i].name);
    if (got.rc == ZNONODE) {
      raced = true;
      co_return out;
    }
    if (!got.ok()) co_return fail(to_error(got.rc, "read " + dir + "/" + entries[i].name));
    datas.push_back(decode_data(got.value));
    stats.push_back(got.stat);
    limits.push_back(kind == recipe::semaphore ? datas.back().limit : 1);
    if (!decide(kind, entries, i, limits.back()).granted) break;
  }
  for (std::size_t i : granted_prefix(kind, entries, limits)) {
    if (i >= datas.size()) break;
    holder_info h;
    h.token = static_cast<std::uint64_t>(stats[i].czxid);
    h.mode = entries[i].shared ? access::shared : access::exclusive;
    h.value = datas[i].value;
    h.holder = datas[i].holder;
    h.time_left = session_->session_timeout();
    out.push_back(std::move(h));
  }
  co_return out;
}

task<result<std::vector<holder_info>>> zk_store::holders(recipe kind, std::string name,
                                                         std::optional<std::vector<std::uint64_t>> known,
                                                         context ctx) {
  if (auto ok = check_name(name); !ok) co_return fail(std::move(ok).error());
  const std::string dir = dir_of(kind, name);
  for (;;) {
    if (auto done = ctx.check(); !done) co_return fail(std::move(done).error());
    if (auto up = co_await wait_connected(ctx); !up) co_return fail(std::move(up).error());
    parker wake;
    session::watch_slot slot{&wake, dir, false};
    if (known) session_->add_watch(slot);
    bool missing = false, raced = false;
    auto now = co_await read_holders(kind, dir, known.has_value(), missing, raced);
    if (!now) {
      session_->remove_watch(slot);
      const auto code = now.error().code();
      if (code == errc::unreachable || code == errc::lease_lost) continue;
      co_return now;
    }
    if (raced) {
      session_->remove_watch(slot);
      continue;
    }
    std::vector<std::uint64_t> tokens;
    for (const auto& h : *now) tokens.push_back(h.token);
    if (!known || tokens != *known) {
      session_->remove_watch(slot);
      co_return now;
    }
    if (missing) {
      // Nobody ever queued: wait for the directory to appear.
      reply there = co_await session_->exists(dir, true);
      if (there.ok()) {
        session_->remove_watch(slot);
        continue;
      }
    }
    co_await park_on(*session_, slot, wake, ctx);
  }
}

task<result<std::vector<lock_info>>> zk_store::list(std::string prefix, context ctx) {
  std::vector<lock_info> out;
  if (auto up = co_await wait_connected(ctx); !up) co_return fail(std::move(up).error());
  for (recipe kind : {recipe::mutex, recipe::rw_mutex, recipe::semaphore, recipe::election}) {
    const std::string parent = config_.root + "/" + std::string(recipe_dir(kind));
    reply names = co_await session_->get_children(parent);
    if (names.rc == ZNONODE) continue;
    if (!names.ok()) co_return fail(to_error(names.rc, "list " + parent));
    std::sort(names.children.begin(), names.children.end());
    for (const auto& encoded : names.children) {
      auto name = decode_name(encoded);
      if (!name || name->compare(0, prefix.size(), prefix) != 0) continue;
      const std::string dir = parent + "/" + encoded;
      bool missing = false, raced = false;
      auto held = co_await read_holders(kind, dir, false, missing, raced);
      if (!held) co_return fail(std::move(held).error());
      reply kids = co_await session_->get_children(dir);
      const std::size_t total = kids.ok() ? sorted_entries(kids.children).size() : 0;
      if (total == 0 && held->empty()) continue;
      lock_info info;
      info.kind = kind;
      info.name = std::move(*name);
      info.waiters = total > held->size() ? total - held->size() : 0;
      info.holders = std::move(*held);
      out.push_back(std::move(info));
    }
  }
  co_return out;
}

result<store_config> configure(const store_uri& uri) {
  store_config config;
  config.redacted = uri.redacted();
  if (uri.hosts.empty()) {
    return fail(errc::invalid_argument, "invalid zk:// URI \"" + config.redacted +
                                            "\": it names no server; use zk://host:port[,host:port...]/chroot");
  }
  for (const auto& host : uri.hosts) {
    if (!config.session.hosts.empty()) config.session.hosts += ",";
    const bool v6 = host.host.find(':') != std::string::npos;
    config.session.hosts += (v6 ? "[" + host.host + "]" : host.host) + ":" + std::to_string(host.port ? host.port : 2181);
  }
  // The chroot: "/weft" by default; "/" is the root itself.
  std::string root = uri.path.empty() ? std::string("/weft") : uri.path;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  if (root == "/") root.clear();
  if (!root.empty()) {
    if (root.find("//") != std::string::npos || root.find("/./") != std::string::npos ||
        root.find("/../") != std::string::npos || root.ends_with("/.") || root.ends_with("/..") ||
        root == "/zookeeper" || root.starts_with("/zookeeper/")) {
      return fail(errc::invalid_argument, "invalid zk:// URI \"" + config.redacted +
                                              "\": the chroot must be a plain ZooKeeper path such as /weft");
    }
    for (unsigned char c : root) {
      if (c < 0x20 || c == 0x7f) {
        return fail(errc::invalid_argument,
                    "invalid zk:// URI \"" + config.redacted + "\": the chroot contains a control character");
      }
    }
  }
  config.root = root;
  for (const auto& [key, value] : uri.query) {
    if (key == "session_timeout" || key == "ttl") {
      auto d = parse_positive_duration(value);
      if (!d) return fail(errc::invalid_argument, "invalid zk:// URI \"" + config.redacted + "\": " +
                                                      std::string(d.error().message()));
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
      if (ms < 1s || ms > std::chrono::hours(1)) {
        return fail(errc::invalid_argument, "invalid zk:// URI \"" + config.redacted + "\": " + key +
                                                " must be between 1s and 1h (the server clamps it to its "
                                                "minSessionTimeout..maxSessionTimeout)");
      }
      if (key == "session_timeout" || !uri.query.count("session_timeout")) config.session.session_timeout = ms;
    } else if (key == "connect_timeout") {
      auto d = parse_positive_duration(value);
      if (!d) return fail(errc::invalid_argument, "invalid zk:// URI \"" + config.redacted + "\": " +
                                                      std::string(d.error().message()));
      config.session.connect_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
    } else {
      return fail(errc::invalid_argument, "invalid zk:// URI \"" + config.redacted + "\": unknown parameter \"" +
                                              key + "\"; known: session_timeout, connect_timeout");
    }
  }
  if (!uri.user.empty() || uri.has_password) {
    if (uri.user.empty() || !uri.has_password) {
      return fail(errc::invalid_argument, "invalid zk:// URI \"" + config.redacted +
                                              "\": digest authentication needs both user and password "
                                              "(zk://user:password@host:port/...)");
    }
    config.session.auth = uri.user + ":" + uri.password;
  } else if (const char* env = std::getenv("WEFT_ZK_AUTH"); env != nullptr && *env != '\0') {
    std::string_view text(env);
    if (text.find(':') == std::string_view::npos || text.front() == ':') {
      return fail(errc::invalid_argument, "WEFT_ZK_AUTH must be user:password");
    }
    config.session.auth = std::string(text);
  }
  return config;
}

}  // namespace

result<std::shared_ptr<store>> open_store(const store_uri& uri) {
  auto config = configure(uri);
  if (!config) return fail(std::move(config).error());
  auto s = session::create(config->session);
  if (!s) return fail(std::move(s).error());
  return std::shared_ptr<store>(std::make_shared<zk_store>(std::move(*config), std::move(*s)));
}

std::shared_ptr<session> session_of(const std::shared_ptr<store>& zk) {
  auto* typed = dynamic_cast<zk_store*>(zk.get());
  return typed != nullptr ? typed->zk_session() : nullptr;
}

}  // namespace weft::lock::zk

// Pulled in by the linker option weft_lock_zk's users get (see CMakeLists.txt),
// so linking the library is enough to make open("zk://...") work.
extern "C" {
extern const int weft_lock_zk_registrar;
const int weft_lock_zk_registrar = [] {
  weft::lock::register_store("zk", &weft::lock::zk::open_store);
  return 1;
}();
}
