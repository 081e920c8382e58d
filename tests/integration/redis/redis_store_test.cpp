// The redis:// store against a real redis-server: grants, FIFO hand-off by
// push, fencing tokens, ownership checks and authentication.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <hiredis/hiredis.h>

#include "redis_test_support.hpp"
#include "connection.hpp"
#include "scripts.hpp"
#include "weft/context.hpp"
#include "weft/go.hpp"
#include "weft/lock/store.hpp"
#include "weft/runtime.hpp"
#include "weft/sleep.hpp"

using namespace std::chrono_literals;
using weft::context;
using weft::errc;
using weft::task;
namespace lock = weft::lock;

namespace {

using weft::test::mutex_request;
using weft::test::open_or_fail;
using weft::test::unique_name;

class redis_store : public ::testing::Test {
 protected:
  std::string uri_ = weft::test::env_or_fail("WEFT_TEST_REDIS");
  weft::runtime runtime_{weft::runtime_options{.workers = 2}};
};

TEST_F(redis_store, acquire_then_release_gives_rising_tokens) {
  ASSERT_FALSE(uri_.empty());
  auto store = open_or_fail(uri_);
  ASSERT_TRUE(store);
  auto name = unique_name("basic");
  runtime_.block_on([&]() -> task<void> {
    std::uint64_t last = 0;
    for (int i = 0; i < 20; ++i) {
      auto held = co_await store->acquire(mutex_request(name), context::background());
      EXPECT_TRUE(held) << (held ? "" : std::string(held.error().message()));
      if (!held) co_return;
      EXPECT_GT(held->token(), last);
      last = held->token();
      auto released = co_await held->release();
      EXPECT_TRUE(released) << (released ? "" : std::string(released.error().message()));
    }
  }());
}

TEST_F(redis_store, try_acquire_of_a_held_lock_is_contended) {
  auto store = open_or_fail(uri_);
  ASSERT_TRUE(store);
  auto name = unique_name("try");
  runtime_.block_on([&]() -> task<void> {
    auto held = co_await store->acquire(mutex_request(name), context::background());
    EXPECT_TRUE(held);
    auto again = co_await store->acquire(mutex_request(name, false), context::background());
    EXPECT_FALSE(again);
    if (!again) { EXPECT_EQ(again.error().code(), errc::contended); }
    (void)co_await held->release();
    auto now_free = co_await store->acquire(mutex_request(name, false), context::background());
    EXPECT_TRUE(now_free);
  }());
}

TEST_F(redis_store, waiters_are_served_in_arrival_order_by_push) {
  auto store = open_or_fail(uri_);
  ASSERT_TRUE(store);
  auto name = unique_name("fifo");
  runtime_.block_on([&]() -> task<void> {
    auto first = co_await store->acquire(mutex_request(name), context::background());
    EXPECT_TRUE(first);
    std::mutex order_mutex;
    std::vector<int> order;
    std::vector<weft::join_handle<void>> waiters;
    for (int i = 0; i < 5; ++i) {
      waiters.push_back(weft::go([&, i]() -> task<void> {
        auto held = co_await store->acquire(mutex_request(name), context::background());
        EXPECT_TRUE(held);
        {
          std::lock_guard guard(order_mutex);
          order.push_back(i);
        }
        co_await weft::sleep_for(5ms);
        (void)co_await held->release();
      }));
      co_await weft::sleep_for(30ms);  // arrive one after the other
    }
    (void)co_await first->release();
    for (auto& w : waiters) co_await std::move(w);
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
  }());
}

TEST_F(redis_store, cancelled_waiter_leaves_the_queue) {
  auto store = open_or_fail(uri_);
  ASSERT_TRUE(store);
  auto name = unique_name("cancel");
  runtime_.block_on([&]() -> task<void> {
    auto first = co_await store->acquire(mutex_request(name), context::background());
    EXPECT_TRUE(first);
    auto [ctx, cancel] = weft::with_timeout(context::background(), 100ms);
    auto gave_up = co_await store->acquire(mutex_request(name), ctx);
    EXPECT_FALSE(gave_up);
    if (!gave_up) { EXPECT_EQ(gave_up.error().code(), errc::deadline_exceeded); }
    auto second = weft::go([&]() -> task<void> {
      auto held = co_await store->acquire(mutex_request(name), context::background());
      EXPECT_TRUE(held);
    });
    co_await weft::sleep_for(20ms);
    auto start = std::chrono::steady_clock::now();
    (void)co_await first->release();
    co_await std::move(second);
    // The cancelled waiter was ahead in the queue; it must not stall the next one.
    EXPECT_LT(std::chrono::steady_clock::now() - start, 900ms);
  }());
}

// The release script itself, driven by hand: it grants the lock to the next
// live waiter (owner, PX, a higher token), tells only that waiter, skips a
// waiter whose queue entry expired, and a granted waiter that leaves (the
// cancellation path) frees the lock again.
TEST_F(redis_store, release_hands_the_lock_to_the_next_live_waiter_only) {
  std::string port = weft::test::env_or_fail("WEFT_TEST_REDIS_PORT");
  auto name = unique_name("handoff");
  std::string x = "weft:lock:mutex:{" + name + "}:x";
  redisContext* raw = redisConnect("127.0.0.1", std::stoi(port));
  redisContext* listener = redisConnect("127.0.0.1", std::stoi(port));
  ASSERT_TRUE(raw && !raw->err && listener && !listener->err);
  auto command = [](redisContext* c, std::vector<std::string> argv) {
    std::vector<const char*> pointers;
    std::vector<size_t> lengths;
    for (auto& a : argv) {
      pointers.push_back(a.data());
      lengths.push_back(a.size());
    }
    return static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(argv.size()), pointers.data(), lengths.data()));
  };
  // {status, value} of an acquire, or the integer of a release.
  auto acquire = [&](const std::string& owner, const std::string& channel, const std::string& waiter_ttl,
                     const std::string& handoff) -> std::pair<long long, long long> {
    auto* r = command(raw, {"EVAL", lock::redis_detail::acquire_script, "1", x, "x", owner, "60000", "1", "1",
                            waiter_ttl, "0", channel, "", "", "", "1", handoff});
    std::pair<long long, long long> out{-1, -1};
    if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2) out = {r->element[0]->integer, r->element[1]->integer};
    if (r) freeReplyObject(r);
    return out;
  };
  auto release = [&](const std::string& owner, const std::string& member) -> long long {
    auto* r = command(raw, {"EVAL", lock::redis_detail::release_script, "1", x, "x", owner, member, ""});
    long long out = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    if (r) freeReplyObject(r);
    return out;
  };
  auto text = [&](std::vector<std::string> argv) -> std::string {
    auto* r = command(raw, std::move(argv));
    std::string out = r && r->type == REDIS_REPLY_STRING ? std::string(r->str, r->len)
                      : r && r->type == REDIS_REPLY_INTEGER ? std::to_string(r->integer)
                                                            : std::string("(nil)");
    if (r) freeReplyObject(r);
    return out;
  };
  const std::string holder = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa|holder";
  const std::string dead = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb|dead";
  const std::string live = "cccccccccccccccccccccccccccccccc|live";
  const std::string dead_channel = "weft:wake:test-dead-" + name;
  const std::string live_channel = "weft:wake:test-live-" + name;
  auto granted = acquire(holder, "weft:wake:test-holder", "60000", "");
  ASSERT_EQ(granted.first, 1);
  // The dead waiter queues first, with an entry that expires in 1 ms; the live one after it.
  EXPECT_EQ(acquire(dead, dead_channel, "1", "60000||0|").first, 0);
  EXPECT_EQ(acquire(live, live_channel, "60000", "700||0|").first, 0);
  auto* subscribed = command(listener, {"SUBSCRIBE", dead_channel, live_channel});
  ASSERT_TRUE(subscribed);
  freeReplyObject(subscribed);
  void* confirmation = nullptr;  // the second channel's subscribe confirmation
  ASSERT_EQ(redisGetReply(listener, &confirmation), REDIS_OK);
  freeReplyObject(confirmation);
  std::this_thread::sleep_for(20ms);  // the dead waiter's entry expires

  EXPECT_EQ(release(holder, ""), 1);
  EXPECT_EQ(text({"GET", x}), live) << "the lock went to the next live waiter";
  auto pttl = std::stoll(text({"PTTL", x}));
  EXPECT_GT(pttl, 0);
  EXPECT_LE(pttl, 700) << "a hand-off grants the waiter's own grant PX";
  EXPECT_EQ(text({"ZCARD", "weft:lock:mutex:{" + name + "}:q"}), "0") << "both waiters left the queue";
  void* message = nullptr;
  ASSERT_EQ(redisGetReply(listener, &message), REDIS_OK);
  auto* m = static_cast<redisReply*>(message);
  ASSERT_TRUE(m && m->type == REDIS_REPLY_ARRAY && m->elements == 3);
  EXPECT_EQ(std::string(m->element[1]->str, m->element[1]->len), live_channel) << "only the granted waiter is told";
  std::string payload(m->element[2]->str, m->element[2]->len);
  freeReplyObject(message);
  ASSERT_EQ(payload.front(), 'g');
  auto bar = payload.find('|');
  ASSERT_NE(bar, std::string::npos);
  EXPECT_EQ(payload.substr(bar + 1), live);
  EXPECT_GT(std::stoll(payload.substr(1, bar - 1)), granted.second) << "the handed-over token is higher";
  EXPECT_EQ(text({"GET", "weft:lock:mutex:{" + name + "}:t"}), payload.substr(1, bar - 1));
  // The granted waiter asks again (its heart-beat): it learns the grant.
  auto again = acquire(live, live_channel, "60000", "700||0|");
  EXPECT_EQ(again.first, 2);
  EXPECT_EQ(std::to_string(again.second), payload.substr(1, bar - 1));
  // It was cancelled meanwhile: leaving the queue releases what it was granted.
  EXPECT_EQ(release(live, "x|1|" + live_channel + "|" + live), 1);
  EXPECT_EQ(text({"EXISTS", x}), "0");
  redisFree(listener);
  redisFree(raw);
}

TEST_F(redis_store, a_non_holder_cannot_release_or_renew) {
  auto store = open_or_fail(uri_);
  ASSERT_TRUE(store);
  auto name = unique_name("owner");
  std::string port = weft::test::env_or_fail("WEFT_TEST_REDIS_PORT");
  std::string cli = weft::test::env_or_fail("WEFT_TEST_REDIS_CLI");
  runtime_.block_on([&]() -> task<void> {
    auto held = co_await store->acquire(mutex_request(name, true, 600ms), context::background());
    EXPECT_TRUE(held);
    // Someone without the owner id runs the release and renew scripts directly.
    std::string prefix = "weft:lock:mutex:{" + name + "}:";
    std::string key = "'" + prefix + "x'";
    redisContext* raw = redisConnect("127.0.0.1", std::stoi(port));
    EXPECT_TRUE(raw && !raw->err);
    std::vector<std::string> keys{prefix + "x"};  // the scripts name the other keys after it
    auto run = [&](const char* script, std::vector<std::string> arguments) -> long long {
      std::vector<std::string> argv{"EVAL", script, "1"};
      argv.insert(argv.end(), keys.begin(), keys.end());
      argv.insert(argv.end(), arguments.begin(), arguments.end());
      std::vector<const char*> pointers;
      std::vector<size_t> lengths;
      for (auto& a : argv) {
        pointers.push_back(a.data());
        lengths.push_back(a.size());
      }
      auto* r = static_cast<redisReply*>(redisCommandArgv(raw, static_cast<int>(argv.size()), pointers.data(), lengths.data()));
      long long value = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
      if (r) freeReplyObject(r);
      return value;
    };
    std::string forged = "00000000000000000000000000000000|pid 1";
    EXPECT_EQ(run(lock::redis_detail::release_script, {"x", forged, "", ""}), 0);
    EXPECT_EQ(run(lock::redis_detail::renew_script, {"x", forged, "60000"}), 0);
    redisFree(raw);
    auto forged_try = co_await store->acquire(mutex_request(name, false), context::background());
    EXPECT_FALSE(forged_try) << "the forged release freed the lock";
    // Take it away behind the holder's back, as an expiry would: the old holder's
    // renewal must fail (lost() fires) and its release must not free the new holder.
    EXPECT_TRUE(weft::test::run_quiet(cli + " -p " + port + " DEL " + key));
    auto thief = co_await store->acquire(mutex_request(name, false), context::background());
    EXPECT_TRUE(thief);
    for (int i = 0; i < 100 && !held->is_lost(); ++i) co_await weft::sleep_for(10ms);
    EXPECT_TRUE(held->is_lost());
    auto released = co_await held->release();
    EXPECT_FALSE(released);
    if (!released) { EXPECT_EQ(released.error().code(), errc::lease_lost); }
    auto still = co_await store->acquire(mutex_request(name, false), context::background());
    EXPECT_FALSE(still) << "the stale holder's release freed the new holder's lock";
    EXPECT_FALSE(thief->is_lost());
  }());
}

TEST_F(redis_store, wrong_password_gives_a_clear_error) {
  std::string auth = weft::test::env_or_fail("WEFT_TEST_REDIS_AUTH");
  ASSERT_FALSE(auth.empty());
  auto address = auth.substr(std::string("redis://").size());
  auto store = open_or_fail("redis://:not-the-password@" + address);
  ASSERT_TRUE(store);
  runtime_.block_on([&]() -> task<void> {
    auto held = co_await store->acquire(mutex_request("auth"), context::background());
    EXPECT_FALSE(held);
    if (!held) {
      EXPECT_EQ(held.error().code(), errc::permission_denied);
      std::string message(held.error().message());
      EXPECT_NE(message.find("refused the credentials"), std::string::npos) << message;
      EXPECT_EQ(message.find("not-the-password"), std::string::npos) << "the password leaked: " << message;
    }
  }());
  auto no_password = open_or_fail(auth);
  runtime_.block_on([&]() -> task<void> {
    auto held = co_await no_password->acquire(mutex_request("auth"), context::background());
    EXPECT_FALSE(held);
    if (!held) {
      EXPECT_EQ(held.error().code(), errc::permission_denied);
      EXPECT_NE(std::string(held.error().message()).find("needs a password"), std::string::npos)
          << held.error().message();
    }
  }());
}

TEST_F(redis_store, password_from_file_and_acl_user_are_accepted) {
  std::string auth = weft::test::env_or_fail("WEFT_TEST_REDIS_AUTH");
  std::string password = weft::test::env_or_fail("WEFT_TEST_REDIS_AUTH_PASSWORD");
  auto file = std::filesystem::temp_directory_path() / ("weft-redis-password-" + std::to_string(::getpid()));
  {
    std::ofstream out(file);
    out << password << "\n";
  }
  std::filesystem::permissions(file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  auto from_file = open_or_fail(auth + "?password_file=" + file.string());
  std::string acl_user = weft::test::env_or_fail("WEFT_TEST_REDIS_ACL_USER");
  std::string acl_password = weft::test::env_or_fail("WEFT_TEST_REDIS_ACL_PASSWORD");
  auto as_user = open_or_fail("redis://" + acl_user + ":" + acl_password + "@" + uri_.substr(8));
  ASSERT_TRUE(from_file && as_user);
  runtime_.block_on([&]() -> task<void> {
    auto a = co_await from_file->acquire(mutex_request(unique_name("file")), context::background());
    EXPECT_TRUE(a) << (a ? "" : std::string(a.error().message()));
    auto b = co_await as_user->acquire(mutex_request(unique_name("acl")), context::background());
    EXPECT_TRUE(b) << (b ? "" : std::string(b.error().message()));
  }());
  std::filesystem::remove(file);
}

// A user that may not load or call functions (as on Redis < 7) gets the same
// Lua as plain scripts: grants, FIFO hand-off and release all work.
TEST_F(redis_store, a_user_without_functions_falls_back_to_scripts) {
  std::string port = weft::test::env_or_fail("WEFT_TEST_REDIS_PORT");
  redisContext* raw = redisConnect("127.0.0.1", std::stoi(port));
  ASSERT_TRUE(raw && !raw->err);
  auto* made = static_cast<redisReply*>(redisCommand(
      raw, "ACL SETUSER weft_nofunction on >nofunction-password ~weft:* &weft:* +@all -function -fcall"));
  ASSERT_TRUE(made && made->type == REDIS_REPLY_STATUS) << (made && made->str ? made->str : "no reply");
  freeReplyObject(made);
  redisFree(raw);
  auto store = open_or_fail("redis://weft_nofunction:nofunction-password@127.0.0.1:" + port);
  ASSERT_TRUE(store);
  auto name = unique_name("nofunction");
  runtime_.block_on([&]() -> task<void> {
    auto first = co_await store->acquire(mutex_request(name), context::background());
    EXPECT_TRUE(first) << (first ? "" : std::string(first.error().message()));
    if (!first) co_return;
    auto waiter = weft::go([&]() -> task<void> {
      auto second = co_await store->acquire(mutex_request(name), context::background());
      EXPECT_TRUE(second) << (second ? "" : std::string(second.error().message()));
      if (second) {
        EXPECT_GT(second->token(), first->token());
        EXPECT_TRUE(co_await second->release());
      }
    });
    co_await weft::sleep_for(30ms);
    EXPECT_TRUE(co_await first->release());
    co_await std::move(waiter);
  }());
}

TEST_F(redis_store, password_from_environment_is_used) {
  std::string auth = weft::test::env_or_fail("WEFT_TEST_REDIS_AUTH");
  std::string password = weft::test::env_or_fail("WEFT_TEST_REDIS_AUTH_PASSWORD");
  ::setenv("WEFT_REDIS_PASSWORD", password.c_str(), 1);
  auto store = open_or_fail(auth);
  ::unsetenv("WEFT_REDIS_PASSWORD");
  ASSERT_TRUE(store);
  runtime_.block_on([&]() -> task<void> {
    auto a = co_await store->acquire(mutex_request(unique_name("env")), context::background());
    EXPECT_TRUE(a) << (a ? "" : std::string(a.error().message()));
  }());
}

TEST_F(redis_store, unreachable_server_is_a_clear_error) {
  auto store = open_or_fail("redis://127.0.0.1:" + std::to_string(weft::test::free_port()));
  ASSERT_TRUE(store);
  runtime_.block_on([&]() -> task<void> {
    auto a = co_await store->acquire(mutex_request("nobody"), context::background());
    EXPECT_FALSE(a);
    if (!a) {
      EXPECT_EQ(a.error().code(), errc::unreachable);
      EXPECT_NE(std::string(a.error().message()).find("cannot connect"), std::string::npos) << a.error().message();
    }
  }());
}

// A Redlock release does not wait for a master that is down: a call that
// may not wait out the reconnect backoff fails at once, while one that may
// waits only when the next attempt comes before its deadline.
TEST(redis_connection, a_call_that_may_not_wait_out_the_backoff_fails_at_once) {
  namespace detail = weft::lock::redis_detail;
  weft::runtime rt;
  const int port = weft::test::free_port();
  detail::connection_options options;
  options.where.port = port;
  options.backoff_min = 30s;  // far beyond every deadline below
  options.backoff_max = 30s;
  auto connection = detail::connection::make(options);
  rt.block_on([&]() -> task<void> {
    auto ping = [] { return std::string("*1\r\n$4\r\nPING\r\n"); };
    auto first = co_await connection->call_formatted(ping(), "PING", weft::clock::now() + 5s);
    EXPECT_FALSE(first);  // refused: the backoff starts
    if (first) co_return;
    EXPECT_EQ(first.error().code(), errc::unreachable);
    // A far deadline: without permission to wait, it must not.
    const auto before = std::chrono::steady_clock::now();
    auto without_waiting = co_await connection->call_formatted(ping(), "PING", weft::clock::now() + 60s, false, false);
    EXPECT_FALSE(without_waiting);
    if (!without_waiting) {
      EXPECT_NE(std::string(without_waiting.error().message()).find("reconnecting with backoff"), std::string::npos)
          << without_waiting.error().message();
    }
    // A deadline before the next attempt: failing at once is all it can do.
    auto bounded = co_await connection->call_formatted(ping(), "PING", weft::clock::now() + 1s);
    EXPECT_FALSE(bounded);
    if (!bounded) {
      EXPECT_NE(std::string(bounded.error().message()).find("reconnecting with backoff"), std::string::npos)
          << bounded.error().message();
    }
    EXPECT_LT(std::chrono::steady_clock::now() - before, 20s) << "a call waited for the 30 s backoff";
  }());
}

TEST_F(redis_store, malformed_uris_are_rejected) {
  for (const char* bad : {"redis://", "redis://a:1,b:2", "redis://h:6379/notanumber", "redlock://h:1,h:2",
                          "redis://h:6379?bogus=1", "redis://h?password_file=/nonexistent/file"}) {
    auto s = lock::open(bad);
    EXPECT_FALSE(s) << bad;
    if (!s) {
      EXPECT_EQ(s.error().code(), errc::invalid_argument) << bad;
    }
  }
}

}  // namespace
