// Many processes contend on one lock in the redis:// and redlock:// stores, for
// every recipe: a shared counter file and a fence confirm that no two were
// inside at once and that tokens strictly rose. Uses the lock tests' helper
// program (tests/unit/lock/lock_test_helper.cpp) built with the Redis store.
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <tuple>
#include <vector>

#include "child_process.hpp"
#include "lock_test_helper_checks.hpp"
#include "redis_test_support.hpp"

namespace {

// Starts every command at once and waits for all; the number that failed.
int run_helpers(const std::vector<std::vector<std::string>>& commands) {
  std::vector<pid_t> pids;
  for (const auto& args : commands)
    pids.push_back(weft::test::start_child(args.front(), std::vector<std::string>(args.begin() + 1, args.end())));
  int failures = 0;
  for (pid_t pid : pids)
    if (weft::test::wait_child(pid) != 0) ++failures;
  return failures;
}

class redis_processes : public ::testing::TestWithParam<std::tuple<std::string, std::string>> {};

TEST_P(redis_processes, many_processes_exclude_each_other_with_rising_tokens) {
  auto [scheme, recipe] = GetParam();
  std::string uri = weft::test::env_or_fail(scheme == "redis" ? "WEFT_TEST_REDIS" : "WEFT_TEST_REDLOCK");
  ASSERT_FALSE(uri.empty());
  auto dir = std::filesystem::temp_directory_path() /
             ("weft-redis-processes-" + std::to_string(::getpid()) + "-" + scheme + "-" + recipe);
  std::filesystem::create_directories(dir);
  std::string name = "processes-" + std::to_string(::getpid()) + "-" + recipe;
  std::string counter = (dir / "counter").string();
  std::string fence = (dir / "fence").string();
  std::string log = (dir / "log").string();
  constexpr int workers = 4;
  constexpr int iterations = 20;
  std::vector<std::vector<std::string>> commands;
  for (int i = 0; i < workers; ++i)
    commands.push_back({WEFT_REDIS_LOCK_TEST_HELPER, "count", uri, recipe, name, std::to_string(iterations), counter,
                        fence, log});
  EXPECT_EQ(run_helpers(commands), 0);
  weft::lock::testing::expect_every_count_kept_with_rising_tokens(counter, log, workers * iterations);
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

INSTANTIATE_TEST_SUITE_P(stores, redis_processes,
                         ::testing::Combine(::testing::Values("redis", "redlock"),
                                            ::testing::Values("mutex", "rw_mutex", "semaphore", "election")),
                         [](const auto& param_info) { return std::get<0>(param_info.param) + "_" + std::get<1>(param_info.param); });

}  // namespace
