// Tests of the operator commands (weft lock, sem, elect, status, demo-worker)
// run as real processes against a fresh file store per test.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "operator_support.hpp"

extern char** environ;

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

const std::string weft_binary = WEFT_BINARY;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool exists(const std::string& path) { return std::filesystem::exists(path); }

template <typename Predicate>
bool eventually(Predicate p, std::chrono::milliseconds timeout = 20s) {
  auto deadline = steady::now() + timeout;
  while (!p()) {
    if (steady::now() > deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// A weft process with its stdout and stderr captured in files.
class child {
 public:
  child(const std::vector<std::string>& args, const std::string& dir,
        std::vector<std::string> extra_env = {}) {
    static int counter = 0;
    const std::string base = dir + "/proc" + std::to_string(++counter);
    out_ = base + ".out";
    err_ = base + ".err";
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&actions, 2, err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    std::vector<std::string> argv = {weft_binary};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::string_view(*e).rfind("WEFT_STORE=", 0) != 0) env.emplace_back(*e);
    }
    env.insert(env.end(), extra_env.begin(), extra_env.end());
    std::vector<char*> cenv;
    for (auto& e : env) cenv.push_back(e.data());
    cenv.push_back(nullptr);
    // weft must start with default signal handling even when the test runner
    // was started with some signals blocked or ignored (background jobs).
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    sigset_t defaults;
    sigemptyset(&defaults);
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD}) sigaddset(&defaults, s);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    int rc = posix_spawn(&pid_, weft_binary.c_str(), &actions, &attr, cargv.data(), cenv.data());
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&actions);
    EXPECT_EQ(rc, 0) << "cannot start " << weft_binary;
  }
  child(const child&) = delete;
  child& operator=(const child&) = delete;
  ~child() {
    if (!status_ && pid_ > 0) {
      ::kill(pid_, SIGKILL);
      int s = 0;
      ::waitpid(pid_, &s, 0);
    }
  }

  pid_t pid() const { return pid_; }
  void signal(int sig) const { ::kill(pid_, sig); }

  // The shell-style status; nullopt (and the process is killed) on timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout = 30s) {
    if (status_) return status_;
    auto deadline = steady::now() + timeout;
    for (;;) {
      int s = 0;
      pid_t r = ::waitpid(pid_, &s, WNOHANG);
      if (r == pid_) {
        status_ = WIFEXITED(s) ? WEXITSTATUS(s) : 128 + WTERMSIG(s);
        return status_;
      }
      if (steady::now() > deadline) {
        ADD_FAILURE() << "weft did not exit in time; stderr: " << err();
        return std::nullopt;
      }
      std::this_thread::sleep_for(2ms);
    }
  }
  std::string out() const { return slurp(out_); }
  std::string err() const { return slurp(err_); }

 private:
  pid_t pid_ = -1;
  std::optional<int> status_;
  std::string out_, err_;
};

class weft_operator : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/weft-cli-test-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    store_ = "file://" + dir_ + "/store";
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::vector<std::string> lock_args(const std::string& name, std::vector<std::string> flags,
                                     std::vector<std::string> command) {
    std::vector<std::string> args = {"lock", "--store", store_};
    args.insert(args.end(), flags.begin(), flags.end());
    args.push_back(name);
    args.push_back("--");
    args.insert(args.end(), command.begin(), command.end());
    return args;
  }
  std::vector<std::string> sh(const std::string& script) { return {"/bin/sh", "-c", script}; }

  // Runs and waits; returns the status.
  int run(const std::vector<std::string>& args, std::string* out = nullptr,
          std::string* err = nullptr) {
    child c(args, dir_);
    auto status = c.wait(120s);
    if (out != nullptr) *out = c.out();
    if (err != nullptr) *err = c.err();
    return status.value_or(-1);
  }

  std::string dir_;
  std::string store_;
};

// ---- exit codes -----------------------------------------------------------

TEST_F(weft_operator, lock_returns_the_commands_exit_code) {
  EXPECT_EQ(run(lock_args("job", {}, sh("exit 0"))), 0);
  EXPECT_EQ(run(lock_args("job", {}, sh("exit 7"))), 7);
}

TEST_F(weft_operator, command_killed_by_a_signal_gives_128_plus_the_signal) {
  EXPECT_EQ(run(lock_args("job", {}, sh("kill -KILL $$"))), 128 + SIGKILL);
}

TEST_F(weft_operator, unknown_command_exits_127_with_a_message) {
  std::string err;
  EXPECT_EQ(run(lock_args("job", {}, {"/nonexistent/weft-no-such-command"}), nullptr, &err), 127);
  EXPECT_NE(err.find("not found"), std::string::npos) << err;
}

TEST_F(weft_operator, held_lock_with_no_wait_exits_75) {
  const std::string ready = dir_ + "/ready";
  child holder(lock_args("busy", {}, sh("touch " + ready + "; exec sleep 30")), dir_);
  ASSERT_TRUE(eventually([&] { return exists(ready); }));
  std::string err;
  EXPECT_EQ(run(lock_args("busy", {"--no-wait"}, sh("exit 0")), nullptr, &err), 75);
  EXPECT_NE(err.find("busy"), std::string::npos) << err;
  EXPECT_EQ(run(lock_args("busy", {"--wait", "200ms"}, sh("exit 0")), nullptr, &err), 75);
  EXPECT_NE(err.find("200ms"), std::string::npos) << err;
  holder.signal(SIGTERM);
  EXPECT_EQ(holder.wait(), 128 + SIGTERM);
  // Released: the next one gets it at once.
  EXPECT_EQ(run(lock_args("busy", {"--no-wait"}, sh("exit 0"))), 0);
}

TEST_F(weft_operator, interrupting_a_waiting_weft_exits_130_without_running_the_command) {
  const std::string ready = dir_ + "/ready";
  const std::string ran = dir_ + "/ran";
  child holder(lock_args("busy", {}, sh("touch " + ready + "; exec sleep 30")), dir_);
  ASSERT_TRUE(eventually([&] { return exists(ready); }));
  child waiter(lock_args("busy", {}, sh("touch " + ran)), dir_);
  std::this_thread::sleep_for(300ms);
  waiter.signal(SIGINT);
  EXPECT_EQ(waiter.wait(), 128 + SIGINT);
  EXPECT_FALSE(exists(ran));
}

// ---- bad input ------------------------------------------------------------

TEST_F(weft_operator, bad_input_exits_64_with_a_clear_message) {
  struct bad {
    std::vector<std::string> args;
    std::string says;
  };
  std::vector<bad> cases = {
      {lock_args("", {}, sh("true")), "name"},
      {lock_args("job", {"--ttl", "5x"}, sh("true")), "--ttl"},
      {lock_args("job", {"--ttl", "0"}, sh("true")), "--ttl"},
      {lock_args("job", {"--wait", "soon"}, sh("true")), "--wait"},
      {lock_args("job", {"--grace", "-1s"}, sh("true")), "--grace"},
      {lock_args(std::string(5000, 'x'), {}, sh("true")), "name"},
      {{"lock", "--store", "bogus://x", "job", "--", "true"}, "bogus"},
      {{"lock", "--store", "not a uri", "job", "--", "true"}, "not a uri"},
      {{"lock", "--store", store_, "job"}, "command"},
      {{"sem", "--store", store_, "--permits", "0", "job", "--", "true"}, "permits"},
      {{"lock", "--no-such-flag", "job", "--", "true"}, "no-such-flag"},
  };
  for (const auto& c : cases) {
    std::string err;
    EXPECT_EQ(run(c.args, nullptr, &err), 64) << c.args[c.args.size() > 4 ? 3 : 1] << ": " << err;
    EXPECT_NE(err.find(c.says), std::string::npos) << "stderr should mention '" << c.says << "': " << err;
  }
}

TEST_F(weft_operator, every_command_has_help) {
  for (std::string cmd : {"lock", "sem", "elect", "status", "demo"}) {
    std::string out;
    EXPECT_EQ(run({cmd, "--help"}, &out), 0) << cmd;
    EXPECT_NE(out.find("--store"), std::string::npos) << cmd << ": " << out;
  }
}

// ---- the child's environment and process group ----------------------------

TEST_F(weft_operator, child_gets_name_token_and_store) {
  std::string out;
  ASSERT_EQ(run(lock_args("env/check", {}, sh("echo \"$WEFT_LOCK_NAME|$WEFT_FENCING_TOKEN|$WEFT_STORE\"")),
                &out),
            0);
  std::string first_token = out.substr(out.find('|') + 1, out.rfind('|') - out.find('|') - 1);
  EXPECT_EQ(out.substr(0, out.find('|')), "env/check");
  EXPECT_GT(std::stoull(first_token), 0u);
  EXPECT_EQ(out.substr(out.rfind('|') + 1), store_ + "\n");
  // Tokens strictly increase from one acquisition to the next.
  ASSERT_EQ(run(lock_args("env/check", {}, sh("echo $WEFT_FENCING_TOKEN")), &out), 0);
  EXPECT_GT(std::stoull(out), std::stoull(first_token));
}

TEST_F(weft_operator, store_credentials_never_reach_the_child) {
  using weft::cli::strip_credentials;
  EXPECT_EQ(strip_credentials("redis://user:secret@host:6379/0"), "redis://host:6379/0");
  EXPECT_EQ(strip_credentials("zk://a:b@h1:2181,h2:2181/chroot"), "zk://h1:2181,h2:2181/chroot");
  EXPECT_EQ(strip_credentials("redis://host:6379?password=x&ttl=10s"), "redis://host:6379?ttl=10s");
  EXPECT_EQ(strip_credentials("file:///var/lib/weft"), "file:///var/lib/weft");
}

TEST_F(weft_operator, child_runs_in_its_own_process_group) {
  std::string out;
  // Field 5 of /proc/PID/stat is the process group: the shell leads its own.
  ASSERT_EQ(run(lock_args("pg", {}, sh("echo $$ $(cut -d' ' -f5 /proc/$$/stat)")), &out), 0);
  std::istringstream in(out);
  long pid = 0, group = 0;
  in >> pid >> group;
  EXPECT_GT(pid, 0);
  EXPECT_EQ(pid, group);
  EXPECT_NE(group, static_cast<long>(::getpgrp()));
}

// ---- signals ----------------------------------------------------------------

TEST_F(weft_operator, sigterm_and_sigint_to_weft_reach_the_child) {
  for (int sig : {SIGTERM, SIGINT}) {
    const std::string ready = dir_ + "/ready" + std::to_string(sig);
    const std::string got = dir_ + "/got" + std::to_string(sig);
    child c(lock_args("sig", {},
                      sh("trap 'echo $WEFT_FENCING_TOKEN > " + got + "; exit 9' TERM INT; touch " +
                         ready + "; while :; do sleep 0.05; done")),
            dir_);
    ASSERT_TRUE(eventually([&] { return exists(ready); }));
    c.signal(sig);
    EXPECT_EQ(c.wait(), 9) << c.err();
    EXPECT_TRUE(exists(got));
  }
}

TEST_F(weft_operator, killed_weft_takes_its_child_down_and_frees_the_lock) {
  const std::string ready = dir_ + "/ready";
  child c(lock_args("crash", {}, sh("echo $$ > " + ready + ".pid; touch " + ready + "; exec sleep 30")),
          dir_);
  ASSERT_TRUE(eventually([&] { return exists(ready); }));
  pid_t grandchild = static_cast<pid_t>(std::stol(slurp(ready + ".pid")));
  c.signal(SIGKILL);
  EXPECT_EQ(c.wait(), 128 + SIGKILL);
  EXPECT_TRUE(eventually([&] { return ::kill(grandchild, 0) != 0; }, 10s));
  EXPECT_EQ(run(lock_args("crash", {"--wait", "5s"}, sh("exit 0"))), 0);
}

// ---- lease loss -------------------------------------------------------------

// Pauses weft (not its child) past the TTL while another process takes the
// lock over; on resuming, weft finds its lease lost and stops the child.
TEST_F(weft_operator, lost_lease_stops_the_child_with_sigterm_and_exits_76) {
  const std::string ready = dir_ + "/ready";
  const std::string term = dir_ + "/term";
  child holder(lock_args("lease", {"--ttl", "300ms", "--grace", "10s"},
                         sh("trap 'touch " + term + "; exit 0' TERM; touch " + ready +
                            "; while :; do sleep 0.05; done")),
               dir_);
  ASSERT_TRUE(eventually([&] { return exists(ready); }));
  holder.signal(SIGSTOP);
  EXPECT_EQ(run(lock_args("lease", {"--wait", "20s"}, sh("exit 0"))), 0);
  holder.signal(SIGCONT);
  EXPECT_EQ(holder.wait(), 76) << holder.err();
  EXPECT_TRUE(exists(term));
  EXPECT_NE(holder.err().find("lost"), std::string::npos) << holder.err();
}

TEST_F(weft_operator, child_ignoring_sigterm_is_killed_after_the_grace_period) {
  const std::string ready = dir_ + "/ready";
  child holder(lock_args("lease", {"--ttl", "300ms", "--grace", "700ms"},
                         sh("trap '' TERM; echo $$ > " + ready + ".pid; touch " + ready +
                            "; while :; do sleep 0.05; done")),
               dir_);
  ASSERT_TRUE(eventually([&] { return exists(ready); }));
  pid_t shell = static_cast<pid_t>(std::stol(slurp(ready + ".pid")));
  holder.signal(SIGSTOP);
  EXPECT_EQ(run(lock_args("lease", {"--wait", "20s"}, sh("exit 0"))), 0);
  auto resumed = steady::now();
  holder.signal(SIGCONT);
  EXPECT_EQ(holder.wait(), 76) << holder.err();
  EXPECT_GE(steady::now() - resumed, 600ms);  // waited for the grace period first
  EXPECT_NE(holder.err().find("SIGKILL"), std::string::npos) << holder.err();
  EXPECT_NE(::kill(shell, 0), 0);  // gone, and reaped
}

// ---- sem, elect, status -------------------------------------------------------

TEST_F(weft_operator, sem_admits_permits_holders_and_no_more) {
  std::vector<std::unique_ptr<child>> holders;
  for (int i = 0; i < 2; ++i) {
    const std::string ready = dir_ + "/ready" + std::to_string(i);
    holders.push_back(std::make_unique<child>(
        std::vector<std::string>{"sem", "--store", store_, "--permits", "2", "pool", "--", "/bin/sh",
                                 "-c", "touch " + ready + "; exec sleep 30"},
        dir_));
    ASSERT_TRUE(eventually([&] { return exists(ready); }));
  }
  EXPECT_EQ(run({"sem", "--store", store_, "--permits", "2", "--no-wait", "pool", "--", "true"}), 75);
  holders[0]->signal(SIGTERM);
  holders[0]->wait();
  EXPECT_EQ(run({"sem", "--store", store_, "--permits", "2", "--wait", "5s", "pool", "--", "true"}), 0);
}

TEST_F(weft_operator, elect_runs_the_command_as_leader_and_observe_prints_it) {
  child observer({"elect", "--observe", "--store", store_, "--json", "boss"}, dir_);
  std::string out;
  EXPECT_EQ(run({"elect", "--store", store_, "--value", "node-a", "boss", "--", "/bin/sh", "-c",
                 "sleep 0.3; echo $WEFT_FENCING_TOKEN $WEFT_LEADER_VALUE"},
                &out),
            0);
  EXPECT_NE(out.find("node-a"), std::string::npos) << out;
  EXPECT_TRUE(eventually([&] { return observer.out().find("\"node-a\"") != std::string::npos; }, 10s))
      << observer.out() << observer.err();
  observer.signal(SIGTERM);
  EXPECT_EQ(observer.wait(), 0);
}

TEST_F(weft_operator, elect_once_exits_76_when_leadership_is_lost) {
  const std::string ready = dir_ + "/ready";
  const std::string term = dir_ + "/term";
  child leader({"elect", "--store", store_, "--once", "--ttl", "300ms", "boss", "--", "/bin/sh", "-c",
                "trap 'touch " + term + "; exit 0' TERM; touch " + ready +
                    "; while :; do sleep 0.05; done"},
               dir_);
  ASSERT_TRUE(eventually([&] { return exists(ready); }));
  leader.signal(SIGSTOP);
  std::string out;
  EXPECT_EQ(run({"elect", "--store", store_, "--value", "next", "boss", "--", "/bin/sh", "-c",
                 "echo $WEFT_LEADER_VALUE"},
                &out),
            0);
  EXPECT_EQ(out, "next\n");
  leader.signal(SIGCONT);
  EXPECT_EQ(leader.wait(), 76) << leader.err();
  EXPECT_TRUE(exists(term));
}

TEST_F(weft_operator, demo_passes_every_check) {
  std::string out;
  std::string err;
  EXPECT_EQ(run({"demo"}, &out, &err), 0) << out << err;
  EXPECT_NE(out.find("checks passed"), std::string::npos) << out;
  EXPECT_EQ(out.find("FAIL"), std::string::npos) << out;
}

TEST_F(weft_operator, status_lists_holder_token_and_time_left) {
  const std::string ready = dir_ + "/ready";
  child holder(lock_args("jobs/nightly", {"--ttl", "30s"},
                         sh("echo $WEFT_FENCING_TOKEN > " + ready + ".token; touch " + ready +
                            "; exec sleep 30")),
               dir_);
  ASSERT_TRUE(eventually([&] { return exists(ready); }));
  std::string token = slurp(ready + ".token");
  token.erase(token.find_last_not_of('\n') + 1);
  std::string out;
  ASSERT_EQ(run({"status", "--store", store_, "--json", "jobs/"}, &out), 0);
  EXPECT_NE(out.find("\"jobs/nightly\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"token\":" + token), std::string::npos) << out;
  EXPECT_NE(out.find("time_left_ms"), std::string::npos) << out;
  ASSERT_EQ(run({"status", "--store", store_}, &out), 0);
  EXPECT_NE(out.find("jobs/nightly"), std::string::npos) << out;
}

}  // namespace
