// Shared helpers for the zk:// integration and fault tests: the server
// addresses from scripts/services.d/zookeeper.sh (a missing variable is a
// failure, never a skip), unique lock names, and raw ZooKeeper access.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>

#include "weft/context.hpp"
#include "weft/go.hpp"
#include "weft/lock/store.hpp"
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

}  // namespace weft::lock::zk::testing
