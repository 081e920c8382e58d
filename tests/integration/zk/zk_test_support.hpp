// Shared helpers for the zk:// integration and fault tests: the server
// addresses from scripts/services.d/zookeeper.sh (a missing variable is a
// failure, never a skip), unique lock names, and the steps the tests share
// around a lease: a bounded acquire, waiting for lost(), and its checks.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>

#include "weft/context.hpp"
#include "weft/go.hpp"
#include "weft/lock/lease.hpp"
#include "weft/lock/store.hpp"
#include "weft/result.hpp"
#include "weft/runtime.hpp"
#include "weft/sleep.hpp"
#include "weft/task.hpp"

namespace weft::lock::zk::testing {

// $name, or a test failure naming the script that sets it.
inline std::string required_env(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') {
    ADD_FAILURE() << name
                  << " is not set: start the test servers with scripts/services.sh start DIR and "
                     "source DIR/env (scripts/test.sh does both)";
    return {};
  }
  return value;
}

// The standalone server's URI with extra query parameters.
inline std::string standalone_uri(const std::string& query = "session_timeout=3s") {
  std::string base = required_env("WEFT_TEST_ZK");
  if (base.empty()) return base;
  return base + (base.find('?') == std::string::npos ? "?" : "&") + query;
}

inline std::string ensemble_uri(const std::string& query = "session_timeout=4s") {
  std::string base = required_env("WEFT_TEST_ZK_ENSEMBLE");
  if (base.empty()) return base;
  return base + (base.find('?') == std::string::npos ? "?" : "&") + query;
}

// A lock name no other test run uses.
inline std::string unique_name(const std::string& stem) {
  static std::atomic<int> counter{0};
  return stem + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 1000000007) + "-" +
         std::to_string(counter.fetch_add(1));
}

inline std::shared_ptr<store> open_or_fail(const std::string& uri) {
  auto opened = open(uri);
  if (!opened) {
    ADD_FAILURE() << "open(" << uri << "): " << opened.error().message();
    return nullptr;
  }
  return *opened;
}

// Acquires through `acquire` (called with a context) within `bound`.
template <typename Acquire>
task<result<lease>> acquire_within(clock::duration bound, Acquire acquire) {
  auto [bounded, cancel] = with_timeout(context{}, bound);
  auto got = co_await acquire(bounded);
  cancel();
  co_return got;
}

// Waits (at most `bound`) for the lease's lost() context to end; whether it did.
inline task<bool> lost_within(const lease& held, clock::duration bound) {
  const context lost = held.lost();
  auto [bounded, cancel] = with_timeout(context{}, bound);
  for (; !lost.is_done() && !bounded.is_done();) co_await sleep_for(std::chrono::milliseconds(5));
  cancel();
  co_return lost.is_done();
}

// The lease was lost because another client deleted its node.
inline void expect_deleted_reason(const lease& held) {
  const std::string reason = held.lost_reason();
  EXPECT_NE(reason.find("was deleted while held: another ZooKeeper client deleted it"),
            std::string::npos)
      << reason;
}

// Expects `next` granted with a token newer than the lost lease's; whether it
// was granted (the caller then releases it).
inline bool granted_with_newer_token(const result<lease>& next, const lease& lost) {
  EXPECT_TRUE(next) << (next ? "" : std::string(next.error().message()));
  if (!next) return false;
  EXPECT_GT(next->token(), lost.token());
  return true;
}

}  // namespace weft::lock::zk::testing
