#include "weft/spawn_blocking.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "weft/go.hpp"
#include "weft/runtime.hpp"
#include "weft/sleep.hpp"

namespace weft {
namespace {

using namespace std::chrono_literals;

TEST(spawn_blocking, returns_the_call_result) {
  runtime rt({.workers = 2});
  const auto main_thread = std::this_thread::get_id();
  const std::string got = rt.block_on([&]() -> task<std::string> {
    auto worker = std::this_thread::get_id();
    auto pool_thread = co_await spawn_blocking([] { return std::this_thread::get_id(); });
    EXPECT_NE(pool_thread, worker);
    EXPECT_NE(pool_thread, main_thread);
    co_return co_await spawn_blocking([] { return std::string("done"); });
  }());
  EXPECT_EQ(got, "done");
}

TEST(spawn_blocking, rethrows_the_call_exception) {
  runtime rt({.workers = 2});
  EXPECT_THROW(rt.block_on([]() -> task<> {
                 co_await spawn_blocking([] { throw std::runtime_error("disk on fire"); });
               }()),
               std::runtime_error);
}

TEST(spawn_blocking, blocking_calls_do_not_stall_the_workers) {
  runtime rt({.workers = 1, .blocking_threads = 4});
  std::atomic<int> ticks{0};
  const bool saw_ticks_while_blocked = rt.block_on([&]() -> task<bool> {
    // The blocking call waits until the single worker has run the ticking
    // task to the end: that can only happen if the worker is not blocked.
    auto blocked = go([&]() -> task<bool> {
      co_return co_await spawn_blocking([&] {
        for (int i = 0; i < 60'000 && ticks.load() < 5; ++i)
          std::this_thread::sleep_for(1ms);
        return ticks.load() == 5;
      });
    });
    for (int i = 0; i < 5; ++i) {
      co_await sleep_for(1ms);
      ticks.fetch_add(1);
    }
    co_return co_await blocked;
  }());
  EXPECT_TRUE(saw_ticks_while_blocked);
  EXPECT_EQ(ticks.load(), 5);
}

TEST(spawn_blocking, pool_is_bounded_and_queues_extra_calls) {
  runtime rt({.workers = 2, .blocking_threads = 2});
  std::atomic<int> running{0};
  std::atomic<int> peak{0};
  rt.block_on([&]() -> task<> {
    std::vector<join_handle<>> handles;
    for (int i = 0; i < 8; ++i)
      handles.push_back(go([&]() -> task<> {
        co_await spawn_blocking([&] {
          const int now = running.fetch_add(1) + 1;
          int seen = peak.load();
          while (now > seen && !peak.compare_exchange_weak(seen, now)) {
          }
          std::this_thread::sleep_for(10ms);
          running.fetch_sub(1);
        });
      }));
    for (auto& h : handles) co_await h;
  }());
  EXPECT_LE(peak.load(), 2);
  EXPECT_GE(peak.load(), 1);
}

TEST(spawn_blocking, virtual_time_waits_for_blocking_calls) {
  runtime rt({.virtual_time = true});
  const int got = rt.block_on([]() -> task<int> {
    auto h = go([]() -> task<int> {
      co_await sleep_for(10s);
      co_return 1;
    });
    const int v = co_await spawn_blocking([] {
      std::this_thread::sleep_for(20ms);
      return 41;
    });
    EXPECT_FALSE(h.is_finished());  // virtual time stood still during the call
    co_return v + co_await h;
  }());
  EXPECT_EQ(got, 42);
}

}  // namespace
}  // namespace weft
