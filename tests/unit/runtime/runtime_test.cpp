#include "weft/runtime.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "weft/go.hpp"
#include "weft/join_handle.hpp"
#include "weft/yield.hpp"

namespace weft {
namespace {

task<int> square(int v) { co_return v * v; }

TEST(runtime, spawns_many_tasks_and_joins_them) {
  runtime rt({.workers = 2});
  const long long total = rt.block_on([]() -> task<long long> {
    std::vector<join_handle<int>> handles;
    for (int i = 0; i < 10000; ++i) handles.push_back(go(square(i)));
    long long sum = 0;
    for (auto& h : handles) sum += co_await h;
    co_return sum;
  }());
  long long expected = 0;
  for (long long i = 0; i < 10000; ++i) expected += i * i;
  EXPECT_EQ(total, expected);
}

TEST(runtime, join_handle_rethrows_the_task_exception) {
  runtime rt({.workers = 2});
  auto failing = []() -> task<int> {
    throw std::invalid_argument("bad");
    co_return 1;
  };
  EXPECT_THROW(rt.block_on([&]() -> task<int> { co_return co_await go(failing()); }()),
               std::invalid_argument);
}

TEST(runtime, go_from_a_non_runtime_thread_runs_on_the_last_block_on_runtime) {
  runtime rt({.workers = 2});
  std::atomic<int> ran{0};
  rt.block_on([&]() -> task<> {
    std::thread outside([&] {
      join_handle<> h = go([&ran]() -> task<> {
        ran.fetch_add(1);
        co_return;
      });
      (void)h;
    });
    outside.join();
    while (ran.load() == 0) co_await yield();
  }());
  EXPECT_EQ(ran.load(), 1);
}

TEST(runtime, go_keeps_the_callable_captures_alive) {
  runtime rt({.workers = 2});
  const int got = rt.block_on([]() -> task<int> {
    auto owned = std::make_unique<int>(7);
    auto h = go([p = std::move(owned)]() -> task<int> {
      co_await yield();
      co_return *p;
    });
    co_return co_await h;
  }());
  EXPECT_EQ(got, 7);
}

TEST(runtime, dropped_join_handle_lets_the_task_finish) {
  runtime rt({.workers = 2});
  std::atomic<bool> finished{false};
  rt.block_on([&]() -> task<> {
    go([&finished]() -> task<> {
      co_await yield();
      finished.store(true);
    });
    while (!finished.load()) co_await yield();
  }());
  EXPECT_TRUE(finished.load());
}

TEST(runtime, is_finished_turns_true_when_the_task_ends) {
  runtime rt({.workers = 2});
  rt.block_on([]() -> task<> {
    auto h = go(square(3));
    while (!h.is_finished()) co_await yield();
    EXPECT_EQ(co_await h, 9);
  }());
}

TEST(runtime, go_outside_any_runtime_throws_logic_error) {
  // Every runtime of the earlier tests is destroyed, so there is none to use.
  std::thread t([] { EXPECT_THROW((void)go(square(2)), std::logic_error); });
  t.join();
}

TEST(runtime, awaiting_a_join_handle_consumes_it) {
  runtime rt({.workers = 2});
  rt.block_on([]() -> task<> {
    auto h = go(square(4));
    EXPECT_TRUE(h.valid());
    EXPECT_EQ(co_await h, 16);
    EXPECT_FALSE(h.valid());
    EXPECT_FALSE(h.is_finished());
  }());
}

TEST(runtime, spawn_from_main_and_join_in_block_on) {
  runtime rt({.workers = 2});
  auto h = rt.spawn(square(5));
  EXPECT_EQ(rt.block_on([&]() -> task<int> { co_return co_await h; }()), 25);
}

TEST(runtime, yield_lets_other_tasks_run) {
  runtime rt({.workers = 1});
  std::vector<int> order;
  rt.block_on([&]() -> task<> {
    auto a = go([&]() -> task<> {
      for (int i = 0; i < 3; ++i) {
        order.push_back(1);
        co_await yield();
      }
    });
    auto b = go([&]() -> task<> {
      for (int i = 0; i < 3; ++i) {
        order.push_back(2);
        co_await yield();
      }
    });
    co_await a;
    co_await b;
  }());
  EXPECT_EQ(order, (std::vector<int>{1, 2, 1, 2, 1, 2}));
}

TEST(runtime, reports_its_worker_count) {
  runtime rt({.workers = 3});
  EXPECT_EQ(rt.workers(), 3u);
  runtime virtual_rt({.virtual_time = true});
  EXPECT_EQ(virtual_rt.workers(), 1u);
}

}  // namespace
}  // namespace weft

namespace weft {
namespace {

// A wake-up between two tasks on a one-worker runtime, built on the
// scheduler contract the way channels are: post() schedules the parked task,
// which lands in the poster's LIFO slot.
struct baton {
  std::coroutine_handle<> parked;
  bool posted = false;
  detail::scheduler* scheduler = nullptr;

  auto wait() {
    struct awaiter {
      baton& b;
      bool await_ready() { return std::exchange(b.posted, false); }
      void await_suspend(std::coroutine_handle<> h) {
        b.scheduler = detail::current_scheduler();
        b.parked = h;
      }
      void await_resume() {}
    };
    return awaiter{*this};
  }
  void post() {
    if (parked) detail::schedule(scheduler, std::exchange(parked, {}));
    else posted = true;
  }
};

TEST(runtime, a_ping_pong_pair_cannot_starve_other_tasks) {
  runtime rt({.workers = 1});
  constexpr long limit = 100'000;
  long rounds = 0;
  long rounds_when_third_ran = -1;
  rt.block_on([&]() -> task<> {
    baton to_a;
    baton to_b;
    auto a = go([&]() -> task<> {
      for (; rounds < limit; ++rounds) {
        to_b.post();
        co_await to_a.wait();
      }
    });
    auto b = go([&]() -> task<> {
      for (long i = 0; i < limit; ++i) {
        co_await to_b.wait();
        to_a.post();
      }
    });
    auto third = go([&]() -> task<> {
      rounds_when_third_ran = rounds;
      co_return;
    });
    co_await third;
    co_await a;
    co_await b;
  }());
  EXPECT_EQ(rounds, limit);
  // The LIFO slot runs a woken task at most 3 times in a row, so the queued
  // task gets its turn within a few rounds, not after the pair is done.
  EXPECT_GE(rounds_when_third_ran, 0);
  EXPECT_LT(rounds_when_third_ran, 100);
}

}  // namespace
}  // namespace weft
