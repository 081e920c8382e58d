#include "weft/context.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <utility>
#include <vector>

#include "test_support.hpp"

namespace weft {
namespace {

using namespace weft::testing;

TEST(context, background_is_never_done_and_has_no_deadline) {
  context bg = context::background();
  EXPECT_EQ(bg.err(), errc::ok);
  EXPECT_FALSE(bg.is_done());
  EXPECT_FALSE(bg.deadline().has_value());
  EXPECT_TRUE(bg.check());
}

TEST(context, cancel_sets_err_to_canceled) {
  auto [ctx, cancel] = with_cancel(context::background());
  EXPECT_EQ(ctx.err(), errc::ok);
  cancel();
  EXPECT_EQ(ctx.err(), errc::canceled);
  auto status = ctx.check();
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().code(), errc::canceled);
  EXPECT_FALSE(status.error().message().empty());
}

TEST(context, first_cancel_reason_sticks) {
  auto [ctx, cancel] = with_cancel(context::background());
  cancel(errc::lease_lost);
  cancel(errc::canceled);
  EXPECT_EQ(ctx.err(), errc::lease_lost);
}

TEST(context, cancel_wakes_tasks_waiting_on_done) {
  run(threaded(), []() -> task<> {
    auto [ctx, cancel] = with_cancel(context::background());
    std::atomic<int> woken{0};
    std::vector<join_handle<void>> waiters;
    for (int i = 0; i < 4; ++i) {
      waiters.push_back(go([&, c = ctx]() -> task<> {
        EXPECT_EQ(co_await c.done(), errc::canceled);
        ++woken;
      }));
    }
    co_await sleep_for(10ms);
    EXPECT_EQ(woken.load(), 0);
    cancel();
    for (auto& w : waiters) co_await w;
    EXPECT_EQ(woken.load(), 4);
  });
}

TEST(context, done_of_a_cancelled_context_completes_at_once) {
  run(virtual_clock(), []() -> task<> {
    auto [ctx, cancel] = with_cancel(context::background());
    cancel();
    EXPECT_EQ(co_await ctx.done(), errc::canceled);
  });
}

TEST(context, parent_cancel_propagates_to_children_and_grandchildren) {
  auto [parent, cancel_parent] = with_cancel(context::background());
  auto [child, cancel_child] = with_cancel(parent);
  auto [grandchild, cancel_grandchild] = with_cancel(child);
  cancel_parent(errc::lease_lost);
  EXPECT_EQ(child.err(), errc::lease_lost);
  EXPECT_EQ(grandchild.err(), errc::lease_lost);
}

TEST(context, child_cancel_does_not_affect_parent_or_siblings) {
  auto [parent, cancel_parent] = with_cancel(context::background());
  auto [child, cancel_child] = with_cancel(parent);
  auto [sibling, cancel_sibling] = with_cancel(parent);
  cancel_child();
  EXPECT_EQ(child.err(), errc::canceled);
  EXPECT_EQ(parent.err(), errc::ok);
  EXPECT_EQ(sibling.err(), errc::ok);
  cancel_parent();
  EXPECT_EQ(sibling.err(), errc::canceled);
}

TEST(context, child_of_a_cancelled_parent_starts_cancelled) {
  auto [parent, cancel_parent] = with_cancel(context::background());
  cancel_parent();
  auto [child, cancel_child] = with_cancel(parent);
  EXPECT_EQ(child.err(), errc::canceled);
}

TEST(context, destroyed_and_cancelled_children_detach_from_parent) {
  auto [parent, cancel_parent] = with_cancel(context::background());
  for (int i = 0; i < 1000; ++i) {
    auto [child, cancel_child] = with_cancel(parent);
    if (i % 2 == 0) cancel_child();
  }  // every child is gone here; the parent must not touch them on cancel
  auto [kept, cancel_kept] = with_cancel(parent);
  cancel_parent();
  EXPECT_EQ(kept.err(), errc::canceled);
}

TEST(context, deadline_cancels_with_deadline_exceeded) {
  run(virtual_clock(), []() -> task<> {
    auto start = clock::now();
    auto [ctx, cancel] = with_deadline(context::background(), start + 100ms);
    EXPECT_EQ(ctx.deadline(), std::optional<clock::time_point>(start + 100ms));
    EXPECT_EQ(ctx.err(), errc::ok);
    EXPECT_EQ(co_await ctx.done(), errc::deadline_exceeded);
    EXPECT_GE(clock::now() - start, 100ms);
    EXPECT_EQ(ctx.err(), errc::deadline_exceeded);
  });
}

TEST(context, timeout_fires_without_anyone_waiting_on_done) {
  run(virtual_clock(), []() -> task<> {
    auto [ctx, cancel] = with_timeout(context::background(), 1min);
    co_await sleep_for(2min);
    EXPECT_EQ(ctx.err(), errc::deadline_exceeded);
  });
}

TEST(context, deadline_already_past_cancels_at_once) {
  auto [ctx, cancel] = with_deadline(context::background(), clock::now() - 1s);
  EXPECT_EQ(ctx.err(), errc::deadline_exceeded);
}

TEST(context, child_deadline_is_capped_by_the_parent_deadline) {
  run(virtual_clock(), []() -> task<> {
    auto start = clock::now();
    auto [parent, cancel_parent] = with_timeout(context::background(), 10ms);
    auto [child, cancel_child] = with_timeout(parent, 1h);
    EXPECT_EQ(child.deadline(), parent.deadline());
    auto [plain_child, cancel_plain] = with_cancel(parent);
    EXPECT_EQ(plain_child.deadline(), parent.deadline());
    EXPECT_EQ(co_await child.done(), errc::deadline_exceeded) << "the parent's reason propagates";
    EXPECT_LT(clock::now() - start, 1h);
    EXPECT_EQ(plain_child.err(), errc::deadline_exceeded);
  });
}

TEST(context, cancelling_a_timeout_context_early_reports_canceled) {
  run(virtual_clock(), []() -> task<> {
    auto [ctx, cancel] = with_timeout(context::background(), 1h);
    cancel();
    EXPECT_EQ(ctx.err(), errc::canceled);
    co_await sleep_for(2h);
    EXPECT_EQ(ctx.err(), errc::canceled);
  });
}

TEST(context, callback_runs_once_on_cancel) {
  auto [ctx, cancel] = with_cancel(context::background());
  int calls = 0;
  context_callback callback(ctx, [&] { ++calls; });
  EXPECT_EQ(calls, 0);
  cancel();
  cancel();
  EXPECT_EQ(calls, 1);
}

TEST(context, callback_runs_at_once_when_already_cancelled) {
  auto [ctx, cancel] = with_cancel(context::background());
  cancel();
  int calls = 0;
  context_callback callback(ctx, [&] { ++calls; });
  EXPECT_EQ(calls, 1);
}

TEST(context, destroyed_callback_never_runs) {
  auto [ctx, cancel] = with_cancel(context::background());
  int calls = 0;
  { context_callback callback(ctx, [&] { ++calls; }); }
  cancel();
  EXPECT_EQ(calls, 0);
}

TEST(context, callback_may_cancel_and_drop_a_child_of_the_cancelled_context) {
  auto [parent, cancel_parent] = with_cancel(context::background());
  std::unique_ptr<std::pair<context, cancel_func>> child;
  int calls = 0;
  // Registered before the children, so it runs while they are still linked.
  context_callback callback(parent, [&] {
    ++calls;
    child->second();  // cancels a child of the context being cancelled
    child.reset();    // and drops it: it detaches from the parent
  });
  child = std::make_unique<std::pair<context, cancel_func>>(with_cancel(parent));
  auto [sibling, cancel_sibling] = with_cancel(parent);
  cancel_parent();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(child, nullptr);
  EXPECT_EQ(sibling.err(), errc::canceled);
}

TEST(context, callback_on_background_never_runs) {
  int calls = 0;
  context_callback callback(context::background(), [&] { ++calls; });
  EXPECT_EQ(calls, 0);
}

TEST(context, callback_runs_when_the_deadline_passes) {
  run(virtual_clock(), []() -> task<> {
    auto [ctx, cancel] = with_timeout(context::background(), 20ms);
    int calls = 0;
    context_callback callback(ctx, [&] { ++calls; });
    co_await sleep_for(30ms);
    EXPECT_EQ(calls, 1);
  });
}

TEST(context, concurrent_cancel_and_callback_teardown_are_safe) {
  run(threaded(), []() -> task<> {
    for (int round = 0; round < 200; ++round) {
      auto [ctx, cancel] = with_cancel(context::background());
      std::atomic<int> calls{0};
      auto canceller = go([cancel = cancel]() -> task<> {
        cancel();
        co_return;
      });
      {
        context_callback callback(ctx, [&] { calls.fetch_add(1); });
        co_await weft::yield();
      }
      co_await canceller;
      EXPECT_LE(calls.load(), 1);
      EXPECT_EQ(ctx.err(), errc::canceled);
    }
  });
}

}  // namespace
}  // namespace weft
