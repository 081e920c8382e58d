#include "weft/select.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "test_support.hpp"
#include "weft/context.hpp"

namespace weft {
namespace {

using namespace weft::testing;

TEST(select, picks_the_only_ready_recv_case) {
  run(virtual_clock(), []() -> task<> {
    chan<int> a(1);
    chan<int> b(1);
    EXPECT_TRUE(b.try_send(2).ok());
    auto r = co_await select(recv(a), recv(b));
    EXPECT_EQ(r.index(), 1u);
    EXPECT_EQ(r.get<1>(), std::optional<int>(2));
    EXPECT_EQ(b.size(), 0u);
  });
}

TEST(select, never_picks_a_case_that_is_not_ready) {
  run(virtual_clock(), []() -> task<> {
    chan<int> ready(1);
    chan<int> idle(1);
    chan<int> full(1);
    EXPECT_TRUE(full.try_send(0).ok());
    for (int i = 0; i < 1000; ++i) {
      EXPECT_TRUE(ready.try_send(i).ok());
      int v = -1;
      auto r = co_await select(recv(idle), send(full, v), recv(ready), after(1h));
      EXPECT_EQ(r.index(), 2u);
      EXPECT_EQ(r.get<2>(), std::optional<int>(i));
    }
    EXPECT_EQ(full.size(), 1u);
  });
}

TEST(select, default_case_fires_when_nothing_is_ready) {
  run(virtual_clock(), []() -> task<> {
    chan<int> a;
    chan<int> b(1);
    EXPECT_TRUE(b.try_send(1).ok());
    int v = 5;
    auto r = co_await select(recv(a), send(b, v), otherwise());
    EXPECT_EQ(r.index(), 2u);
    EXPECT_EQ(v, 5);
    EXPECT_EQ(b.size(), 1u);
  });
}

TEST(select, default_case_is_not_chosen_when_a_case_is_ready) {
  run(virtual_clock(), []() -> task<> {
    chan<int> a(1);
    for (int i = 0; i < 100; ++i) {
      EXPECT_TRUE(a.try_send(i).ok());
      auto r = co_await select(otherwise(), recv(a));
      EXPECT_EQ(r.index(), 1u);
    }
  });
}

TEST(select, timer_case_fires_after_its_duration) {
  run(virtual_clock(), []() -> task<> {
    chan<int> a;
    auto start = clock::now();
    auto r = co_await select(recv(a), after(50ms));
    EXPECT_EQ(r.index(), 1u);
    EXPECT_GE(clock::now() - start, 50ms);
    EXPECT_LT(clock::now() - start, 51ms) << "virtual time jumps straight to the timer";
  });
}

TEST(select, timer_case_at_a_past_deadline_is_ready_at_once) {
  run(virtual_clock(), []() -> task<> {
    chan<int> a;
    auto r = co_await select(recv(a), at(clock::now() - 1s));
    EXPECT_EQ(r.index(), 1u);
    auto r2 = co_await select(after(0ms), recv(a));
    EXPECT_EQ(r2.index(), 0u);
  });
}

TEST(select, losing_timer_case_is_removed) {
  run(virtual_clock(), []() -> task<> {
    chan<int> a;
    auto sender = go([&]() -> task<> {
      co_await sleep_for(10ms);
      EXPECT_TRUE(co_await a.send(1));
    });
    auto start = clock::now();
    auto r = co_await select(recv(a), after(1h));
    EXPECT_EQ(r.index(), 0u);
    co_await sender;
    // If the 1 h timer were still armed, the next sleep would not be the
    // next event of the virtual clock; it is.
    co_await sleep_for(5ms);
    EXPECT_LT(clock::now() - start, 1min);
  });
}

TEST(select, context_done_case_fires_on_cancel) {
  run(virtual_clock(), []() -> task<> {
    auto [ctx, cancel] = with_cancel(context::background());
    chan<int> a;
    auto canceller = go([&, cancel = cancel]() -> task<> {
      co_await sleep_for(5ms);
      cancel();
    });
    auto r = co_await select(recv(a), done(ctx));
    EXPECT_EQ(r.index(), 1u);
    EXPECT_EQ(r.get<1>(), errc::canceled);
    co_await canceller;
  });
}

TEST(select, context_done_case_is_ready_when_already_cancelled) {
  run(virtual_clock(), []() -> task<> {
    auto [ctx, cancel] = with_cancel(context::background());
    cancel();
    chan<int> a;
    auto r = co_await select(recv(a), done(ctx), otherwise());
    EXPECT_EQ(r.index(), 1u);
  });
}

TEST(select, context_deadline_fires_done_case) {
  run(virtual_clock(), []() -> task<> {
    auto [ctx, cancel] = with_timeout(context::background(), 30ms);
    chan<int> a;
    auto r = co_await select(recv(a), done(ctx));
    EXPECT_EQ(r.index(), 1u);
    EXPECT_EQ(r.get<1>(), errc::deadline_exceeded);
    cancel();
  });
}

TEST(select, done_case_of_background_never_fires) {
  run(virtual_clock(), []() -> task<> {
    auto r = co_await select(done(context::background()), after(10ms));
    EXPECT_EQ(r.index(), 1u);
  });
}

TEST(select, chooses_roughly_uniformly_among_ready_cases) {
  run(virtual_clock(), []() -> task<> {
    chan<int> a(1);
    chan<int> b(1);
    int chosen[2] = {0, 0};
    constexpr int rounds = 10000;
    for (int i = 0; i < rounds; ++i) {
      if (a.size() == 0) {
        EXPECT_TRUE(a.try_send(i).ok());
      }
      if (b.size() == 0) {
        EXPECT_TRUE(b.try_send(i).ok());
      }
      auto r = co_await select(recv(a), recv(b));
      ++chosen[r.index()];
    }
    EXPECT_GT(chosen[0], rounds * 3 / 10);
    EXPECT_LT(chosen[0], rounds * 7 / 10);
    EXPECT_GT(chosen[1], rounds * 3 / 10);
    EXPECT_LT(chosen[1], rounds * 7 / 10);
  });
}

TEST(select, losing_recv_case_consumes_nothing) {
  run(virtual_clock(), []() -> task<> {
    chan<int> a(1);
    chan<int> b(1);
    for (int i = 0; i < 200; ++i) {
      EXPECT_TRUE(a.try_send(1).ok());
      EXPECT_TRUE(b.try_send(2).ok());
      auto r = co_await select(recv(a), recv(b));
      EXPECT_EQ(a.size() + b.size(), 1u) << "exactly one value was taken";
      if (r.index() == 0) {
        EXPECT_EQ(*b.try_recv(), 2);
      } else {
        EXPECT_EQ(*a.try_recv(), 1);
      }
    }
  });
}

TEST(select, losing_send_case_keeps_its_value) {
  run(virtual_clock(), []() -> task<> {
    chan<std::unique_ptr<int>> out(1);
    chan<int> in(1);
    for (int i = 0; i < 200; ++i) {
      EXPECT_TRUE(in.try_send(i).ok());
      auto value = std::make_unique<int>(i);
      auto r = co_await select(send(out, value), recv(in));
      if (r.index() == 0) {
        EXPECT_EQ(value, nullptr) << "the winning send moved the value";
        EXPECT_EQ(**out.try_recv(), i);
        EXPECT_EQ(*in.try_recv(), i);
      } else {
        WEFT_CO_ASSERT(value != nullptr);  // a losing send must not touch the value
        EXPECT_EQ(*value, i);
        EXPECT_EQ(out.size(), 0u);
      }
    }
  });
}

TEST(select, parked_select_wakes_on_send_and_leaves_no_waiter_behind) {
  run(virtual_clock(), []() -> task<> {
    chan<int> a;
    chan<int> b;
    auto selector = go([&]() -> task<int> {
      auto r = co_await select(recv(a), recv(b));
      co_return static_cast<int>(r.index()) * 100 + r.get<1>().value_or(-1);
    });
    co_await settle();
    EXPECT_TRUE(co_await b.send(7));
    EXPECT_EQ(co_await selector, 107);
    // The losing receive on `a` is gone: nobody takes this value.
    EXPECT_EQ(a.try_send(1).code, errc::full);
  });
}

TEST(select, parked_send_case_hands_its_value_to_a_receiver) {
  run(virtual_clock(), []() -> task<> {
    chan<std::string> out;
    chan<int> other;
    auto selector = go([&]() -> task<std::size_t> {
      std::string v = "payload";
      auto r = co_await select(recv(other), send(out, v), after(1h));
      EXPECT_TRUE(r.index() != 1 || v.empty());
      co_return r.index();
    });
    co_await settle();
    EXPECT_EQ(co_await out.recv(), std::optional<std::string>("payload"));
    EXPECT_EQ(co_await selector, 1u);
    EXPECT_EQ(other.try_send(1).code, errc::full);
  });
}

TEST(select, recv_case_on_a_closed_channel_returns_nullopt) {
  run(virtual_clock(), []() -> task<> {
    chan<int> a;
    a.close();
    chan<int> b;
    auto r = co_await select(recv(b), recv(a));
    EXPECT_EQ(r.index(), 1u);
    EXPECT_EQ(r.get<1>(), std::nullopt);
  });
}

TEST(select, send_case_on_a_closed_channel_reports_closed_and_keeps_the_value) {
  run(virtual_clock(), []() -> task<> {
    chan<std::string> a;
    a.close();
    std::string v = "kept";
    auto r = co_await select(send(a, v));
    EXPECT_EQ(r.index(), 0u);
    WEFT_CO_ASSERT(!r.get<0>());
    EXPECT_EQ(r.get<0>().error().code(), errc::closed);
    EXPECT_EQ(v, "kept");
  });
}

TEST(select, close_wakes_a_parked_select) {
  run(virtual_clock(), []() -> task<> {
    chan<int> a;
    chan<int> b;
    auto selector = go([&]() -> task<std::size_t> {
      auto r = co_await select(recv(a), recv(b));
      co_return r.index();
    });
    co_await settle();
    b.close();
    EXPECT_EQ(co_await selector, 1u);
  });
}

TEST(select, same_channel_in_two_cases_is_locked_once) {
  run(virtual_clock(), []() -> task<> {
    chan<int> a(1);
    EXPECT_TRUE(a.try_send(3).ok());
    auto r = co_await select(recv(a), recv(a));
    EXPECT_EQ(r.index() == 0 ? r.get<0>() : r.get<1>(), std::optional<int>(3));
    int v = 4;
    auto r2 = co_await select(recv(a), send(a, v));
    EXPECT_EQ(r2.index(), 1u) << "an empty buffered channel has room but no value";
  });
}

TEST(select, two_selects_pair_up_across_workers_without_losing_values) {
  run(threaded(), []() -> task<> {
    chan<int> a;
    chan<int> b;
    constexpr int rounds = 2000;
    std::atomic<long> received_sum{0};
    auto left = go([&]() -> task<> {
      for (int i = 0; i < rounds; ++i) {
        int v = i;
        auto r = co_await select(send(a, v), recv(b));
        if (r.index() == 1) received_sum += *r.get<1>();
      }
    });
    long sent_by_right = 0;
    long sent_by_left_received = 0;
    for (int i = 0; i < rounds; ++i) {
      int v = 1;
      auto r = co_await select(recv(a), send(b, v));
      if (r.index() == 0) sent_by_left_received += 1;
      else sent_by_right += 1;
    }
    co_await left;
    // Each round pairs one left op with one right op: a left send with a
    // right recv, or a right send (of 1) with a left recv.
    EXPECT_EQ(received_sum.load(), sent_by_right);
    EXPECT_EQ(sent_by_right + sent_by_left_received, rounds);
  });
}

}  // namespace
}  // namespace weft
