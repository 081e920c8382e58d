// Many processes on one file:// store: mutual exclusion for every recipe, a
// killed holder, a paused holder. Uses weft-lock-test-helper.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "child_process.hpp"
#include "lock_test_helper_checks.hpp"
#include "lock_test_support.hpp"
#include "weft/context.hpp"
#include "weft/lock/election.hpp"
#include "weft/lock/fence.hpp"
#include "weft/lock/mutex.hpp"
#include "weft/lock/store.hpp"

using namespace std::chrono_literals;
using weft::context;
using weft::errc;
using weft::task;
using namespace weft::lock;
using weft::lock::testing::run;
using weft::lock::testing::temp_dir;

namespace {

// A helper process with its stdout on a pipe.
class helper {
 public:
  explicit helper(const std::vector<std::string>& args) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return;
    pid_ = weft::test::start_child(WEFT_LOCK_TEST_HELPER, args, {.stdout_descriptor = fds[1]});
    ::close(fds[1]);
    out_ = fds[0];
  }
  ~helper() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) ::close(out_);
  }
  helper(const helper&) = delete;
  helper& operator=(const helper&) = delete;

  pid_t pid() const { return pid_; }

  // The next line of output, or "" after `timeout` or at end of output.
  std::string line(std::chrono::milliseconds timeout = 30s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
        std::string out = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return out;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return "";
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return "";
      char chunk[512];
      ssize_t n = ::read(out_, chunk, sizeof chunk);
      if (n <= 0) return "";
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  // Waits for the exit status; -1 on a signal.
  int wait() {
    const int code = weft::test::wait_child(pid_);
    pid_ = -1;
    return code;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  std::string buffer_;
};

}  // namespace

class processes : public ::testing::TestWithParam<std::string> {};

TEST_P(processes, many_processes_exclude_each_other_with_rising_tokens) {
  temp_dir dir;
  std::string uri = "file://" + dir.path() + "/store";
  std::string counter = dir.path() + "/counter";
  std::string log = dir.path() + "/log";
  std::string fence = dir.path() + "/fence";
  constexpr int workers = 4;
  constexpr int iterations = 25;
  std::vector<std::unique_ptr<helper>> helpers;
  for (int i = 0; i < workers; ++i)
    helpers.push_back(std::make_unique<helper>(std::vector<std::string>{
        "count", uri, GetParam(), "shared", std::to_string(iterations), counter, fence, log}));
  for (auto& h : helpers) EXPECT_EQ(h->wait(), 0);
  weft::lock::testing::expect_every_count_kept_with_rising_tokens(counter, log, workers * iterations);
}

INSTANTIATE_TEST_SUITE_P(recipes, processes, ::testing::Values("mutex", "rw_mutex", "semaphore", "election"),
                         [](const auto& test_param) { return test_param.param; });

TEST(file_store_faults, a_killed_holder_frees_the_lock_at_once) {
  temp_dir dir;
  std::string uri = "file://" + dir.path() + "/store";
  // A 60 s TTL: getting the lock within the 20 s wait proves death was
  // detected, not the TTL.
  helper holder({"hold", uri, "job", "60000", dir.path() + "/fence"});
  std::string first = holder.line();
  ASSERT_EQ(first.rfind("held ", 0), 0u) << first;
  std::uint64_t old_token = std::stoull(first.substr(5));
  auto where = open(uri).value();
  auto m = mutex::make(where, "job").value();
  run([&]() -> task<void> {
    auto busy = co_await m.try_lock(context::background());
    LOCK_CO_ASSERT(!busy);
    EXPECT_EQ(busy.error().code(), errc::contended);
    auto waiter = weft::go([&m]() -> task<weft::result<lease>> {
      auto [ctx, cancel] = weft::with_timeout(context::background(), 20s);
      co_return co_await m.lock(ctx);
    });
    co_await weft::sleep_for(50ms);
    ::kill(holder.pid(), SIGKILL);
    auto got = co_await std::move(waiter);
    LOCK_CO_ASSERT(got);
    EXPECT_GT(got->token(), old_token);
  });
}

TEST(file_store_faults, a_paused_holder_loses_its_lease_and_its_stale_write_is_fenced) {
  temp_dir dir;
  std::string uri = "file://" + dir.path() + "/store";
  std::string fence_path = dir.path() + "/fence";
  helper holder({"hold", uri, "job", "600", fence_path});
  std::string first = holder.line();
  ASSERT_EQ(first.rfind("held ", 0), 0u) << first;
  std::uint64_t old_token = std::stoull(first.substr(5));
  ASSERT_EQ(holder.line(), "wrote");
  ::kill(holder.pid(), SIGSTOP);
  auto where = open(uri).value();
  auto m = mutex::make(where, "job").value();
  std::uint64_t new_token = 0;
  run([&]() -> task<void> {
    auto [ctx, cancel] = weft::with_timeout(context::background(), 20s);
    auto got = co_await m.lock(ctx);  // granted once the paused holder's TTL ran out
    LOCK_CO_ASSERT(got);
    new_token = got->token();
    EXPECT_GT(new_token, old_token);
    auto fence = file_fence::open(fence_path);
    LOCK_CO_ASSERT(fence);
    EXPECT_TRUE(fence->admit(new_token));
    ::kill(holder.pid(), SIGCONT);
    // The resumed holder's writes are rejected, and it learns it lost.
    bool rejected = false;
    bool lost = false;
    for (int i = 0; i < 40 && !(rejected && lost); ++i) {
      std::string line = holder.line(5s);
      if (line.empty()) break;
      if (line.rfind("rejected", 0) == 0) rejected = true;
      if (line.find("lost") != std::string::npos) lost = true;
      EXPECT_NE(line, "wrote") << "a stale write was accepted";
    }
    EXPECT_TRUE(rejected);
    EXPECT_TRUE(lost);
    co_return;
  });
}

TEST(file_store_faults, a_killed_waiter_is_skipped_and_the_next_waiter_gets_the_lock) {
  temp_dir dir;
  std::string uri = "file://" + dir.path() + "/store";
  auto where = open(uri).value();
  auto m = mutex::make(where, "job").value();
  run([&]() -> task<void> {
    auto holder = co_await m.lock(context::background());
    LOCK_CO_ASSERT(holder);
    helper doomed({"wait", uri, "job"});
    auto queued = [&](std::size_t n) -> task<bool> {
      for (int spin = 0; spin < 5000; ++spin) {
        auto listed = co_await where->list("job", context::background());
        if (listed && !listed->empty() && listed->front().waiters == n) co_return true;
        co_await weft::sleep_for(2ms);
      }
      co_return false;
    };
    LOCK_CO_ASSERT(co_await queued(1));
    auto next = weft::go([&m]() -> task<weft::result<lease>> {
      auto [ctx, cancel] = weft::with_timeout(context::background(), 20s);
      co_return co_await m.lock(ctx);
    });
    LOCK_CO_ASSERT(co_await queued(2));
    ::kill(doomed.pid(), SIGKILL);
    doomed.wait();
    LOCK_CO_ASSERT(co_await holder->release());
    auto got = co_await std::move(next);
    LOCK_CO_ASSERT(got);
    EXPECT_GT(got->token(), holder->token());
  });
}

TEST(file_store_faults, an_observer_sees_a_killed_leader_go_without_waiting_for_its_ttl) {
  temp_dir dir;
  std::string uri = "file://" + dir.path() + "/store";
  helper primary({"lead", uri, "primary"});
  std::string first = primary.line();
  ASSERT_EQ(first.rfind("held ", 0), 0u) << first;
  std::uint64_t token = std::stoull(first.substr(5));
  auto where = open(uri).value();
  auto e = election::make(where, "primary").value();
  run([&]() -> task<void> {
    auto now = co_await e.current(context::background());
    LOCK_CO_ASSERT(now && *now);
    EXPECT_EQ((*now)->token, token);
    EXPECT_EQ((*now)->value, "helper");
    auto change = weft::go([&e, token]() -> task<weft::result<std::optional<leader>>> {
      // The leader's TTL is 60 s: a change within 20 s means its death was seen.
      auto [ctx, cancel] = weft::with_timeout(context::background(), 20s);
      co_return co_await e.observe(ctx, token);
    });
    co_await weft::sleep_for(50ms);
    ::kill(primary.pid(), SIGKILL);
    auto seen = co_await std::move(change);
    LOCK_CO_ASSERT(seen);
    EXPECT_FALSE(*seen);  // nobody leads now
  });
}

TEST(file_store_security, a_store_directory_that_is_a_symlink_or_open_to_others_is_refused) {
  temp_dir dir;
  std::string real = dir.path() + "/real";
  ASSERT_EQ(::mkdir(real.c_str(), 0700), 0);
  ASSERT_EQ(::symlink(real.c_str(), (dir.path() + "/link").c_str()), 0);
  auto linked = open("file://" + dir.path() + "/link");
  ASSERT_FALSE(linked);
  EXPECT_EQ(linked.error().code(), errc::permission_denied);
  EXPECT_NE(linked.error().message().find("symbolic link"), std::string_view::npos);
  std::string shared = dir.path() + "/shared";
  ASSERT_EQ(::mkdir(shared.c_str(), 0700), 0);
  ASSERT_EQ(::chmod(shared.c_str(), 0777), 0);
  auto open_to_all = open("file://" + shared);
  ASSERT_FALSE(open_to_all);
  EXPECT_EQ(open_to_all.error().code(), errc::permission_denied);
  EXPECT_NE(open_to_all.error().message().find("chmod go-w"), std::string_view::npos);
  auto relative = open("file://relative/dir");
  ASSERT_FALSE(relative);
  EXPECT_EQ(relative.error().code(), errc::invalid_argument);
}

TEST(file_store_security, files_and_directories_are_private) {
  temp_dir dir;
  std::string root = dir.path() + "/store";
  auto where = open("file://" + root).value();
  auto m = mutex::make(where, "../../escape").value();
  run([&]() -> task<void> {
    auto held = co_await m.lock(context::background());
    LOCK_CO_ASSERT(held);
    struct stat st {};
    LOCK_CO_ASSERT(::stat(root.c_str(), &st) == 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    std::size_t files = 0;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
      LOCK_CO_ASSERT(::lstat(entry.path().c_str(), &st) == 0);
      EXPECT_FALSE(S_ISLNK(st.st_mode));
      EXPECT_EQ(st.st_mode & 0777, S_ISDIR(st.st_mode) ? 0700u : 0600u) << entry.path();
      ++files;
    }
    EXPECT_GT(files, 3u);
    // Nothing was created outside the store directory.
    EXPECT_FALSE(std::filesystem::exists(dir.path() + "/escape"));
  });
}
