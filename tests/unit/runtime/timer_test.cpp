#include <gtest/gtest.h>

#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "weft/clock.hpp"
#include "weft/detail/scheduler.hpp"
#include "weft/go.hpp"
#include "weft/runtime.hpp"
#include "weft/sleep.hpp"

namespace weft {
namespace {

using namespace std::chrono_literals;

TEST(timers, sleeps_wake_in_deadline_order) {
  runtime rt({.workers = 1});  // one worker: wake order is run order
  std::mutex mutex;
  std::vector<int> order;
  rt.block_on([&]() -> task<> {
    std::vector<join_handle<>> handles;
    for (int i : {3, 1, 2}) {
      handles.push_back(go([&, i]() -> task<> {
        co_await sleep_for(i * 20ms);
        std::lock_guard lock(mutex);
        order.push_back(i);
      }));
    }
    for (auto& h : handles) co_await h;
  }());
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(timers, sleep_for_waits_at_least_the_duration) {
  runtime rt({.workers = 2});
  const auto start = std::chrono::steady_clock::now();
  rt.block_on([]() -> task<> { co_await sleep_for(30ms); }());
  EXPECT_GE(std::chrono::steady_clock::now() - start, 30ms);
}

TEST(timers, virtual_time_completes_a_minute_sleep_at_once) {
  runtime rt({.virtual_time = true});
  const auto real_start = std::chrono::steady_clock::now();
  const auto virtual_elapsed = rt.block_on([]() -> task<clock::duration> {
    const auto start = clock::now();
    co_await sleep_for(60s);
    co_return clock::now() - start;
  }());
  EXPECT_GE(virtual_elapsed, 60s);
  EXPECT_LT(std::chrono::steady_clock::now() - real_start, 30s);  // nowhere near a minute
}

std::vector<int> virtual_run() {
  runtime rt({.virtual_time = true});
  std::vector<int> order;
  rt.block_on([&]() -> task<> {
    std::vector<join_handle<>> handles;
    for (int i = 0; i < 20; ++i) {
      handles.push_back(go([&order, i]() -> task<> {
        co_await sleep_for(std::chrono::seconds((i * 7) % 5));
        order.push_back(i);
        co_await sleep_for(std::chrono::seconds(i % 3));
        order.push_back(100 + i);
      }));
    }
    for (auto& h : handles) co_await h;
  }());
  return order;
}

TEST(timers, virtual_time_ordering_is_deterministic) {
  const auto first = virtual_run();
  EXPECT_EQ(first.size(), 40u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(virtual_run(), first);
  // Tasks 3, 8, 13 and 18 all sleep exactly 1 s, armed in that order: equal
  // deadlines fire in the order they were armed.
  std::vector<int> one_second;
  for (int v : first)
    if (v == 3 || v == 8 || v == 13 || v == 18) one_second.push_back(v);
  EXPECT_EQ(one_second, (std::vector<int>{3, 8, 13, 18}));
}

struct counting_timer : detail::timer_entry {
  std::atomic<int>* fired = nullptr;
};

TEST(timers, cancelled_timer_never_fires) {
  runtime rt({.workers = 2});
  std::atomic<int> fired{0};
  rt.block_on([&]() -> task<> {
    counting_timer timer;
    timer.fired = &fired;
    timer.deadline = clock::now() + 20ms;
    timer.on_fire = [](detail::timer_entry* e) noexcept {
      static_cast<counting_timer*>(e)->fired->fetch_add(1);
    };
    detail::add_timer(detail::current_scheduler(), &timer);
    EXPECT_TRUE(detail::cancel_timer(detail::current_scheduler(), &timer));
    co_await sleep_for(50ms);
    EXPECT_FALSE(detail::cancel_timer(detail::current_scheduler(), &timer));
  }());
  EXPECT_EQ(fired.load(), 0);
}

TEST(timers, cancel_after_firing_returns_false) {
  runtime rt({.workers = 2});
  std::atomic<int> fired{0};
  rt.block_on([&]() -> task<> {
    counting_timer timer;
    timer.fired = &fired;
    timer.deadline = clock::now() + 5ms;
    timer.on_fire = [](detail::timer_entry* e) noexcept {
      static_cast<counting_timer*>(e)->fired->fetch_add(1);
    };
    detail::add_timer(detail::current_scheduler(), &timer);
    co_await sleep_for(40ms);
    EXPECT_FALSE(detail::cancel_timer(detail::current_scheduler(), &timer));
  }());
  EXPECT_EQ(fired.load(), 1);
}

// A lease's lost() callback may release the lease, which cancels and arms
// timers: a timer callback must be able to do both without deadlocking.
struct rearming_timer : detail::timer_entry {
  detail::timer_entry* victim = nullptr;
  counting_timer* follow_up = nullptr;
  std::atomic<int>* cancelled_victim = nullptr;
  std::atomic<int>* cancelled_self = nullptr;
};

TEST(timers, timer_callback_may_cancel_and_arm_timers) {
  runtime rt({.workers = 1});
  std::atomic<int> victim_fired{0};
  std::atomic<int> follow_up_fired{0};
  std::atomic<int> cancelled_victim{0};
  std::atomic<int> cancelled_self{0};
  rt.block_on([&]() -> task<> {
    counting_timer victim;
    victim.fired = &victim_fired;
    victim.deadline = clock::now() + 200ms;
    victim.on_fire = [](detail::timer_entry* e) noexcept {
      static_cast<counting_timer*>(e)->fired->fetch_add(1);
    };
    counting_timer follow_up;
    follow_up.fired = &follow_up_fired;
    follow_up.on_fire = victim.on_fire;
    rearming_timer first;
    first.victim = &victim;
    first.follow_up = &follow_up;
    first.cancelled_victim = &cancelled_victim;
    first.cancelled_self = &cancelled_self;
    first.deadline = clock::now() + 5ms;
    first.on_fire = [](detail::timer_entry* e) noexcept {
      auto* self = static_cast<rearming_timer*>(e);
      detail::scheduler* s = detail::current_scheduler();
      if (detail::cancel_timer(s, self->victim)) self->cancelled_victim->fetch_add(1);
      if (!detail::cancel_timer(s, self)) self->cancelled_self->fetch_add(1);  // already fired
      self->follow_up->deadline = clock::now() + 5ms;
      detail::add_timer(s, self->follow_up);
    };
    detail::scheduler* s = detail::current_scheduler();
    detail::add_timer(s, &victim);
    detail::add_timer(s, &first);
    co_await sleep_for(100ms);
    EXPECT_FALSE(detail::cancel_timer(s, &follow_up));  // it fired
    EXPECT_FALSE(detail::cancel_timer(s, &victim));     // the callback removed it
  }());
  EXPECT_EQ(cancelled_victim.load(), 1);
  EXPECT_EQ(cancelled_self.load(), 1);
  EXPECT_EQ(victim_fired.load(), 0);
  EXPECT_EQ(follow_up_fired.load(), 1);
}

struct slow_timer : detail::timer_entry {
  std::atomic<int> state{0};  // 1: callback started, 2: callback ended
};

TEST(timers, cancel_from_another_thread_waits_for_a_running_callback) {
  runtime rt({.workers = 2});
  rt.block_on([&]() -> task<> {
    auto timer = std::make_unique<slow_timer>();
    timer->deadline = clock::now() + 1ms;
    timer->on_fire = [](detail::timer_entry* e) noexcept {
      auto* self = static_cast<slow_timer*>(e);
      self->state.store(1);
      std::this_thread::sleep_for(30ms);
      self->state.store(2);
    };
    detail::scheduler* s = detail::current_scheduler();
    detail::add_timer(s, timer.get());
    std::thread other([&] {
      while (timer->state.load() == 0) std::this_thread::yield();
      EXPECT_FALSE(detail::cancel_timer(s, timer.get()));
      EXPECT_EQ(timer->state.load(), 2);  // returned only after the callback ended
    });
    while (timer->state.load() != 2) co_await sleep_for(1ms);
    other.join();
  }());
}

TEST(timers, many_timers_all_fire) {
  runtime rt({.workers = 2});
  std::atomic<int> woke{0};
  rt.block_on([&]() -> task<> {
    std::vector<join_handle<>> handles;
    for (int i = 0; i < 2000; ++i)
      handles.push_back(go([&woke, i]() -> task<> {
        co_await sleep_for(std::chrono::microseconds(i % 97 * 50));
        woke.fetch_add(1);
      }));
    for (auto& h : handles) co_await h;
  }());
  EXPECT_EQ(woke.load(), 2000);
}

double process_cpu_seconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

TEST(timers, idle_runtime_parks_its_workers) {
  runtime rt({.workers = 2});
  // Let the workers settle into their parked state.
  std::this_thread::sleep_for(50ms);
  const double before = process_cpu_seconds();
  std::this_thread::sleep_for(300ms);
  const double used = process_cpu_seconds() - before;
  // Spinning workers would burn ~0.6 s of CPU here; parked ones next to none.
  EXPECT_LT(used, 0.06);
}

TEST(timers, runtime_with_a_pending_timer_parks_too) {
  runtime rt({.workers = 2});
  const double before = process_cpu_seconds();
  rt.block_on([]() -> task<> { co_await sleep_for(300ms); }());
  EXPECT_LT(process_cpu_seconds() - before, 0.06);
}

}  // namespace
}  // namespace weft
