#include "weft/lock/fence.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

using weft::errc;
using weft::lock::fence;
using weft::lock::file_fence;

namespace {
std::string temp_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "weft-fence-XXXXXX").string();
  return ::mkdtemp(pattern.data());
}
}  // namespace

TEST(fence, rejects_a_token_older_than_the_highest_seen) {
  fence f;
  EXPECT_TRUE(f.admit(5));
  EXPECT_TRUE(f.admit(5));
  EXPECT_TRUE(f.admit(9));
  auto stale = f.admit(7);
  ASSERT_FALSE(stale);
  EXPECT_EQ(stale.error().code(), errc::lease_lost);
  EXPECT_NE(stale.error().message().find("stale fencing token 7"), std::string_view::npos);
  EXPECT_EQ(f.highest(), 9u);
  EXPECT_EQ(f.rejected(), 1u);
}

TEST(fence, concurrent_admits_keep_the_maximum) {
  fence f;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&f, t] {
      for (std::uint64_t i = 0; i < 1000; ++i) (void)f.admit(i * 4 + static_cast<std::uint64_t>(t));
    });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(f.highest(), 3999u);
}

TEST(file_fence, persists_the_highest_token_across_opens_and_processes) {
  auto dir = temp_dir();
  auto path = dir + "/fence";
  {
    auto f = file_fence::open(path);
    ASSERT_TRUE(f);
    EXPECT_EQ(*f->highest(), 0u);
    EXPECT_TRUE(f->admit(10));
  }
  pid_t child = ::fork();
  if (child == 0) {
    auto f = file_fence::open(path);
    ::_exit(f && f->admit(12) && !f->admit(11) ? 0 : 1);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  auto f = file_fence::open(path);
  ASSERT_TRUE(f);
  EXPECT_EQ(*f->highest(), 12u);
  bool ran = false;
  auto stale = f->guarded(11, [&] {
    ran = true;
    return weft::result<void>{};
  });
  EXPECT_FALSE(stale);
  EXPECT_FALSE(ran);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::filesystem::remove_all(dir);
}

TEST(file_fence, refuses_to_follow_a_symlink) {
  auto dir = temp_dir();
  ASSERT_EQ(::symlink((dir + "/target").c_str(), (dir + "/link").c_str()), 0);
  auto f = file_fence::open(dir + "/link");
  ASSERT_FALSE(f);
  EXPECT_EQ(f.error().code(), errc::permission_denied);
  EXPECT_FALSE(std::filesystem::exists(dir + "/target"));
  std::filesystem::remove_all(dir);
}
