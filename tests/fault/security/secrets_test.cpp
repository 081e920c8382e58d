// Secrets never leak: Redis passwords (in the URI, WEFT_REDIS_PASSWORD or a
// password_file) and ZooKeeper digest credentials (in the URI or WEFT_ZK_AUTH)
// must not appear in `weft lock` / `weft status` output or error messages, nor
// in the command line of the child `weft lock` runs (or of any process it
// starts). Each case plants a recognisable secret and searches every output.
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "child_process.hpp"
#include "environment.hpp"

namespace {

using namespace std::chrono_literals;
using weft::test::env_or_fail;
using weft::test::read_all;
using weft::test::scratch_dir;

// Every process below `root` (by parent pid), with its command line.
std::map<pid_t, std::string> descendants(pid_t root) {
  std::map<pid_t, pid_t> parent;
  std::error_code ec;
  for (auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string stat = read_all(entry.path().string() + "/stat");
    auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream fields(stat.substr(close + 2));
    char state = 0;
    pid_t ppid = 0;
    fields >> state >> ppid;
    parent[std::stoi(name)] = ppid;
  }
  std::map<pid_t, std::string> found;
  for (auto& [pid, ppid] : parent) {
    for (pid_t up = ppid; up > 1; up = parent.count(up) ? parent[up] : 0) {
      if (up != root) continue;
      std::string cmdline = read_all("/proc/" + std::to_string(pid) + "/cmdline");
      for (char& c : cmdline)
        if (c == '\0') c = ' ';
      found[pid] = cmdline;
      break;
    }
  }
  return found;
}

struct run_result : weft::test::child_result {
  std::map<pid_t, std::string> children;  // command lines of weft's descendants, while the child ran
};

// Runs weft with `args` and extra environment; when `marker` is given, waits
// (bounded) until the child command created it and records the command lines
// of weft's descendants at that moment.
run_result run_weft(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
                    const std::string& scratch, const std::string& marker = "") {
  run_result r;
  bool seen = marker.empty();
  auto look_for_the_marker = [&](pid_t pid) {
    if (!seen && std::filesystem::exists(marker)) {
      r.children = descendants(pid);
      seen = true;
    }
  };
  static_cast<weft::test::child_result&>(r) = weft::test::run_child(
      WEFT_BINARY, args, scratch,
      {.unset_environment = {"WEFT_STORE", "WEFT_REDIS_PASSWORD", "WEFT_ZK_AUTH"}, .set_environment = env},
      {.kill_after = 60s, .poll_every = 5ms, .while_running = look_for_the_marker});
  return r;
}

void expect_no_secret(const run_result& r, const std::string& secret) {
  EXPECT_EQ(r.out.find(secret), std::string::npos) << "secret on stdout: " << r.out;
  EXPECT_EQ(r.err.find(secret), std::string::npos) << "secret on stderr: " << r.err;
  for (auto& [pid, cmdline] : r.children)
    EXPECT_EQ(cmdline.find(secret), std::string::npos) << "secret in the argv of pid " << pid << ": " << cmdline;
}

// `weft lock` runs a child that creates `marker` and stays a moment, so its
// command line (and every descendant's) can be read.
std::vector<std::string> lock_args(const std::string& store, const std::string& marker) {
  return {"lock", "--store", store, "--wait", "10s", "weft-secrets", "--",
          "sh", "-c", "touch " + marker + "; sleep 0.3"};
}

// redis://host:port -> redis://[user]:password@host:port (+ query)
std::string with_password(const std::string& uri, const std::string& userinfo) {
  auto at = uri.find("://") + 3;
  return uri.substr(0, at) + userinfo + "@" + uri.substr(at);
}

TEST(secrets, redis_password_in_the_uri_is_never_shown) {
  const std::string base = env_or_fail("WEFT_TEST_REDIS_AUTH");
  const std::string password = env_or_fail("WEFT_TEST_REDIS_AUTH_PASSWORD");
  ASSERT_FALSE(base.empty() || password.empty());
  scratch_dir scratch("weft-secrets");
  const std::string marker = scratch.path() + "/ran";
  // The right password: the lock works; the child and its descendants never see it.
  auto good = run_weft(lock_args(with_password(base, ":" + password), marker), {}, scratch.path(), marker);
  EXPECT_EQ(good.exit_code, 0) << good.err;
  EXPECT_FALSE(good.children.empty()) << "the child command never ran";
  expect_no_secret(good, password);
  auto status = run_weft({"status", "--store", with_password(base, ":" + password)}, {}, scratch.path());
  EXPECT_EQ(status.exit_code, 0) << status.err;
  expect_no_secret(status, password);
  // A wrong password: a clear error that does not echo it.
  const std::string wrong = "Wr0ng-PW-in-uri-4e1b";
  std::filesystem::remove(marker);
  for (auto& args : {lock_args(with_password(base, ":" + wrong), marker),
                     std::vector<std::string>{"status", "--store", with_password(base, ":" + wrong)}}) {
    auto bad = run_weft(args, {}, scratch.path());
    EXPECT_NE(bad.exit_code, 0);
    EXPECT_FALSE(bad.err.empty());
    expect_no_secret(bad, wrong);
  }
  EXPECT_FALSE(std::filesystem::exists(marker)) << "the command ran without the lock";
}

// `weft lock --store redis://:PASSWORD@...` keeps running (it holds the lock
// while its child runs), so its own command line is readable by every user of
// the host (ps, /proc/PID/cmdline) for that whole time. weft must blank the
// password out of its argv once it has parsed it, as curl and the mysql
// client do; until then only WEFT_REDIS_PASSWORD / password_file are safe.
TEST(secrets, weft_lock_blanks_a_uri_password_out_of_its_own_argv) {
  const std::string base = env_or_fail("WEFT_TEST_REDIS_AUTH");
  const std::string password = env_or_fail("WEFT_TEST_REDIS_AUTH_PASSWORD");
  ASSERT_FALSE(base.empty() || password.empty());
  scratch_dir scratch("weft-secrets");
  const std::string marker = scratch.path() + "/ran";
  const std::string own = scratch.path() + "/weft-cmdline";
  // The child copies its parent's (weft's) command line while weft holds the lock.
  std::vector<std::string> args = {"lock", "--store", with_password(base, ":" + password), "--wait", "10s",
                                   "weft-secrets-argv", "--", "sh", "-c",
                                   "tr '\\0' ' ' < /proc/$PPID/cmdline > " + own + "; touch " + marker};
  auto r = run_weft(args, {}, scratch.path(), marker);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::string cmdline = read_all(own);
  EXPECT_NE(cmdline.find("lock"), std::string::npos) << "could not read weft's command line: " << cmdline;
  EXPECT_EQ(cmdline.find(password), std::string::npos) << "weft's own argv shows the password: " << cmdline;
}

TEST(secrets, redis_password_from_the_environment_is_never_shown) {
  const std::string base = env_or_fail("WEFT_TEST_REDIS_AUTH");
  const std::string password = env_or_fail("WEFT_TEST_REDIS_AUTH_PASSWORD");
  ASSERT_FALSE(base.empty() || password.empty());
  scratch_dir scratch("weft-secrets");
  const std::string marker = scratch.path() + "/ran";
  auto good = run_weft(lock_args(base, marker), {{"WEFT_REDIS_PASSWORD", password}}, scratch.path(), marker);
  EXPECT_EQ(good.exit_code, 0) << good.err;
  EXPECT_FALSE(good.children.empty()) << "the child command never ran";
  expect_no_secret(good, password);
  const std::string wrong = "Wr0ng-PW-in-env-93c2";
  auto bad = run_weft(lock_args(base, marker), {{"WEFT_REDIS_PASSWORD", wrong}}, scratch.path());
  EXPECT_NE(bad.exit_code, 0);
  expect_no_secret(bad, wrong);
  auto status = run_weft({"status", "--store", base}, {{"WEFT_REDIS_PASSWORD", wrong}}, scratch.path());
  EXPECT_NE(status.exit_code, 0);
  expect_no_secret(status, wrong);
}

TEST(secrets, redis_password_file_contents_are_never_shown) {
  const std::string base = env_or_fail("WEFT_TEST_REDIS_AUTH");
  const std::string password = env_or_fail("WEFT_TEST_REDIS_AUTH_PASSWORD");
  ASSERT_FALSE(base.empty() || password.empty());
  scratch_dir scratch("weft-secrets");
  const std::string marker = scratch.path() + "/ran";
  const std::string file = scratch.path() + "/password";
  std::ofstream(file) << password << "\n";
  ::chmod(file.c_str(), 0600);
  const std::string store = base + "?password_file=" + file;
  auto good = run_weft(lock_args(store, marker), {}, scratch.path(), marker);
  EXPECT_EQ(good.exit_code, 0) << good.err;
  EXPECT_FALSE(good.children.empty()) << "the child command never ran";
  expect_no_secret(good, password);
  const std::string wrong = "Wr0ng-PW-in-file-7a0d";
  std::ofstream(file, std::ios::trunc) << wrong << "\n";
  for (auto& args : {lock_args(store, marker), std::vector<std::string>{"status", "--store", store}}) {
    auto bad = run_weft(args, {}, scratch.path());
    EXPECT_NE(bad.exit_code, 0);
    expect_no_secret(bad, wrong);
  }
}

TEST(secrets, redis_password_is_not_shown_when_the_server_is_unreachable) {
  scratch_dir scratch("weft-secrets");
  const std::string secret = "Unreach-PW-55e0";
  // Port 1 on loopback: nothing listens there.
  for (const std::string& store : {"redis://:" + secret + "@127.0.0.1:1", "redis://weft:" + secret + "@127.0.0.1:1/0"}) {
    auto lock = run_weft(lock_args(store, scratch.path() + "/ran"), {}, scratch.path());
    EXPECT_NE(lock.exit_code, 0);
    EXPECT_FALSE(lock.err.empty());
    expect_no_secret(lock, secret);
    auto status = run_weft({"status", "--store", store}, {}, scratch.path());
    EXPECT_NE(status.exit_code, 0);
    expect_no_secret(status, secret);
  }
}

// zk://user:password@host:port/chroot
std::string zk_with(const std::string& base, const std::string& userinfo) { return with_password(base, userinfo); }

TEST(secrets, zk_digest_credentials_are_never_shown) {
  // A chroot of its own: nodes created with credentials get a creator-only
  // ACL, which would lock the anonymous tests out of the shared chroot.
  std::string base = env_or_fail("WEFT_TEST_ZK");
  ASSERT_FALSE(base.empty());
  const auto chroot_at = base.find('/', base.find("//") + 2);
  ASSERT_NE(chroot_at, std::string::npos) << base;
  base = base.substr(0, chroot_at) + "/weft-secrets-" + std::to_string(::getpid());
  scratch_dir scratch("weft-secrets");
  const std::string marker = scratch.path() + "/ran";
  const std::string secret = "Zk-Digest-PW-2f6a";
  // In the URI.
  auto good = run_weft(lock_args(zk_with(base, "weft:" + secret), marker), {}, scratch.path(), marker);
  EXPECT_EQ(good.exit_code, 0) << good.err;
  EXPECT_FALSE(good.children.empty()) << "the child command never ran";
  expect_no_secret(good, secret);
  auto status = run_weft({"status", "--store", zk_with(base, "weft:" + secret)}, {}, scratch.path());
  EXPECT_EQ(status.exit_code, 0) << status.err;
  expect_no_secret(status, secret);
  // From WEFT_ZK_AUTH.
  std::filesystem::remove(marker);
  auto from_env = run_weft(lock_args(base, marker), {{"WEFT_ZK_AUTH", "weft:" + secret}}, scratch.path(), marker);
  EXPECT_EQ(from_env.exit_code, 0) << from_env.err;
  EXPECT_FALSE(from_env.children.empty()) << "the child command never ran";
  expect_no_secret(from_env, secret);
  // Errors: an unknown parameter, and an unreachable server.
  for (const std::string& store : {zk_with(base, "weft:" + secret) + "?bogus=1",
                                   "zk://weft:" + secret + "@127.0.0.1:1/weft?session_timeout=1s"}) {
    for (auto& args : {lock_args(store, marker), std::vector<std::string>{"status", "--store", store}}) {
      auto bad = run_weft(args, {}, scratch.path());
      EXPECT_NE(bad.exit_code, 0);
      EXPECT_FALSE(bad.err.empty());
      expect_no_secret(bad, secret);
    }
  }
  auto bad_env = run_weft({"status", "--store", "zk://127.0.0.1:1/weft?session_timeout=1s"},
                          {{"WEFT_ZK_AUTH", "weft:" + secret}}, scratch.path());
  EXPECT_NE(bad_env.exit_code, 0);
  expect_no_secret(bad_env, secret);
}

}  // namespace
