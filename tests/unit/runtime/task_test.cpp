#include "weft/task.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

#include "weft/runtime.hpp"

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WEFT_TEST_UNDER_TSAN 1
#endif
#endif
#ifndef WEFT_TEST_UNDER_TSAN
#define WEFT_TEST_UNDER_TSAN 0
#endif

namespace weft {
namespace {

task<int> value_of(int v) { co_return v; }

task<int> add_chain(int depth) {
  if (depth == 0) co_return 0;
  co_return 1 + co_await add_chain(depth - 1);
}

task<int> thrower() {
  throw std::runtime_error("boom");
  co_return 0;
}

// Deep chains run in constant stack thanks to symmetric transfer. GCC only
// turns the transfer into a tail call when optimising, so unoptimised and
// sanitizer builds use a depth the default stack survives either way.
// (Checked: GCC -O0 overflows an 8 MiB stack at a depth of 1,000,000.)
#if defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define WEFT_TEST_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define WEFT_TEST_SANITIZED 1
#endif
#if defined(__OPTIMIZE__) && !defined(WEFT_TEST_SANITIZED)
constexpr int deep_depth = 1'000'000;
#else
constexpr int deep_depth = 10'000;
#endif

TEST(task, block_on_returns_the_value) {
  runtime rt({.workers = 2});
  EXPECT_EQ(rt.block_on(value_of(42)), 42);
}

TEST(task, block_on_rethrows_the_exception) {
  runtime rt({.workers = 2});
  EXPECT_THROW(rt.block_on(thrower()), std::runtime_error);
}

TEST(task, deep_await_chain_does_not_overflow_the_stack) {
  runtime rt({.workers = 1});
  EXPECT_EQ(rt.block_on(add_chain(deep_depth)), deep_depth);
}

TEST(task, dropping_an_unstarted_task_does_not_run_it) {
  bool ran = false;
  auto body = [](bool* flag) -> task<> {
    *flag = true;
    co_return;
  };
  { auto t = body(&ran); }
  EXPECT_FALSE(ran);
}

}  // namespace
}  // namespace weft
