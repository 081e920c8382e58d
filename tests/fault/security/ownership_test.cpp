// Without the owner id a client can neither release, renew nor steal a lease,
// on every store. Through the API: a second client (its own store instance)
// only ever gets errc::contended while the lock is held, and what it can see
// of the holder (holders(), list()) never contains the owner id. On Redlock, a
// client that runs the store's own release and renew scripts on every master
// with a forged owner id changes nothing (tests/integration/redis does the
// same on a single Redis; tests/integration/zk/zk_security_test covers
// ZooKeeper identities; tests/unit/hostile/file_store_permissions_test a
// second Unix user on the file store).
#include <hiredis/hiredis.h>
#include <zookeeper/zookeeper.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "environment.hpp"
#include "scripts.hpp"
#include "weft/context.hpp"
#include "weft/lock/mutex.hpp"
#include "weft/lock/store.hpp"
#include "weft/lock/uri.hpp"
#include "weft/runtime.hpp"
#include "weft/sleep.hpp"

namespace {

using namespace std::chrono_literals;
using weft::test::env_or_fail;

std::string unique_name(const std::string& what) {
  return "weft-ownership-" + what + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 1'000'000'007);
}

std::string error_text(const weft::error& e) { return std::string(e.message()); }

// A second client cannot steal: try_lock and a bounded lock() both fail while
// the first holds, the holder is not disturbed, and after its release the
// second client gets a newer token.
void a_second_client_cannot_steal(const std::string& uri, const std::string& what) {
  SCOPED_TRACE(what);
  weft::runtime rt(weft::runtime_options{.workers = 2});
  rt.block_on([&]() -> weft::task<void> {
    auto first = weft::lock::open(uri);
    auto second = weft::lock::open(uri);
    EXPECT_TRUE(first && second);
    if (!first || !second) co_return;
    const std::string name = unique_name(what);
    auto mine = weft::lock::mutex::make(*first, name, {.ttl = 2s}).value();
    auto theirs = weft::lock::mutex::make(*second, name, {.ttl = 2s}).value();
    auto held = co_await mine.lock(weft::context::background());
    EXPECT_TRUE(held.has_value()) << error_text(held.error());
    if (!held) co_return;
    auto tried = co_await theirs.try_lock(weft::context::background());
    EXPECT_FALSE(tried.has_value()) << "a second client took a held lock";
    if (!tried) {
      EXPECT_EQ(tried.error().code(), weft::errc::contended) << error_text(tried.error());
    }
    {
      // Waiting past several TTLs changes nothing: the holder renews.
      auto [ctx, cancel] = weft::with_timeout(weft::context::background(), 5s);
      auto waited = co_await theirs.lock(ctx);
      EXPECT_FALSE(waited.has_value()) << "a second client got a held lock by waiting";
    }
    EXPECT_FALSE(held->is_lost());
    // What the second client sees of the holder.
    auto seen = co_await (*second)->holders(weft::lock::recipe::mutex, name, std::nullopt,
                                                 weft::context::background());
    EXPECT_TRUE(seen.has_value());
    if (seen) {
      EXPECT_EQ(seen->size(), 1u);
      for (auto& h : *seen) EXPECT_EQ(h.token, held->token());
    }
    const std::uint64_t token = held->token();
    EXPECT_TRUE(co_await held->release());
    auto after = co_await theirs.try_lock(weft::context::background());
    EXPECT_TRUE(after.has_value()) << error_text(after.error());
    if (after) {
      EXPECT_GT(after->token(), token);
      EXPECT_TRUE(co_await after->release());
    }
  }());
}

TEST(ownership, a_second_file_store_client_cannot_steal) {
  char pattern[] = "/tmp/weft-ownership-XXXXXX";
  const std::string dir = ::mkdtemp(pattern);
  a_second_client_cannot_steal("file://" + dir + "/locks", "file");
  std::filesystem::remove_all(dir);
}

TEST(ownership, a_second_redis_client_cannot_steal) {
  const std::string uri = env_or_fail("WEFT_TEST_REDIS");
  ASSERT_FALSE(uri.empty());
  a_second_client_cannot_steal(uri, "redis");
}

TEST(ownership, a_second_redlock_client_cannot_steal) {
  const std::string uri = env_or_fail("WEFT_TEST_REDLOCK");
  ASSERT_FALSE(uri.empty());
  a_second_client_cannot_steal(uri, "redlock");
}

TEST(ownership, a_second_zk_client_cannot_steal) {
  const std::string uri = env_or_fail("WEFT_TEST_ZK");
  ASSERT_FALSE(uri.empty());
  a_second_client_cannot_steal(uri + "?session_timeout=2s", "zk");
}

// Runs `script` on one master with the mutex's key (the scripts name the
// other keys after it); the reply's integer or -1.
long long run_script(redisContext* raw, const std::string& name, const char* script,
                     const std::vector<std::string>& arguments) {
  const std::string prefix = "weft:lock:mutex:{" + name + "}:";
  std::vector<std::string> argv{"EVAL", script, "1", prefix + "x"};
  argv.insert(argv.end(), arguments.begin(), arguments.end());
  std::vector<const char*> pointers;
  std::vector<size_t> lengths;
  for (auto& a : argv) {
    pointers.push_back(a.data());
    lengths.push_back(a.size());
  }
  auto* r = static_cast<redisReply*>(
      redisCommandArgv(raw, static_cast<int>(argv.size()), pointers.data(), lengths.data()));
  long long value = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
  if (r) freeReplyObject(r);
  return value;
}

TEST(ownership, redlock_scripts_with_a_forged_owner_id_change_nothing_on_any_master) {
  const std::string uri = env_or_fail("WEFT_TEST_REDLOCK");
  ASSERT_FALSE(uri.empty());
  auto parsed = weft::lock::parse_store_uri(uri);
  ASSERT_TRUE(parsed.has_value());
  weft::runtime rt(weft::runtime_options{.workers = 2});
  rt.block_on([&]() -> weft::task<void> {
    auto store = weft::lock::open(uri);
    EXPECT_TRUE(store.has_value());
    if (!store) co_return;
    const std::string name = unique_name("forged");
    auto m = weft::lock::mutex::make(*store, name, {.ttl = 1s}).value();
    auto held = co_await m.lock(weft::context::background());
    EXPECT_TRUE(held.has_value());
    if (!held) co_return;
    int reached = 0;
    for (auto& master : parsed->hosts) {
      redisContext* raw = redisConnect(master.host.c_str(), master.port);
      EXPECT_TRUE(raw && !raw->err);
      if (!raw || raw->err) {
        if (raw) redisFree(raw);
        continue;
      }
      ++reached;
      // The owner id is 128 random bits; guess one, and also the empty one.
      for (const std::string& forged : {std::string("00000000000000000000000000000000|pid 1"), std::string()}) {
        EXPECT_EQ(run_script(raw, name, weft::lock::redis_detail::release_script, {"x", forged, "", ""}), 0)
            << "a forged release was accepted by " << master.host << ":" << master.port;
        EXPECT_EQ(run_script(raw, name, weft::lock::redis_detail::renew_script, {"x", forged, "60000"}), 0)
            << "a forged renewal was accepted by " << master.host << ":" << master.port;
      }
      redisFree(raw);
    }
    EXPECT_EQ(reached, 5);
    // The forged renewals did not extend anything and the releases freed nothing:
    // a second client still cannot take it, the holder keeps renewing.
    auto other = weft::lock::open(uri);
    EXPECT_TRUE(other.has_value());
    if (other) {
      auto theirs = weft::lock::mutex::make(*other, name, {.ttl = 1s}).value();
      auto tried = co_await theirs.try_lock(weft::context::background());
      EXPECT_FALSE(tried.has_value()) << "the forged release freed the lock";
    }
    co_await weft::sleep_for(1500ms);  // past the TTL: only the holder's own renewals keep it
    EXPECT_FALSE(held->is_lost());
    EXPECT_TRUE(co_await held->release());
  }());
}

// ZooKeeper without credentials: lock nodes carry the open ACL, and ZooKeeper
// checks DELETE on the parent, which every participant of a shared lock
// directory needs, so another anonymous client *can* delete the holder's node
// (digest credentials are the protection: tests/integration/zk/zk_security_test,
// docs/LOCKS.md). What must never happen is the holder not noticing: its lost()
// fires at once, and a newcomer gets the lock with a newer token.
TEST(ownership, zk_anonymous_holder_is_told_when_another_client_deletes_its_node) {
  const std::string uri = env_or_fail("WEFT_TEST_ZK");
  ASSERT_FALSE(uri.empty());
  auto parsed = weft::lock::parse_store_uri(uri);
  ASSERT_TRUE(parsed.has_value());
  ::zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
  const std::string hosts = parsed->hosts.at(0).host + ":" + std::to_string(parsed->hosts.at(0).port);
  zhandle_t* raw = ::zookeeper_init(hosts.c_str(), nullptr, 5000, nullptr, nullptr, 0);
  ASSERT_NE(raw, nullptr);
  for (int i = 0; i < 500 && ::zoo_state(raw) != ZOO_CONNECTED_STATE; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(::zoo_state(raw), ZOO_CONNECTED_STATE);
  weft::runtime rt(weft::runtime_options{.workers = 2});
  rt.block_on([&]() -> weft::task<void> {
    auto store = weft::lock::open(uri + "?session_timeout=4s");
    EXPECT_TRUE(store.has_value());
    if (!store) co_return;
    const std::string name = unique_name("zk-deleted");
    auto m = weft::lock::mutex::make(*store, name, {.ttl = 4s}).value();
    auto held = co_await m.lock(weft::context::background());
    EXPECT_TRUE(held.has_value());
    if (!held) co_return;
    const std::string dir = parsed->path + "/mutex/" + name;
    String_vector children{};
    EXPECT_EQ(::zoo_get_children(raw, dir.c_str(), 0, &children), ZOK) << dir;
    EXPECT_EQ(children.count, 1);
    for (int i = 0; i < children.count; ++i) {
      const std::string node = dir + "/" + children.data[i];
      EXPECT_EQ(::zoo_delete(raw, node.c_str(), -1), ZOK) << "the foreign delete of " << node << " did not happen";
    }
    ::deallocate_String_vector(&children);
    for (int i = 0; i < 1000 && !held->is_lost(); ++i) co_await weft::sleep_for(10ms);
    EXPECT_TRUE(held->is_lost()) << "10 s after another client deleted its node, the holder still believes it holds "
                                 << name;
    const std::uint64_t old_token = held->token();
    (void)co_await held->release();
    auto next = co_await m.try_lock(weft::context::background());
    EXPECT_TRUE(next.has_value()) << "the lock stayed taken after its holder's node was deleted";
    if (next) {
      EXPECT_GT(next->token(), old_token);
      (void)co_await next->release();
    }
  }());
  ::zookeeper_close(raw);
}

}  // namespace
