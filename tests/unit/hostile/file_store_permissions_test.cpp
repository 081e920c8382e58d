// The file store on a shared host: directories that are symlinks, writable
// by others, owned by another user or unreadable are refused with a clear
// error and left untouched; another Unix user (nobody, via setuid in a forked
// child) can neither open our store nor release or take over our lock.
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "../lock/lock_test_support.hpp"
#include "hostile_support.hpp"
#include "weft/context.hpp"
#include "weft/lock/mutex.hpp"
#include "weft/lock/store.hpp"

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
// The intruder runs in a child forked from a process with threads (the
// holder's lease keeper). The child opens a store of its own and exits; TSan
// refuses new threads after such a fork unless told otherwise.
extern "C" const char* __tsan_default_options() { return "die_after_fork=0"; }
#endif
#endif

namespace {

using weft::errc;
using weft::hostile::expect_clear_error;
using weft::hostile::sandbox;

constexpr uid_t nobody = 65534;

weft::error open_and_try_lock(const std::string& uri) {
  auto opened = weft::lock::open(uri);
  if (!opened) return opened.error();
  auto m = weft::lock::mutex::make(*opened, "hostile");
  if (!m) return m.error();
  auto held = weft::lock::testing::run([&]() -> weft::task<weft::result<weft::lock::lease>> {
    co_return co_await m->try_lock(weft::context::background());
  });
  return held ? weft::error(errc::ok, "the input was accepted") : held.error();
}

// Runs `body` in a forked child as uid/gid nobody; returns "<errc>|<message>"
// written by the child, or "crash" when it died.
template <typename F>
std::string as_nobody(F body) {
  int fds[2];
  if (::pipe(fds) != 0) return "pipe failed";
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    std::string out;
    if (::setgroups(0, nullptr) != 0 || ::setgid(nobody) != 0 || ::setuid(nobody) != 0) {
      out = "setuid failed";
    } else {
      out = body();
    }
    (void)!::write(fds[1], out.data(), out.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string out;
  char buffer[4096];
  for (ssize_t n; (n = ::read(fds[0], buffer, sizeof buffer)) > 0;) out.append(buffer, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status)) return "crash";
  return out;
}

std::string describe(const weft::error& e) {
  return std::string(weft::to_string(e.code())) + "|" + std::string(e.message());
}

// A sandbox the nobody user can traverse (mkdtemp makes it 0700).
struct shared_sandbox : sandbox {
  shared_sandbox() { ::chmod(path().c_str(), 0755); }
};

TEST(file_store_permissions, store_directory_that_is_a_symlink_is_refused) {
  sandbox box;
  ::mkdir((box.path() + "/real").c_str(), 0700);
  std::filesystem::create_directory_symlink(box.path() + "/real", box.path() + "/link");
  const std::string before = box.snapshot();
  expect_clear_error(open_and_try_lock("file://" + box.path() + "/link"), errc::permission_denied, "symbolic link",
                     "symlinked store directory");
  EXPECT_EQ(box.snapshot(), before);
  EXPECT_TRUE(std::filesystem::is_empty(box.path() + "/real"));
}

TEST(file_store_permissions, store_directory_writable_by_others_is_refused_and_its_mode_kept) {
  sandbox box;
  const std::string dir = box.path() + "/open";
  ::mkdir(dir.c_str(), 0700);
  ::chmod(dir.c_str(), 0777);
  const std::string before = box.snapshot();
  expect_clear_error(open_and_try_lock("file://" + dir), errc::permission_denied, "chmod", "world-writable dir");
  EXPECT_EQ(box.snapshot(), before);
}

TEST(file_store_permissions, store_directory_owned_by_another_user_is_refused) {
  sandbox box;
  const std::string dir = box.path() + "/theirs";
  ::mkdir(dir.c_str(), 0700);
  ASSERT_EQ(::chown(dir.c_str(), nobody, nobody), 0) << std::strerror(errno) << " (the test runs as root in CI)";
  const std::string before = box.snapshot();
  expect_clear_error(open_and_try_lock("file://" + dir), errc::permission_denied, "uid", "foreign dir");
  EXPECT_EQ(box.snapshot(), before);
}

TEST(file_store_permissions, store_path_that_is_a_regular_file_is_refused) {
  sandbox box;
  const std::string file = box.path() + "/plain";
  { int fd = ::open(file.c_str(), O_CREAT | O_WRONLY, 0600); ::close(fd); }
  const std::string before = box.snapshot();
  weft::error e = open_and_try_lock("file://" + file);
  EXPECT_TRUE(e.code() == errc::permission_denied || e.code() == errc::invalid_argument) << describe(e);
  expect_clear_error(e, e.code(), file, "regular file as store");
  weft::error below = open_and_try_lock("file://" + file + "/below");
  EXPECT_NE(below.code(), errc::ok);
  expect_clear_error(below, below.code(), "plain", "directory below a regular file");
  EXPECT_EQ(box.snapshot(), before);
}

TEST(file_store_permissions, unreadable_store_directory_gives_permission_denied_to_its_owner) {
  ASSERT_EQ(::geteuid(), 0u) << "this test drops to nobody and must start as root";
  shared_sandbox box;
  const std::string dir = box.path() + "/locked";
  ::mkdir(dir.c_str(), 0700);
  ASSERT_EQ(::chown(dir.c_str(), nobody, nobody), 0);
  ::chmod(dir.c_str(), 0000);
  const std::string before = box.snapshot();
  std::string got = as_nobody([&] { return describe(open_and_try_lock("file://" + dir)); });
  EXPECT_EQ(got.rfind("permission_denied|", 0), 0u) << got;
  EXPECT_NE(got.find(dir), std::string::npos) << "the message should name the directory: " << got;
  EXPECT_EQ(box.snapshot(), before);
}

TEST(file_store_permissions, another_user_cannot_open_release_or_take_over_our_lock) {
  ASSERT_EQ(::geteuid(), 0u) << "this test drops to nobody and must start as root";
  shared_sandbox box;
  const std::string root = box.path() + "/mine";
  auto store = weft::lock::open("file://" + root);
  ASSERT_TRUE(store) << store.error().message();
  auto m = weft::lock::mutex::make(*store, "guarded").value();
  auto held = weft::lock::testing::run([&]() -> weft::task<weft::result<weft::lock::lease>> {
    co_return co_await m.try_lock(weft::context::background());
  });
  ASSERT_TRUE(held) << held.error().message();
  struct stat st {};
  ASSERT_EQ(::stat(root.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  // Collect every file of the lock so the intruder can try them directly.
  std::vector<std::string> files;
  for (auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    files.push_back(entry.path().string());
    struct stat fst {};
    ::lstat(entry.path().c_str(), &fst);
    if (S_ISDIR(fst.st_mode)) {
      EXPECT_EQ(fst.st_mode & 07777, 0700u) << entry.path();
    }
    if (S_ISREG(fst.st_mode)) {
      EXPECT_EQ(fst.st_mode & 0077, 0u) << entry.path();
    }
  }
  const std::string before = box.snapshot();
  std::string got = as_nobody([&] {
    std::string out = describe(open_and_try_lock("file://" + root));
    for (auto& file : files) {
      if (::unlink(file.c_str()) == 0) out += "|unlinked " + file;
      int fd = ::open(file.c_str(), O_RDWR | O_NOFOLLOW);
      if (fd >= 0) {
        out += "|opened " + file;
        ::close(fd);
      }
    }
    return out;
  });
  EXPECT_EQ(got.rfind("permission_denied|", 0), 0u) << got;
  EXPECT_EQ(got.find("|unlinked"), std::string::npos) << got;
  EXPECT_EQ(got.find("|opened"), std::string::npos) << got;
  EXPECT_EQ(box.snapshot(), before);
  EXPECT_FALSE(held->is_lost());
  auto released = weft::lock::testing::run([&]() -> weft::task<weft::result<void>> { co_return co_await held->release(); });
  EXPECT_TRUE(released) << released.error().message();
}

}  // namespace
