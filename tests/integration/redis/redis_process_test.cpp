// Many processes contend on one lock in the redis:// and redlock:// stores, for
// every recipe: a shared counter file and a fence confirm that no two were
// inside at once and that tokens strictly rose. Uses the lock tests' helper
// program (tests/unit/lock/lock_test_helper.cpp) built with the Redis store.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <tuple>
#include <vector>

#include "redis_test_support.hpp"

namespace {

int run_helpers(const std::vector<std::vector<std::string>>& commands) {
  std::vector<pid_t> pids;
  for (const auto& args : commands) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    pid_t pid = 0;
    EXPECT_EQ(::posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ), 0) << argv[0];
    pids.push_back(pid);
  }
  int failures = 0;
  for (pid_t pid : pids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failures;
  }
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
  std::ifstream counter_file(counter);
  long total = 0;
  counter_file >> total;
  EXPECT_EQ(total, workers * iterations);
  std::ifstream log_file(log);
  std::vector<unsigned long long> tokens;
  for (unsigned long long t; log_file >> t;) tokens.push_back(t);
  ASSERT_EQ(tokens.size(), static_cast<std::size_t>(workers * iterations));
  for (std::size_t i = 1; i < tokens.size(); ++i) EXPECT_LT(tokens[i - 1], tokens[i]) << "at " << i;
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

INSTANTIATE_TEST_SUITE_P(stores, redis_processes,
                         ::testing::Combine(::testing::Values("redis", "redlock"),
                                            ::testing::Values("mutex", "rw_mutex", "semaphore", "election")),
                         [](const auto& param_info) { return std::get<0>(param_info.param) + "_" + std::get<1>(param_info.param); });

}  // namespace
