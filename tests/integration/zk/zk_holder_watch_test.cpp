// The holder watch: with zk:// and no credentials any client of the ensemble
// can delete a holder's node (ZooKeeper checks DELETE on the shared parent).
// The holder must hear it at once: its lease's lost() fires, and another
// client can then acquire with a newer token. The deleting client is a raw
// libzookeeper-mt handle, as an operator's zkCli or a foreign program would be.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "weft/lock/election.hpp"
#include "weft/lock/mutex.hpp"
#include "weft/lock/rw_mutex.hpp"
#include "weft/lock/semaphore.hpp"
#include "zk_session.hpp"  // THREADED (set by CMake): the synchronous C API below
#include "zk_store.hpp"
#include "zk_test_support.hpp"

namespace weft::lock::zk {
namespace {

using namespace std::chrono_literals;
using testing::acquire_within;
using testing::expect_deleted_reason;
using testing::granted_with_newer_token;
using testing::lost_within;
using testing::open_or_fail;
using testing::standalone_uri;
using testing::unique_name;

// Generous: the notification takes milliseconds; the bound only catches "never".
constexpr auto lost_bound = 5s;

runtime_options two_workers() {
  runtime_options options;
  options.workers = 2;
  return options;
}

// A raw C client on the standalone server, anonymous like the store; it
// connects when asked.
class raw_client {
 public:
  raw_client() = default;
  void connect() {
    const std::string uri = testing::required_env("WEFT_TEST_ZK");
    const auto hosts_begin = uri.find("://") + 3;
    const auto path_begin = uri.find('/', hosts_begin);
    hosts_ = uri.substr(hosts_begin, path_begin - hosts_begin);
    chroot_ = path_begin == std::string::npos ? std::string("/weft") : uri.substr(path_begin);
    handle_ = zookeeper_init2(hosts_.c_str(), nullptr, 10000, nullptr, nullptr, 0, [](const char*) {});
    for (int i = 0; i < 500 && handle_ != nullptr && zoo_state(handle_) != ZOO_CONNECTED_STATE; ++i) {
      std::this_thread::sleep_for(10ms);
    }
  }
  ~raw_client() {
    if (handle_ != nullptr) zookeeper_close(handle_);
  }
  raw_client(const raw_client&) = delete;
  raw_client& operator=(const raw_client&) = delete;

  bool connected() const { return handle_ != nullptr && zoo_state(handle_) == ZOO_CONNECTED_STATE; }

  // The entry nodes of a lock, by path, with their czxid (the lease token).
  std::vector<std::pair<std::string, std::uint64_t>> entries(const std::string& recipe, const std::string& name) {
    std::vector<std::pair<std::string, std::uint64_t>> out;
    const std::string dir = chroot_ + "/" + recipe + "/" + name;
    String_vector children{};
    if (zoo_get_children(handle_, dir.c_str(), 0, &children) != ZOK) return out;
    for (int i = 0; i < children.count; ++i) {
      const std::string path = dir + "/" + children.data[i];
      Stat stat{};
      if (zoo_exists(handle_, path.c_str(), 0, &stat) == ZOK) {
        out.emplace_back(path, static_cast<std::uint64_t>(stat.czxid));
      }
    }
    deallocate_String_vector(&children);
    return out;
  }

  // Deletes the node of the entry whose token is `token`; the ZooKeeper result code.
  int delete_entry(const std::string& recipe, const std::string& name, std::uint64_t token) {
    for (const auto& [path, czxid] : entries(recipe, name)) {
      if (czxid == token) return zoo_delete(handle_, path.c_str(), -1);
    }
    return ZNONODE;
  }

 private:
  std::string hosts_;
  std::string chroot_;
  zhandle_t* handle_ = nullptr;
};

// Acquires in the background within a bound (through another store: a fresh
// session, as another process).
template <typename Acquire>
join_handle<result<lease>> go_acquire_bounded(Acquire acquire) {
  return go(
      [acquire]() -> task<result<lease>> { co_return co_await acquire_within(10s, acquire); });
}

// Waits (at most lost_bound) until the session's server holds `count` of
// our holder watches (armed holder_watch_delay() after each create).
task<bool> armed_within_bound(session& s, std::size_t count) {
  for (int i = 0; i < 1000 && s.armed_node_watch_count() != count; ++i) co_await sleep_for(5ms);
  co_return s.armed_node_watch_count() == count;
}

// Deletes the node of `held` through the raw client, as a foreign program
// would, and expects lost() to fire (within lost_bound) with that reason.
task<void> expect_lost_when_deleted(raw_client& raw, const char* recipe, const std::string& name,
                                    const lease& held, const char* not_fired) {
  EXPECT_EQ(raw.delete_entry(recipe, name, held.token()), ZOK);
  EXPECT_TRUE(co_await lost_within(held, lost_bound)) << not_fired;
  expect_deleted_reason(held);
}

// Each test opens the stores it needs on the standalone server (10 s
// sessions): ours, another client's (as another process), the raw client.
class zk_holder_watch : public ::testing::Test {
 protected:
  void open_store() {
    store = open_or_fail(standalone_uri("session_timeout=10s"));
    ASSERT_NE(store, nullptr);
  }
  void open_store_and_other() {
    store = open_or_fail(standalone_uri("session_timeout=10s"));
    other = open_or_fail(standalone_uri("session_timeout=10s"));
    ASSERT_NE(store, nullptr);
    ASSERT_NE(other, nullptr);
  }
  void connect_raw() {
    raw.connect();
    ASSERT_TRUE(raw.connected());
  }

  runtime rt{two_workers()};
  std::shared_ptr<weft::lock::store> store;
  std::shared_ptr<weft::lock::store> other;
  raw_client raw;
};

TEST_F(zk_holder_watch, a_deleted_mutex_node_fires_lost_and_the_next_client_gets_a_newer_token) {
  ASSERT_NO_FATAL_FAILURE(open_store_and_other());
  ASSERT_NO_FATAL_FAILURE(connect_raw());
  const std::string name = unique_name("watched-mutex");
  rt.block_on([&]() -> task<void> {
    auto held = co_await mutex::make(store, name).value().lock(context{});
    EXPECT_TRUE(held);
    if (!held) co_return;
    // The other client waits in the queue behind the holder.
    auto next = go_acquire_bounded(
        [&](const context& ctx) { return mutex::make(other, name).value().lock(ctx); });
    co_await sleep_for(200ms);
    EXPECT_FALSE(held->is_lost());
    co_await expect_lost_when_deleted(raw, "mutex", name, *held,
                                      "lost() did not fire after the node was deleted");
    EXPECT_TRUE(held->is_lost());
    auto got = co_await std::move(next);
    if (granted_with_newer_token(got, *held)) {
      EXPECT_FALSE(got->is_lost());
      EXPECT_TRUE(co_await got->release());
    }
    auto released = co_await held->release();
    EXPECT_FALSE(released);
    if (!released) {
      EXPECT_EQ(released.error().code(), errc::lease_lost);
    }
  }());
}

TEST_F(zk_holder_watch, a_deleted_reader_node_fires_lost_and_a_writer_gets_a_newer_token) {
  ASSERT_NO_FATAL_FAILURE(open_store_and_other());
  ASSERT_NO_FATAL_FAILURE(connect_raw());
  const std::string name = unique_name("watched-reader");
  rt.block_on([&]() -> task<void> {
    auto read = co_await rw_mutex::make(store, name).value().lock_shared(context{});
    EXPECT_TRUE(read);
    if (!read) co_return;
    co_await expect_lost_when_deleted(raw, "rw_mutex", name, *read,
                                      "lost() did not fire after the reader's node was deleted");
    auto write = co_await acquire_within(
        10s, [&](const context& ctx) { return rw_mutex::make(other, name).value().lock(ctx); });
    if (granted_with_newer_token(write, *read)) {
      EXPECT_TRUE(co_await write->release());
    }
    (void)co_await read->release();
  }());
}

TEST_F(zk_holder_watch, a_deleted_writer_node_fires_lost_and_a_reader_gets_a_newer_token) {
  ASSERT_NO_FATAL_FAILURE(open_store_and_other());
  ASSERT_NO_FATAL_FAILURE(connect_raw());
  const std::string name = unique_name("watched-writer");
  rt.block_on([&]() -> task<void> {
    auto write = co_await rw_mutex::make(store, name).value().lock(context{});
    EXPECT_TRUE(write);
    if (!write) co_return;
    auto reader = go_acquire_bounded(
        [&](const context& ctx) { return rw_mutex::make(other, name).value().lock_shared(ctx); });
    co_await sleep_for(200ms);
    co_await expect_lost_when_deleted(raw, "rw_mutex", name, *write,
                                      "lost() did not fire after the writer's node was deleted");
    auto read = co_await std::move(reader);
    if (granted_with_newer_token(read, *write)) {
      EXPECT_TRUE(co_await read->release());
    }
    (void)co_await write->release();
  }());
}

// Only the permit whose node was deleted is lost; the other one (same
// session) stays held, and the waiting client gets the freed permit.
TEST_F(zk_holder_watch, a_deleted_permit_fires_lost_for_that_permit_only_and_frees_a_slot) {
  ASSERT_NO_FATAL_FAILURE(open_store_and_other());
  ASSERT_NO_FATAL_FAILURE(connect_raw());
  const std::string name = unique_name("watched-permit");
  rt.block_on([&]() -> task<void> {
    auto sem = semaphore::make(store, name, 2).value();
    auto first = co_await sem.acquire(context{});
    EXPECT_TRUE(first);
    if (!first) co_return;
    auto second = co_await sem.acquire(context{});
    EXPECT_TRUE(second);
    if (!second) co_return;
    // Both permits are held: another client queues.
    auto waiter = go_acquire_bounded(
        [&](const context& ctx) { return semaphore::make(other, name, 2).value().acquire(ctx); });
    co_await sleep_for(200ms);
    co_await expect_lost_when_deleted(raw, "semaphore", name, *first,
                                      "lost() did not fire after the permit's node was deleted");
    auto third = co_await std::move(waiter);
    if (granted_with_newer_token(third, *first)) {
      EXPECT_FALSE(third->is_lost());
    }
    EXPECT_FALSE(second->is_lost()) << second->lost_reason();
    EXPECT_TRUE(co_await second->release());
    if (third) {
      EXPECT_TRUE(co_await third->release());
    }
    (void)co_await first->release();
  }());
}

// A semaphore holder granted with a waiter behind it rewrites its own node
// (to wake that waiter): the data change consumes its watch, which must be
// armed again, so a later deletion is still heard.
TEST_F(zk_holder_watch, a_permit_that_rewrote_its_node_still_hears_its_deletion) {
  ASSERT_NO_FATAL_FAILURE(open_store_and_other());
  ASSERT_NO_FATAL_FAILURE(connect_raw());
  const std::string name = unique_name("rewritten-permit");
  rt.block_on([&]() -> task<void> {
    // The other client holds both permits; `mine` queues first, `later`
    // behind it. When a permit frees, `mine` is granted with `later` behind
    // it and rewrites its node (this wakes `later`, which watches it).
    auto first = co_await semaphore::make(other, name, 2).value().acquire(context{});
    auto kept = co_await semaphore::make(other, name, 2).value().acquire(context{});
    EXPECT_TRUE(first);
    EXPECT_TRUE(kept);
    if (!first || !kept) co_return;
    auto mine = go_acquire_bounded(
        [&](const context& ctx) { return semaphore::make(store, name, 2).value().acquire(ctx); });
    co_await sleep_for(200ms);
    auto s = session_of(store);
    EXPECT_TRUE(co_await armed_within_bound(*s, 1)) << "the queued entry's holder watch was never armed";
    auto later = go_acquire_bounded(
        [&](const context& ctx) { return semaphore::make(other, name, 2).value().acquire(ctx); });
    co_await sleep_for(200ms);
    const auto holder_events = s->holder_notifications();
    EXPECT_TRUE(co_await first->release());
    auto held = co_await std::move(mine);
    EXPECT_TRUE(held);
    if (!held) co_return;
    // The rewrite's change event reached our own watch, and the lease is not lost by it.
    for (int i = 0; i < 200 && s->holder_notifications() == holder_events; ++i) co_await sleep_for(10ms);
    EXPECT_EQ(s->holder_notifications() - holder_events, 1u);
    co_await sleep_for(300ms);  // the watchdog arms the watch again
    EXPECT_TRUE(co_await armed_within_bound(*s, 1)) << "the watch was not armed again after the rewrite";
    EXPECT_FALSE(held->is_lost()) << held->lost_reason();
    co_await expect_lost_when_deleted(raw, "semaphore", name, *held,
                                      "the watch was not armed again after the rewrite");
    auto next = co_await std::move(later);
    if (granted_with_newer_token(next, *held)) {
      EXPECT_TRUE(co_await next->release());
    }
    EXPECT_TRUE(co_await kept->release());
  }());
}

TEST_F(zk_holder_watch,
       a_deleted_leader_node_fires_lost_and_the_next_candidate_leads_with_a_newer_token) {
  ASSERT_NO_FATAL_FAILURE(open_store_and_other());
  ASSERT_NO_FATAL_FAILURE(connect_raw());
  const std::string name = unique_name("watched-leader");
  rt.block_on([&]() -> task<void> {
    auto lead = co_await election::make(store, name).value().campaign(context{}, "alpha");
    EXPECT_TRUE(lead);
    if (!lead) co_return;
    auto candidate = go_acquire_bounded([&](const context& ctx) {
      return election::make(other, name).value().campaign(ctx, "beta");
    });
    co_await sleep_for(200ms);
    co_await expect_lost_when_deleted(raw, "election", name, *lead,
                                      "lost() did not fire after the leader's node was deleted");
    auto next = co_await std::move(candidate);
    if (granted_with_newer_token(next, *lead)) {
      auto seen = co_await election::make(store, name).value().current(context{});
      EXPECT_TRUE(seen && seen->has_value());
      if (seen && seen->has_value()) {
        EXPECT_EQ((*seen)->value, "beta");
      }
      EXPECT_TRUE(co_await next->release());
    }
    (void)co_await lead->release();
  }());
}

// The holder watch is armed lazily: a lease held past holder_watch_delay()
// has it (create + getChildren + getData, then the delete: 4 requests in
// all), and its deletion by another client fires lost().
TEST_F(zk_holder_watch,
       a_lease_held_past_the_delay_arms_its_watch_with_one_request_and_hears_its_deletion) {
  ASSERT_NO_FATAL_FAILURE(open_store());
  auto s = session_of(store);
  ASSERT_NE(s, nullptr);
  ASSERT_NO_FATAL_FAILURE(connect_raw());
  const std::string name = unique_name("held-past-delay");
  EXPECT_EQ(s->holder_watch_delay(), 100ms);  // min(100 ms, 10 s / 10)
  rt.block_on([&]() -> task<void> {
    auto m = mutex::make(store, name).value();
    auto warm = co_await m.lock(context{});  // creates the parent nodes once
    EXPECT_TRUE(warm);
    if (!warm) co_return;
    EXPECT_TRUE(co_await warm->release());
    for (int i = 0; i < 500 && s->node_watch_count() != 0; ++i) co_await sleep_for(10ms);

    const auto before = s->requests_sent();
    const auto started = std::chrono::steady_clock::now();
    auto held = co_await m.lock(context{});
    EXPECT_TRUE(held);
    if (!held) co_return;
    EXPECT_TRUE(co_await armed_within_bound(*s, 1)) << "the holder watch was never armed";
    EXPECT_GE(std::chrono::steady_clock::now() - started, s->holder_watch_delay()) << "armed before the delay";
    EXPECT_EQ(s->requests_sent() - before, 3u) << "create, getChildren, the holder watch's getData";
    EXPECT_TRUE(co_await held->release());
    EXPECT_EQ(s->requests_sent() - before, 4u) << "and the delete";
    for (int i = 0; i < 500 && s->node_watch_count() != 0; ++i) co_await sleep_for(10ms);
    EXPECT_EQ(s->node_watch_count(), 0u) << "the released node's watch is still tracked";

    auto watched = co_await m.lock(context{});
    EXPECT_TRUE(watched);
    if (!watched) co_return;
    EXPECT_TRUE(co_await armed_within_bound(*s, 1)) << "the holder watch was never armed";
    EXPECT_FALSE(watched->is_lost()) << watched->lost_reason();
    co_await expect_lost_when_deleted(raw, "mutex", name, *watched,
                                      "lost() did not fire after the node was deleted");
    for (int i = 0; i < 500 && s->node_watch_count() != 0; ++i) co_await sleep_for(10ms);
    EXPECT_EQ(s->node_watch_count(), 0u);
    (void)co_await watched->release();
  }());
}

// Deleted before its watch is armed (right after the grant, within the
// delay): the watch's getData answers ZNONODE when it is sent, and lost()
// fires then. Arming late misses nothing.
TEST_F(zk_holder_watch, a_node_deleted_before_its_watch_is_armed_still_fires_lost) {
  ASSERT_NO_FATAL_FAILURE(open_store());
  auto s = session_of(store);
  ASSERT_NE(s, nullptr);
  ASSERT_NO_FATAL_FAILURE(connect_raw());
  const std::string name = unique_name("deleted-early");
  rt.block_on([&]() -> task<void> {
    auto held = co_await mutex::make(store, name).value().lock(context{});
    EXPECT_TRUE(held);
    if (!held) co_return;
    co_await expect_lost_when_deleted(raw, "mutex", name, *held,
                                      "lost() did not fire after the node was deleted");
    for (int i = 0; i < 500 && s->node_watch_count() != 0; ++i) co_await sleep_for(10ms);
    EXPECT_EQ(s->node_watch_count(), 0u);
    auto released = co_await held->release();
    EXPECT_FALSE(released);
  }());
}

// Our own release deletes the node too: that must not fire lost() (of this
// lease, or of another one the session holds), and the watch bookkeeping goes
// back to nothing once the server's deletion event has arrived (no leak).
TEST_F(zk_holder_watch, our_own_release_fires_no_lost_and_leaves_no_watch_behind) {
  ASSERT_NO_FATAL_FAILURE(open_store());
  auto s = session_of(store);
  ASSERT_NE(s, nullptr);
  const std::string name = unique_name("own-release");
  rt.block_on([&]() -> task<void> {
    auto keep = co_await mutex::make(store, name + "-kept").value().lock(context{});
    EXPECT_TRUE(keep);
    if (!keep) co_return;
    for (int i = 0; i < 20; ++i) {
      auto held = co_await mutex::make(store, name).value().lock(context{});
      EXPECT_TRUE(held);
      if (!held) co_return;
      const auto state = held->state();  // outlives release(), to look at afterwards
      auto try_other = co_await mutex::make(store, name).value().try_lock(context{});  // contended, abandons its node
      EXPECT_FALSE(try_other);
      EXPECT_TRUE(co_await held->release());
      co_await sleep_for(10ms);
      EXPECT_FALSE(state->is_lost()) << "our own release fired lost(): " << state->lost_reason();
    }
    // Only the kept lease's node is still watched once the echoes are in.
    for (int i = 0; i < 500 && s->node_watch_count() != 1; ++i) co_await sleep_for(10ms);
    EXPECT_EQ(s->node_watch_count(), 1u);
    EXPECT_FALSE(keep->is_lost()) << keep->lost_reason();
    EXPECT_TRUE(co_await keep->release());
    for (int i = 0; i < 500 && s->node_watch_count() != 0; ++i) co_await sleep_for(10ms);
    EXPECT_EQ(s->node_watch_count(), 0u);
  }());
}

}  // namespace
}  // namespace weft::lock::zk
