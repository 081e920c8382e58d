// Faults on real redis-server processes: a holder killed with SIGKILL, a holder
// paused past its TTL, Redis restarted with and without persistence, Redlock
// with a minority and a majority of its masters down.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <spawn.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "redis_test_support.hpp"
#include "weft/context.hpp"
#include "weft/go.hpp"
#include "weft/lock/fence.hpp"
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

std::string holder_path() {
  return (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "weft_redis_test_holder").string();
}

// A holder child process whose stdout we read line by line.
class holder_process {
 public:
  holder_process(const std::string& uri, const std::string& name, int ttl_ms, const std::string& fence) {
    int fds[2];
    EXPECT_EQ(::pipe(fds), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    std::string path = holder_path();
    std::string ttl = std::to_string(ttl_ms);
    std::vector<char*> argv{path.data(), const_cast<char*>(uri.c_str()), const_cast<char*>(name.c_str()),
                            ttl.data(), const_cast<char*>(fence.c_str()), nullptr};
    EXPECT_EQ(::posix_spawn(&pid_, path.c_str(), &actions, nullptr, argv.data(), environ), 0) << path;
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    out_ = fds[0];
  }
  ~holder_process() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::kill(pid_, SIGCONT);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) ::close(out_);
  }
  // The next line of output, or "" after `timeout`.
  std::string line(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
        auto l = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return l;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return {};
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return {};
      char chunk[512];
      auto n = ::read(out_, chunk, sizeof chunk);
      if (n <= 0) return {};
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }
  void signal(int s) { ::kill(pid_, s); }
  int wait_exit() {
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string buffer_;
};

std::string temp_file(const std::string& base) {
  return (std::filesystem::temp_directory_path() / (base + "-" + std::to_string(::getpid()) + "-" +
                                                    std::to_string(std::rand())))
      .string();
}

std::uint64_t token_of(const std::string& line) { return std::strtoull(line.c_str() + 9, nullptr, 10); }

class redis_faults : public ::testing::Test {
 protected:
  weft::runtime runtime_{weft::runtime_options{.workers = 2}};
};

TEST_F(redis_faults, killed_holder_frees_the_lock_when_its_ttl_runs_out) {
  std::string uri = weft::test::env_or_fail("WEFT_TEST_REDIS");
  ASSERT_FALSE(uri.empty());
  auto name = unique_name("killed");
  auto fence_path = temp_file("weft-fence");
  holder_process holder(uri, name, 600, fence_path);
  auto first = holder.line(5s);
  ASSERT_EQ(first.rfind("ACQUIRED", 0), 0u) << first;
  auto store = open_or_fail(uri);
  ASSERT_TRUE(store);
  holder.signal(SIGKILL);
  holder.wait_exit();
  auto killed_at = std::chrono::steady_clock::now();
  runtime_.block_on([&]() -> task<void> {
    auto held = co_await store->acquire(mutex_request(name), context::background());
    EXPECT_TRUE(held) << (held ? "" : std::string(held.error().message()));
    if (!held) co_return;
    auto waited = std::chrono::steady_clock::now() - killed_at;
    // The dead holder's TTL (600 ms) bounds the wait, plus the waiter's timed re-try.
    EXPECT_LT(waited, 2s);
    EXPECT_GT(held->token(), token_of(first));
  }());
  std::filesystem::remove(fence_path);
}

TEST_F(redis_faults, paused_holder_sees_lost_before_it_works_again) {
  std::string uri = weft::test::env_or_fail("WEFT_TEST_REDIS");
  ASSERT_FALSE(uri.empty());
  auto name = unique_name("paused");
  auto fence_path = temp_file("weft-fence");
  holder_process holder(uri, name, 400, fence_path);
  auto first = holder.line(5s);
  ASSERT_EQ(first.rfind("ACQUIRED", 0), 0u) << first;
  std::this_thread::sleep_for(50ms);  // it is working: writing its token through the fence
  holder.signal(SIGSTOP);
  auto store = open_or_fail(uri);
  auto fence = lock::file_fence::open(fence_path);
  ASSERT_TRUE(store && fence);
  runtime_.block_on([&]() -> task<void> {
    auto held = co_await store->acquire(mutex_request(name), context::background());
    EXPECT_TRUE(held) << (held ? "" : std::string(held.error().message()));
    if (!held) co_return;
    EXPECT_GT(held->token(), token_of(first));
    EXPECT_TRUE(fence->admit(held->token()));  // the new holder works
    holder.signal(SIGCONT);
    co_await weft::sleep_for(300ms);  // the stale holder resumes while we still hold the lock
    (void)co_await held->release();
  }());
  auto verdict = holder.line(5s);
  EXPECT_EQ(verdict.rfind("LOST", 0), 0u) << "the paused holder did work after resuming: " << verdict;
  EXPECT_EQ(holder.wait_exit(), 3);
  std::filesystem::remove(fence_path);
}

TEST_F(redis_faults, a_killed_waiter_stalls_the_queue_for_at_most_its_waiter_ttl) {
  std::string uri = weft::test::env_or_fail("WEFT_TEST_REDIS");
  std::string cli = weft::test::env_or_fail("WEFT_TEST_REDIS_CLI");
  std::string port = weft::test::env_or_fail("WEFT_TEST_REDIS_PORT");
  ASSERT_FALSE(uri.empty());
  auto name = unique_name("deadwaiter");
  auto holder_store = open_or_fail(uri);
  auto next_store = open_or_fail(uri);
  ASSERT_TRUE(holder_store && next_store);
  auto fence_path = temp_file("weft-fence");
  auto queue_length = [&] {
    std::string command = cli + " -p " + port + " ZCARD 'weft:lock:mutex:{" + name + "}:q'";
    std::string out;
    if (FILE* f = ::popen(command.c_str(), "r")) {
      char buffer[64] = {0};
      if (std::fgets(buffer, sizeof buffer, f)) out = buffer;
      ::pclose(f);
    }
    return std::atoi(out.c_str());
  };
  runtime_.block_on([&]() -> task<void> {
    auto held = co_await holder_store->acquire(mutex_request(name), context::background());
    EXPECT_TRUE(held);
    if (!held) co_return;
    // A waiter in another process queues first, then dies (SIGKILL) while queued.
    holder_process doomed(uri, name, 10'000, fence_path);
    for (int i = 0; i < 500 && queue_length() < 1; ++i) co_await weft::sleep_for(10ms);
    EXPECT_EQ(queue_length(), 1);
    doomed.signal(SIGKILL);
    doomed.wait_exit();
    // A live waiter queues behind the dead one.
    std::atomic<std::int64_t> granted_at{0};
    auto next = weft::go([&]() -> task<void> {
      auto got = co_await next_store->acquire(mutex_request(name), context::background());
      EXPECT_TRUE(got) << (got ? "" : std::string(got.error().message()));
      granted_at = std::chrono::steady_clock::now().time_since_epoch().count();
    });
    for (int i = 0; i < 500 && queue_length() < 2; ++i) co_await weft::sleep_for(10ms);
    auto released_at = std::chrono::steady_clock::now().time_since_epoch().count();
    (void)co_await held->release();
    co_await std::move(next);
    auto stall = std::chrono::nanoseconds(granted_at.load() - released_at);
    // The dead waiter's queue entry is still alive at the release, so the release
    // hands it the lock, but only for min(TTL, waiter_ttl) = 1 s; the live waiter
    // learns that PX at its next heart-beat (every waiter_ttl/3) and takes the
    // lock when it runs out: the stall stays well under the 10 s lease TTL and
    // Redisson's 5 s.
    EXPECT_LT(stall, 2500ms) << "stalled " << std::chrono::duration_cast<std::chrono::milliseconds>(stall).count()
                             << " ms behind a dead waiter";
  }());
  std::filesystem::remove(fence_path);
}

std::uint64_t acquire_token(weft::runtime& rt, const std::string& uri, const std::string& name) {
  // A fresh store each time: no client-side memory of earlier tokens.
  auto store = open_or_fail(uri);
  if (!store) return 0;
  return rt.block_on([&]() -> task<std::uint64_t> {
    auto held = co_await store->acquire(mutex_request(name), context::background());
    EXPECT_TRUE(held) << (held ? "" : std::string(held.error().message()));
    if (!held) co_return 0;
    auto token = held->token();
    (void)co_await held->release();
    co_return token;
  }());
}

TEST_F(redis_faults, tokens_rise_across_a_restart_without_persistence) {
  weft::test::private_redis server(false);
  auto name = unique_name("restart");
  auto before = acquire_token(runtime_, server.uri(), name);
  ASSERT_GT(before, 0u);
  server.restart();
  EXPECT_EQ(server.cli("EXISTS 'weft:lock:mutex:{" + name + "}:t'"), "0") << "the restart kept the counter";
  auto after = acquire_token(runtime_, server.uri(), name);
  EXPECT_GT(after, before);
}

TEST_F(redis_faults, tokens_rise_across_a_restart_with_persistence) {
  weft::test::private_redis server(true);
  auto name = unique_name("persist");
  auto before = acquire_token(runtime_, server.uri(), name);
  ASSERT_GT(before, 0u);
  // Push the counter far ahead of the clock: after the restart only the
  // persisted counter, not the clock, can keep the next token above it.
  std::uint64_t ahead = before + 1'000'000'000'000ULL;
  EXPECT_EQ(server.cli("SET 'weft:lock:mutex:{" + name + "}:t' " + std::to_string(ahead)), "OK");
  server.restart();
  auto after = acquire_token(runtime_, server.uri(), name);
  EXPECT_GT(after, ahead);
}

// FCALLs the server has run so far (INFO commandstats).
long long fcalls(const weft::test::private_redis& server) {
  auto info = server.cli("INFO commandstats");
  const std::string field = "cmdstat_fcall:calls=";
  auto at = info.find(field);
  return at == std::string::npos ? 0 : std::atoll(info.c_str() + at + field.size());
}

// The fault run's lost wake-up: the server sent a push to an idle waiter's
// subscriber connection and was then killed, and both reached the socket as
// one poller event. The read that took the push used that event up, so the
// close was never read: the waiter kept its dead subscriber connection across
// the restart, never subscribed again, and every hand-off to it waited for its
// next re-announce (waiter_ttl/3). After the restart, the hand-off must come
// by push: the server runs one FCALL (the holder's release) between the
// waiter's settling in the queue and its lease, not a second one (its
// re-announce).
TEST_F(redis_faults, a_waiter_is_handed_the_lock_by_push_after_a_restart_closed_its_idle_subscriber) {
  weft::test::private_redis server(false);
  // Waiters re-announce every 2 s; leases of 30 s neither renew nor run out
  // during the test, so no other call reaches the server.
  const std::string uri = server.uri() + "?waiter_ttl=6s";
  auto name = unique_name("resubscribe");
  auto queue_length = [&] { return std::atoi(server.cli("ZCARD 'weft:lock:mutex:{" + name + "}:q'").c_str()); };
  auto subscribers = [&] {
    // "weft:lock:changes\nN": only the waiter's store has subscribed.
    auto out = server.cli("PUBSUB NUMSUB weft:lock:changes");
    auto nl = out.find('\n');
    return nl == std::string::npos ? 0 : std::atoi(out.c_str() + nl + 1);
  };
  // One worker: while it runs the blocking steps below, nothing polls, so the
  // push and the close land on the waiter's socket before the poller looks.
  weft::runtime rt(weft::runtime_options{.workers = 1});
  auto holder_store = open_or_fail(uri);
  auto waiter_store = open_or_fail(uri);
  ASSERT_TRUE(holder_store && waiter_store);
  auto acquire = [&](lock::store& store) -> task<weft::result<lock::lease>> {
    // The first call after the restart may fail on a connection the store has
    // not yet seen closed; the next one reconnects.
    weft::result<lock::lease> held = weft::fail(errc::unreachable, "not tried");
    for (int i = 0; i < 40; ++i) {
      held = co_await store.acquire(mutex_request(name, true, 30s), context::background());
      if (held) break;
      co_await weft::sleep_for(50ms);
    }
    co_return held;
  };
  rt.block_on([&]() -> task<void> {
    auto first = co_await acquire(*holder_store);
    EXPECT_TRUE(first) << (first ? "" : std::string(first.error().message()));
    if (!first) co_return;
    // The waiter queues and reads its subscriber connection.
    auto doomed = weft::go([&]() -> task<void> {
      auto got = co_await waiter_store->acquire(mutex_request(name, true, 30s), context::background());
      EXPECT_FALSE(got) << "granted by a server that was killed";
    });
    for (int i = 0; i < 500 && (queue_length() < 1 || subscribers() < 1); ++i) co_await weft::sleep_for(10ms);
    EXPECT_EQ(queue_length(), 1);
    EXPECT_EQ(subscribers(), 1);
    co_await weft::sleep_for(200ms);  // it has settled to wait for a push
    // Blocking steps on the only worker: a push (for nobody in particular),
    // the kill, the restart.
    EXPECT_EQ(server.cli("PUBLISH weft:lock:changes nobody"), "1");
    server.restart();
    co_await std::move(doomed);  // its re-announce finds the connection closed
    (void)co_await first->release();

    auto held = co_await acquire(*holder_store);
    EXPECT_TRUE(held) << (held ? "" : std::string(held.error().message()));
    if (!held) co_return;
    std::atomic<bool> granted{false};
    auto next = weft::go([&]() -> task<long long> {
      auto got = co_await acquire(*waiter_store);
      EXPECT_TRUE(got) << (got ? "" : std::string(got.error().message()));
      granted = true;
      long long calls = fcalls(server);  // before its lease renews or is released
      if (got) (void)co_await got->release();
      co_return calls;
    });
    for (int i = 0; i < 500 && queue_length() < 1; ++i) co_await weft::sleep_for(10ms);
    EXPECT_EQ(queue_length(), 1);
    co_await weft::sleep_for(300ms);  // it has (re)subscribed, re-checked and settled
    EXPECT_FALSE(granted.load());
    EXPECT_EQ(subscribers(), 1) << "the waiter did not subscribe again after the restart";
    const long long before = fcalls(server);
    (void)co_await held->release();
    const long long after = co_await std::move(next);
    EXPECT_EQ(after - before, 1) << "the waiter needed " << (after - before - 1)
                                 << " re-announce(s) to find the lock it was handed: its push was lost";
  }());
}

class redlock_faults : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 0; i < 5; ++i) servers_.push_back(std::make_unique<weft::test::private_redis>(false));
    uri_ = "redlock://";
    for (std::size_t i = 0; i < servers_.size(); ++i) uri_ += (i ? "," : "") + servers_[i]->address();
  }
  weft::runtime runtime_{weft::runtime_options{.workers = 2}};
  std::vector<std::unique_ptr<weft::test::private_redis>> servers_;
  std::string uri_;
};

TEST_F(redlock_faults, a_minority_down_keeps_granting_with_rising_tokens) {
  auto name = unique_name("minority");
  auto first = acquire_token(runtime_, uri_, name);
  ASSERT_GT(first, 0u);
  servers_[0]->stop();
  servers_[3]->stop();
  auto second = acquire_token(runtime_, uri_, name);
  EXPECT_GT(second, first);
}

TEST_F(redlock_faults, a_majority_down_fails_cleanly_without_a_grant) {
  auto name = unique_name("majority");
  ASSERT_GT(acquire_token(runtime_, uri_, name), 0u);
  servers_[0]->stop();
  servers_[1]->stop();
  servers_[2]->stop();
  auto store = open_or_fail(uri_);
  ASSERT_TRUE(store);
  runtime_.block_on([&]() -> task<void> {
    auto held = co_await store->acquire(mutex_request(name), context::background());
    EXPECT_FALSE(held) << "granted with only 2 of 5 masters up";
    if (!held) {
      EXPECT_EQ(held.error().code(), errc::unreachable);
      std::string message(held.error().message());
      EXPECT_NE(message.find("only 2 of 5"), std::string::npos) << message;
    }
  }());
  // Nothing may be left held on the survivors.
  for (int i : {3, 4})
    EXPECT_EQ(servers_[i]->cli("EXISTS 'weft:lock:mutex:{" + name + "}:x'"), "0") << "node " << i;
}

// Calls to a master that is down wait out its reconnect backoff (doubling up
// to a second). Neither the acquire round nor the token write-back may wait
// past the grant's validity: a short-TTL lock must keep being granted, and
// every lease acquire() returns must still be held on the live masters (a
// lease returned after its keys expired could carry a token lower than that
// of a client who took the lock meanwhile).
TEST_F(redlock_faults, leases_are_still_held_when_returned_while_a_minority_is_down) {
  auto name = unique_name("backoff");
  servers_[0]->stop();
  servers_[1]->stop();
  auto store = open_or_fail(uri_);
  ASSERT_TRUE(store);
  const std::string key = "EXISTS 'weft:lock:mutex:{" + name + "}:x'";
  runtime_.block_on([&]() -> task<void> {
    std::uint64_t previous = 0;
    for (int i = 0; i < 8; ++i) {
      auto [ctx, cancel] = weft::with_timeout(context::background(), std::chrono::seconds(10));
      auto held = co_await store->acquire(mutex_request(name, true, std::chrono::milliseconds(300)), ctx);
      cancel();
      EXPECT_TRUE(held) << "acquisition " << i << ": " << (held ? "" : std::string(held.error().message()));
      if (!held) co_return;
      for (int s : {2, 3, 4}) EXPECT_EQ(servers_[s]->cli(key), "1") << "acquisition " << i << ", master " << s;
      EXPECT_GT(held->token(), previous);
      previous = held->token();
      (void)co_await held->release();
    }
  }());
}

TEST_F(redlock_faults, tokens_stay_monotonic_across_different_quorums) {
  auto name = unique_name("quorums");
  // One master's counter runs far ahead of the others (and of the clock).
  std::uint64_t ahead = acquire_token(runtime_, uri_, name) + 1'000'000'000'000ULL;
  EXPECT_EQ(servers_[0]->cli("SET 'weft:lock:mutex:{" + name + "}:t' " + std::to_string(ahead)), "OK");
  auto high = acquire_token(runtime_, uri_, name);
  EXPECT_GT(high, ahead);
  // Without that master, a later quorum must still issue a higher token.
  servers_[0]->stop();
  auto later = acquire_token(runtime_, uri_, name);
  EXPECT_GT(later, high);
  // And with a different quorum again (two masters restarted empty).
  servers_[0]->start();
  servers_[1]->restart();
  servers_[2]->stop();
  auto again = acquire_token(runtime_, uri_, name);
  EXPECT_GT(again, later);
}

}  // namespace
