#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <vector>

#include "test_support.hpp"
#include "weft/mutex.hpp"
#include "weft/once.hpp"
#include "weft/semaphore.hpp"
#include "weft/wait_group.hpp"

namespace weft {
namespace {

using namespace weft::testing;

TEST(wait_group, wait_returns_at_once_when_the_count_is_zero) {
  run(virtual_clock(), []() -> task<> {
    wait_group wg;
    co_await wg.wait();
    wg.add(2);
    wg.done();
    wg.done();
    co_await wg.wait();
    EXPECT_EQ(wg.count(), 0);
  });
}

TEST(wait_group, wait_resumes_after_every_task_called_done) {
  run(threaded(), []() -> task<> {
    constexpr int tasks = 100;
    wait_group wg;
    std::atomic<int> finished{0};
    wg.add(tasks);
    for (int i = 0; i < tasks; ++i) {
      go([&]() -> task<> {
        co_await weft::yield();
        finished.fetch_add(1);
        wg.done();
      });
    }
    co_await wg.wait();
    EXPECT_EQ(finished.load(), tasks);
  });
}

TEST(wait_group, every_waiter_wakes) {
  run(virtual_clock(), []() -> task<> {
    wait_group wg;
    wg.add(1);
    int woken = 0;
    std::vector<join_handle<void>> waiters;
    for (int i = 0; i < 3; ++i) {
      waiters.push_back(go([&]() -> task<> {
        co_await wg.wait();
        ++woken;
      }));
    }
    co_await settle();
    EXPECT_EQ(woken, 0);
    wg.done();
    for (auto& w : waiters) co_await w;
    EXPECT_EQ(woken, 3);
  });
}

TEST(mutex, gives_mutual_exclusion_across_workers) {
  run(threaded(), []() -> task<> {
    weft::mutex m;
    int counter = 0;  // deliberately not atomic: the mutex protects it
    std::atomic<int> inside{0};
    std::atomic<bool> overlap{false};
    wait_group wg;
    constexpr int tasks = 8;
    constexpr int iterations = 500;
    wg.add(tasks);
    for (int t = 0; t < tasks; ++t) {
      go([&]() -> task<> {
        for (int i = 0; i < iterations; ++i) {
          auto guard = co_await m.lock();
          if (inside.fetch_add(1) != 0) overlap = true;
          int seen = counter;
          if (i % 16 == 0) co_await weft::yield();  // hold the lock across a suspension
          counter = seen + 1;
          inside.fetch_sub(1);
        }
        wg.done();
      });
    }
    co_await wg.wait();
    EXPECT_FALSE(overlap.load());
    EXPECT_EQ(counter, tasks * iterations);
  });
}

TEST(mutex, try_lock_fails_while_held) {
  weft::mutex m;
  EXPECT_TRUE(m.try_lock());
  EXPECT_FALSE(m.try_lock());
  m.unlock();
  EXPECT_TRUE(m.try_lock());
  weft::mutex::guard g(m, std::adopt_lock);
  EXPECT_TRUE(g.owns_lock());
  g.unlock();
  EXPECT_TRUE(m.try_lock());
  m.unlock();
}

TEST(mutex, hands_the_lock_to_waiters_in_fifo_order) {
  run(virtual_clock(), []() -> task<> {
    weft::mutex m;
    std::vector<int> order;
    auto held = co_await m.lock();
    std::vector<join_handle<void>> waiters;
    for (int i = 0; i < 4; ++i) {
      waiters.push_back(go([&, i]() -> task<> {
        auto g = co_await m.lock();
        order.push_back(i);
      }));
      co_await settle();  // park waiter i before starting waiter i+1
    }
    held.unlock();
    EXPECT_FALSE(m.try_lock()) << "unlock hands the lock over; it never becomes free";
    for (auto& w : waiters) co_await w;
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3}));
    EXPECT_TRUE(m.try_lock());
    m.unlock();
  });
}

TEST(semaphore, limits_concurrency_to_its_permits) {
  run(threaded(), []() -> task<> {
    semaphore sem(3);
    std::atomic<int> inside{0};
    std::atomic<int> most{0};
    wait_group wg;
    constexpr int tasks = 20;
    wg.add(tasks);
    for (int t = 0; t < tasks; ++t) {
      go([&]() -> task<> {
        for (int i = 0; i < 50; ++i) {
          co_await sem.acquire();
          int now = inside.fetch_add(1) + 1;
          int prev = most.load();
          while (now > prev && !most.compare_exchange_weak(prev, now)) {
          }
          co_await weft::yield();
          inside.fetch_sub(1);
          sem.release();
        }
        wg.done();
      });
    }
    co_await wg.wait();
    EXPECT_LE(most.load(), 3);
    EXPECT_GE(most.load(), 1);
    EXPECT_EQ(sem.available(), 3u);
  });
}

TEST(semaphore, try_acquire_takes_only_free_permits) {
  semaphore sem(2);
  EXPECT_TRUE(sem.try_acquire());
  EXPECT_TRUE(sem.try_acquire());
  EXPECT_FALSE(sem.try_acquire());
  sem.release(2);
  EXPECT_EQ(sem.available(), 2u);
}

TEST(semaphore, release_n_wakes_n_waiters_in_order) {
  run(virtual_clock(), []() -> task<> {
    semaphore sem(0);
    std::vector<int> order;
    std::vector<join_handle<void>> waiters;
    for (int i = 0; i < 3; ++i) {
      waiters.push_back(go([&, i]() -> task<> {
        co_await sem.acquire();
        order.push_back(i);
      }));
      co_await settle();
    }
    sem.release(2);
    co_await settle();
    // The first two waiters got the permits (they may run in either order).
    std::sort(order.begin(), order.end());
    EXPECT_EQ(order, (std::vector<int>{0, 1}));
    EXPECT_EQ(sem.available(), 0u);
    EXPECT_FALSE(sem.try_acquire()) << "the third waiter is first in line";
    sem.release(2);
    for (auto& w : waiters) co_await w;
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
    EXPECT_EQ(sem.available(), 1u);
  });
}

TEST(once, runs_the_function_exactly_once_under_concurrency) {
  run(threaded(), []() -> task<> {
    once o;
    std::atomic<int> calls{0};
    std::atomic<int> saw_done{0};
    wait_group wg;
    constexpr int tasks = 50;
    wg.add(tasks);
    for (int t = 0; t < tasks; ++t) {
      go([&]() -> task<> {
        co_await o.call([&] { calls.fetch_add(1); });
        if (calls.load() == 1) saw_done.fetch_add(1);
        wg.done();
      });
    }
    co_await wg.wait();
    EXPECT_EQ(calls.load(), 1);
    EXPECT_EQ(saw_done.load(), tasks) << "every caller returns after the call finished";
    EXPECT_TRUE(o.done());
  });
}

TEST(once, concurrent_callers_wait_for_the_first_call_to_finish) {
  run(virtual_clock(), []() -> task<> {
    once o;
    bool initialised = false;
    auto first = go([&]() -> task<> {
      co_await o.call([&]() -> task<> {
        co_await sleep_for(50ms);
        initialised = true;
      });
    });
    co_await settle();
    EXPECT_FALSE(o.done());
    co_await o.call([]() -> task<> {
      ADD_FAILURE() << "a second function must not run";
      co_return;
    });
    EXPECT_TRUE(initialised);
    co_await first;
  });
}

TEST(once, counts_as_done_when_the_function_throws) {
  run(virtual_clock(), []() -> task<> {
    once o;
    bool threw = false;
    try {
      co_await o.call([] { throw std::runtime_error("boom"); });
    } catch (const std::runtime_error&) {
      threw = true;
    }
    EXPECT_TRUE(threw);
    EXPECT_TRUE(o.done());
    int calls = 0;
    co_await o.call([&] { ++calls; });
    EXPECT_EQ(calls, 0);
  });
}

}  // namespace
}  // namespace weft
