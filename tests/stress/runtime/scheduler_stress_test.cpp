// Thousands of tasks spawning, joining, yielding and sleeping across workers,
// plus spawns from outside threads. Run under the tsan preset.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "weft/go.hpp"
#include "weft/runtime.hpp"
#include "weft/sleep.hpp"
#include "weft/spawn_blocking.hpp"
#include "weft/yield.hpp"

namespace weft {
namespace {

using namespace std::chrono_literals;

std::uint64_t next_random(std::uint64_t& state) {
  state ^= state << 13;
  state ^= state >> 7;
  state ^= state << 17;
  return state;
}

task<std::uint64_t> leaf(std::uint64_t v) {
  co_await yield();
  co_return v;
}

task<std::uint64_t> worker_task(int id, std::atomic<std::uint64_t>& detached_done) {
  std::uint64_t state = 0x9E3779B97F4A7C15ULL * static_cast<std::uint64_t>(id + 1);
  std::uint64_t sum = 0;
  for (int step = 0; step < 20; ++step) {
    switch (next_random(state) % 5) {
      case 0:
        co_await yield();
        ++sum;
        break;
      case 1:
        co_await sleep_for(std::chrono::microseconds(next_random(state) % 500));
        ++sum;
        break;
      case 2:
        sum += co_await go(leaf(1));
        break;
      case 3:
        go([&detached_done]() -> task<> {
          co_await yield();
          detached_done.fetch_add(1, std::memory_order_relaxed);
        });
        ++sum;
        break;
      default:
        if (id % 50 == 0) sum += co_await spawn_blocking([] { return std::uint64_t{1}; });
        else ++sum;
        break;
    }
  }
  co_return sum;
}

TEST(scheduler_stress, thousands_of_tasks_spawn_yield_sleep_and_join) {
  runtime rt({.workers = 4, .blocking_threads = 4});
  constexpr int tasks = 3000;
  std::atomic<std::uint64_t> detached_spawned{0};
  std::atomic<std::uint64_t> detached_done{0};
  const std::uint64_t total = rt.block_on([&]() -> task<std::uint64_t> {
    std::vector<join_handle<std::uint64_t>> handles;
    handles.reserve(tasks);
    for (int i = 0; i < tasks; ++i) handles.push_back(go(worker_task(i, detached_done)));
    std::uint64_t sum = 0;
    for (auto& h : handles) sum += co_await h;
    co_return sum;
  }());
  // Every step of every task adds exactly one.
  EXPECT_EQ(total, static_cast<std::uint64_t>(tasks) * 20);
  (void)detached_spawned;
  // Detached tasks finish on their own; wait for them without a timing assertion.
  rt.block_on([&]() -> task<> {
    std::uint64_t expected = 0;
    for (int id = 0; id < tasks; ++id) {
      std::uint64_t state = 0x9E3779B97F4A7C15ULL * static_cast<std::uint64_t>(id + 1);
      for (int step = 0; step < 20; ++step) {
        const auto choice = next_random(state) % 5;
        if (choice == 1) next_random(state);
        if (choice == 3) ++expected;
      }
    }
    while (detached_done.load() != expected) co_await sleep_for(1ms);
    EXPECT_EQ(detached_done.load(), expected);
  }());
}

TEST(scheduler_stress, outside_threads_spawn_concurrently) {
  runtime rt({.workers = 3});
  constexpr int threads = 4;
  constexpr int per_thread = 2000;
  std::atomic<int> ran{0};
  rt.block_on([&]() -> task<> {
    std::vector<std::thread> outside;
    for (int t = 0; t < threads; ++t)
      outside.emplace_back([&] {
        std::vector<join_handle<>> handles;
        for (int i = 0; i < per_thread; ++i)
          handles.push_back(go([&ran]() -> task<> {
            co_await yield();
            ran.fetch_add(1, std::memory_order_relaxed);
          }));
        // Handles dropped here: the tasks run on detached.
      });
    for (auto& t : outside) t.join();
    while (ran.load() != threads * per_thread) co_await sleep_for(1ms);
  }());
  EXPECT_EQ(ran.load(), threads * per_thread);
}

TEST(scheduler_stress, ping_pong_through_join_handles_across_workers) {
  runtime rt({.workers = 2});
  const std::uint64_t got = rt.block_on([]() -> task<std::uint64_t> {
    std::uint64_t sum = 0;
    for (int round = 0; round < 20000; ++round) sum += co_await go(leaf(2));
    co_return sum;
  }());
  EXPECT_EQ(got, 40000u);
}

TEST(scheduler_stress, runtimes_start_and_stop_repeatedly) {
  for (int i = 0; i < 50; ++i) {
    runtime rt({.workers = 2});
    EXPECT_EQ(rt.block_on([]() -> task<std::uint64_t> { co_return co_await go(leaf(3)); }()), 3u);
  }
}

}  // namespace
}  // namespace weft
