// zk:// under faults: a holder killed, paused past its session, cut off from
// the network, and the ensemble's leader killed while clients hold and wait.
//
// Holders that must die or freeze run in child processes: this binary
// re-executes itself with WEFT_ZK_FAULT_CHILD set, and main() runs the
// child's part instead of the tests.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "weft/lock/fence.hpp"
#include "weft/lock/mutex.hpp"
#include "zk_session.hpp"
#include "zk_store.hpp"
#include "zk_test_support.hpp"

extern char** environ;

namespace weft::lock::zk {
namespace {

using namespace std::chrono_literals;
using testing::acquire_within;
using testing::expect_deleted_reason;
using testing::granted_with_newer_token;
using testing::lost_within;
using testing::open_or_fail;
using testing::unique_name;

void append_line(const std::string& path, const std::string& line) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return;
  const std::string text = line + "\n";
  (void)!::write(fd, text.data(), text.size());
  ::close(fd);
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

// ---- the child: hold the lock, write through the fence until the lease is lost ----

int run_holder_child() {
  const std::string uri = env_or_empty("WEFT_ZK_FAULT_URI");
  const std::string name = env_or_empty("WEFT_ZK_FAULT_NAME");
  const std::string report = env_or_empty("WEFT_ZK_FAULT_REPORT");
  const std::string fence_path = env_or_empty("WEFT_ZK_FAULT_FENCE");
  runtime_options options;
  options.workers = 1;
  runtime rt(options);
  auto opened = open(uri);
  if (!opened) {
    append_line(report, "error open " + std::string(opened.error().message()));
    return 2;
  }
  auto fence_file = file_fence::open(fence_path);
  if (!fence_file) {
    append_line(report, "error fence " + std::string(fence_file.error().message()));
    return 2;
  }
  return rt.block_on([&]() -> task<int> {
    auto m = mutex::make(*opened, name).value();
    auto held = co_await m.lock(context{});
    if (!held) {
      append_line(report, "error lock " + std::string(held.error().message()));
      co_return 2;
    }
    const std::uint64_t token = held->token();
    append_line(report, "held " + std::to_string(token));
    for (int round = 0; round < 100000; ++round) {
      if (held->is_lost()) {
        append_line(report, "lost " + held->lost_reason());
        // Once the parent says a newer holder has written, try one stale
        // write on purpose: the fence must refuse it.
        for (int i = 0; i < 3000 && ::access((report + ".go").c_str(), F_OK) != 0; ++i) co_await sleep_for(20ms);
        auto stale = fence_file->guarded(token, [&]() -> result<void> {
          append_line(report + ".data", "stale write " + std::to_string(token));
          return {};
        });
        append_line(report, stale ? "stale-accepted " + std::to_string(token) : "rejected " + std::to_string(token));
        co_return 0;
      }
      // The parent asks for a pause by file: the child stops itself here,
      // outside the fence's critical section (a holder frozen while inside
      // file_fence would block the fence file itself).
      if (::unlink((report + ".stop").c_str()) == 0) ::raise(SIGSTOP);
      auto wrote = fence_file->guarded(token, [&]() -> result<void> {
        append_line(report + ".data", "write " + std::to_string(token));
        return {};
      });
      if (!wrote) append_line(report, "rejected-before-lost " + std::to_string(token));
      co_await sleep_for(20ms);
    }
    co_return 3;
  }());
}


// ---- the parent side ----

struct child_process {
  pid_t pid = -1;
  std::string report;

  std::string fence;

  ~child_process() {
    if (pid > 0) {
      ::kill(pid, SIGCONT);
      ::kill(pid, SIGKILL);
      int status = 0;
      ::waitpid(pid, &status, 0);
    }
    for (const auto& file : {report, report + ".data", report + ".go", report + ".stop", fence}) {
      if (!file.empty()) ::unlink(file.c_str());
    }
  }
  // Waits (up to `limit`) for a line starting with `prefix` in the report.
  std::string wait_for(const std::string& prefix, std::chrono::milliseconds limit) const {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      std::istringstream lines(read_file(report));
      for (std::string line; std::getline(lines, line);) {
        if (line.rfind(prefix, 0) == 0) return line;
        if (line.rfind("error", 0) == 0) return line;
      }
      std::this_thread::sleep_for(20ms);
    }
    return {};
  }
  // SIGSTOP, taken by the child itself between two fenced writes.
  bool pause(std::chrono::milliseconds limit) const {
    append_line(report + ".stop", "stop");
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
      const auto close = stat.rfind(')');
      if (close != std::string::npos && close + 2 < stat.size() && stat[close + 2] == 'T') return true;
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }
  int wait_exit(std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        pid = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(20ms);
    }
    return -1;
  }
};

std::unique_ptr<child_process> spawn_holder(const std::string& uri, const std::string& name,
                                            const std::string& fence_path) {
  auto child = std::make_unique<child_process>();
  child->report = fence_path + ".report";
  child->fence = fence_path;
  std::vector<std::string> env_text;
  for (char** e = environ; *e != nullptr; ++e) env_text.emplace_back(*e);
  env_text.push_back("WEFT_ZK_FAULT_CHILD=hold");
  env_text.push_back("WEFT_ZK_FAULT_URI=" + uri);
  env_text.push_back("WEFT_ZK_FAULT_NAME=" + name);
  env_text.push_back("WEFT_ZK_FAULT_REPORT=" + child->report);
  env_text.push_back("WEFT_ZK_FAULT_FENCE=" + fence_path);
  std::vector<char*> envp;
  for (auto& s : env_text) envp.push_back(s.data());
  envp.push_back(nullptr);
  char self[] = "/proc/self/exe";
  char* argv[] = {self, nullptr};
  if (::posix_spawn(&child->pid, "/proc/self/exe", nullptr, nullptr, argv, envp.data()) != 0) {
    ADD_FAILURE() << "posix_spawn failed";
    child->pid = -1;
  }
  return child;
}

std::string temp_path(const std::string& stem) {
  const char* dir = std::getenv("TMPDIR");
  return std::string(dir && *dir ? dir : "/tmp") + "/" + unique_name(stem);
}

std::uint64_t token_of(const std::string& line) {
  const auto space = line.find(' ');
  return space == std::string::npos ? 0 : std::stoull(line.substr(space + 1));
}

runtime_options two_workers() {
  runtime_options options;
  options.workers = 2;
  return options;
}

// ---- the ensemble ----

std::string control(const std::string& args) {
  const std::string script = testing::required_env("WEFT_TEST_ZK_CONTROL");
  const std::string dir = testing::required_env("WEFT_TEST_ZK_DIR");
  const std::string command =
      "bash " + script + " " + args.substr(0, args.find(' ')) + " " + dir +
      (args.find(' ') == std::string::npos ? "" : args.substr(args.find(' '))) + " 2>&1";
  std::string out;
  if (FILE* p = ::popen(command.c_str(), "r")) {
    char buffer[256];
    while (std::fgets(buffer, sizeof buffer, p)) out += buffer;
    const int status = ::pclose(p);
    if (status != 0) ADD_FAILURE() << command << " failed: " << out;
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

std::vector<std::string> ensemble_ports() {
  std::istringstream in(testing::required_env("WEFT_TEST_ZK_PORTS"));
  std::vector<std::string> out;
  for (std::string p; in >> p;) out.push_back(p);
  return out;
}

// The ensemble's chroot path (as "/weft-test").
std::string ensemble_root() {
  const std::string base = testing::required_env("WEFT_TEST_ZK_ENSEMBLE");
  return base.substr(base.find('/', base.find("://") + 3));
}

std::string ensemble_uri_for(const std::vector<std::string>& ports, const std::string& query) {
  std::string hosts;
  for (const auto& p : ports) hosts += (hosts.empty() ? "" : ",") + std::string("127.0.0.1:") + p;
  return "zk://" + hosts + ensemble_root() + "?" + query;
}

bool iptables_usable() {
  return std::system("iptables -w -L INPUT -n >/dev/null 2>&1") == 0;
}

// An iptables rule a test inserted: lift() deletes it (and checks that it
// could), the destructor at the latest.
struct iptables_rule_guard {
  std::string rule;
  bool active = true;
  void lift() {
    if (active) {
      EXPECT_EQ(std::system(("iptables -w -D " + rule).c_str()), 0);
    }
    active = false;
  }
  ~iptables_rule_guard() {
    if (active) (void)!std::system(("iptables -w -D " + rule + " 2>/dev/null").c_str());
  }
};

// Removes the one node under `dir` as another client (the observer), checking
// there was exactly one.
task<void> remove_only_child(session& observer, std::string dir) {
  reply kids = co_await observer.get_children(dir);
  EXPECT_TRUE(kids.ok() && kids.children.size() == 1u) << zerror(kids.rc);
  if (kids.ok() && !kids.children.empty()) {
    reply gone = co_await observer.remove(dir + "/" + kids.children.front());
    EXPECT_TRUE(gone.ok()) << zerror(gone.rc);
  }
}

// Waits (at most `bound`) for `held` to be lost, and expects it lost because
// its node was deleted.
task<void> expect_lost_by_deletion_within(const lease& held, clock::duration bound,
                                          const char* not_fired) {
  (void)co_await lost_within(held, bound);
  EXPECT_TRUE(held.is_lost()) << not_fired;
  expect_deleted_reason(held);
}

// What the tests open: a runtime for this process's clients, a holder in a
// child process, the victim and observer clients of the ensemble.
class zk_fault : public ::testing::Test {
 protected:
  // A child process that holds `name` on `uri` and writes through a fresh
  // fence file named after `stem`; the token it reports.
  void spawn_holding_child(const std::string& uri, const std::string& name,
                           const std::string& stem) {
    fence_path = temp_path(stem);
    child = spawn_holder(uri, name, fence_path);
    const std::string held = child->wait_for("held", 20s);
    ASSERT_EQ(held.rfind("held", 0), 0u) << "child: " << held;
    child_token = token_of(held);
  }

  // After the child lost its lease: it exits cleanly, having seen lost() and
  // had its stale write rejected by the fence.
  void expect_child_lost_and_fenced(std::chrono::milliseconds limit) {
    EXPECT_EQ(child->wait_exit(limit), 0) << read_file(child->report);
    const std::string report = read_file(child->report);
    EXPECT_NE(report.find("\nlost "), std::string::npos)
        << "lost() never fired in the child holder:\n"
        << report;
    EXPECT_NE(report.find("\nrejected "), std::string::npos)
        << "the child holder's stale write was not rejected by the fence:\n"
        << report;
    EXPECT_EQ(report.find("stale-accepted"), std::string::npos) << report;
  }

  // The victim talks only to member 1, the observer only to members 2 and 3.
  void open_victim_and_observer(const std::vector<std::string>& ports, const std::string& query) {
    victim = open_or_fail(ensemble_uri_for({ports[0]}, query));
    observer = open_or_fail(ensemble_uri_for({ports[1], ports[2]}, query));
    ASSERT_NE(victim, nullptr);
    ASSERT_NE(observer, nullptr);
    victim_session = session_of(victim);
    observer_session = session_of(observer);
  }

  std::string fence_path;
  std::unique_ptr<child_process> child;
  std::uint64_t child_token = 0;
  runtime rt{two_workers()};
  std::shared_ptr<store> victim;
  std::shared_ptr<store> observer;
  std::shared_ptr<session> victim_session;
  std::shared_ptr<session> observer_session;
};

TEST_F(zk_fault, killed_holder_frees_the_lock_when_its_session_expires) {
  const std::string uri = testing::standalone_uri("session_timeout=2s");
  const std::string name = unique_name("kill9");
  ASSERT_NO_FATAL_FAILURE(spawn_holding_child(uri, name, "kill9-fence"));

  auto store = open_or_fail(uri);
  ASSERT_NE(store, nullptr);
  auto m = mutex::make(store, name).value();
  ::kill(child->pid, SIGKILL);
  const auto killed_at = std::chrono::steady_clock::now();
  auto got = rt.block_on(acquire_within(20s, [&](const context& ctx) { return m.lock(ctx); }));
  const auto waited = std::chrono::steady_clock::now() - killed_at;
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_GT(got->token(), child_token);
  std::printf("[ info ] next waiter got the lock %lld ms after kill -9 (session timeout 2 s)\n",
              static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(waited).count()));
  rt.block_on([&]() -> task<void> { (void)co_await got->release(); }());
}

TEST_F(zk_fault, paused_holder_loses_its_lease_and_the_fence_rejects_its_stale_write) {
  const std::string uri = testing::standalone_uri("session_timeout=2s");
  const std::string name = unique_name("pause");
  ASSERT_NO_FATAL_FAILURE(spawn_holding_child(uri, name, "pause-fence"));

  ASSERT_TRUE(child->pause(10s)) << "the holder did not stop";
  auto store = open_or_fail(uri);
  ASSERT_NE(store, nullptr);
  auto m = mutex::make(store, name).value();
  auto got = rt.block_on(acquire_within(20s, [&](const context& ctx) { return m.lock(ctx); }));
  ASSERT_TRUE(got) << got.error().message();
  EXPECT_GT(got->token(), child_token);
  // The new holder writes through the fence: the high-water mark moves up.
  auto fence_file = file_fence::open(fence_path);
  ASSERT_TRUE(fence_file);
  ASSERT_TRUE(fence_file->admit(got->token()));
  append_line(child->report + ".go", "go");

  ::kill(child->pid, SIGCONT);
  expect_child_lost_and_fenced(20s);
  auto highest = fence_file->highest();
  ASSERT_TRUE(highest);
  EXPECT_EQ(*highest, got->token());
  rt.block_on([&]() -> task<void> { (void)co_await got->release(); }());
}

TEST_F(zk_fault, killing_the_ensemble_leader_never_makes_two_holders_and_work_resumes) {
  auto ports = ensemble_ports();
  ASSERT_EQ(ports.size(), 3u);
  const std::string uri = ensemble_uri_for(ports, "session_timeout=4s&connect_timeout=30s");
  const std::string name = unique_name("leader-kill");
  std::vector<std::shared_ptr<store>> stores;
  for (int i = 0; i < 4; ++i) {
    stores.push_back(open_or_fail(uri));
    ASSERT_NE(stores.back(), nullptr);
  }

  std::mutex holders_mutex;
  std::vector<std::shared_ptr<lease_state>> inside;  // current holders
  std::atomic<int> double_holders{0}, errors{0}, before{0}, after{0}, lost{0};
  std::atomic<bool> killed{false}, stop{false};
  std::string last_error;
  fence guard;

  const std::string leader = control("leader");
  ASSERT_FALSE(leader.empty());
  rt.block_on([&]() -> task<void> {
    std::vector<join_handle<void>> workers;
    for (std::size_t w = 0; w < stores.size(); ++w) {
      workers.push_back(go([&, w]() -> task<void> {
        auto m = mutex::make(stores[w], name).value();
        while (!stop.load()) {
          auto held = co_await acquire_within(30s, [&](const context& ctx) { return m.lock(ctx); });
          if (!held) {
            errors.fetch_add(1);
            std::lock_guard lock(holders_mutex);
            last_error = std::string(held.error().message());
            co_await sleep_for(100ms);
            continue;
          }
          {
            std::lock_guard lock(holders_mutex);
            // Anyone else still inside must have been told it lost the lease.
            for (const auto& other : inside) {
              if (!other->is_lost()) double_holders.fetch_add(1);
            }
            inside.push_back(held->state());
          }
          (void)guard.admit(held->token());
          (killed.load() ? after : before).fetch_add(1);
          co_await sleep_for(20ms);
          if (held->is_lost()) lost.fetch_add(1);
          {
            std::lock_guard lock(holders_mutex);
            std::erase(inside, held->state());
          }
          (void)co_await held->release();
        }
      }));
    }
    co_await sleep_for(2s);
    control("kill " + leader);
    killed = true;
    const auto killed_at = clock::now();
    // Work must resume after the election: wait for 20 grants after the kill.
    while (after.load() < 20 && clock::now() - killed_at < 40s) co_await sleep_for(50ms);
    stop = true;
    for (auto& h : workers) co_await std::move(h);
  }());
  control("restart " + leader);
  control("wait");
  EXPECT_EQ(double_holders.load(), 0);
  EXPECT_GT(before.load(), 0);
  EXPECT_GE(after.load(), 20) << "work did not resume after the leader was killed; last error: " << last_error;
  EXPECT_EQ(errors.load(), 0) << last_error;
  std::printf("[ info ] leader %s killed: %d grants before, %d after, %d leases lost, %llu stale writes fenced\n",
              leader.c_str(), before.load(), after.load(), lost.load(),
              static_cast<unsigned long long>(guard.rejected()));
}

TEST_F(zk_fault, a_client_cut_off_from_the_ensemble_loses_its_lease_while_others_go_on) {
  auto ports = ensemble_ports();
  ASSERT_EQ(ports.size(), 3u);
  // The victim talks only to member 1; everyone else only to members 2 and 3.
  const std::string victim_uri = ensemble_uri_for({ports[0]}, "session_timeout=3s");
  const std::string others_uri = ensemble_uri_for({ports[1], ports[2]}, "session_timeout=3s&connect_timeout=30s");
  const std::string name = unique_name("cutoff");
  ASSERT_NO_FATAL_FAILURE(spawn_holding_child(victim_uri, name, "cutoff-fence"));

  // Cut the victim off: drop every packet to member 1's client port (the
  // ensemble's own traffic uses other ports), or freeze it without iptables.
  const bool use_iptables = iptables_usable();
  const std::string rule = "INPUT -p tcp -i lo --dport " + ports[0] + " -j DROP";
  if (use_iptables) {
    ASSERT_EQ(std::system(("iptables -w -I " + rule).c_str()), 0);
  } else {
    ASSERT_TRUE(child->pause(10s)) << "the victim did not stop";
  }
  struct restore {
    bool iptables;
    std::string rule;
    pid_t pid;
    ~restore() {
      if (iptables) (void)!std::system(("iptables -w -D " + rule + " 2>/dev/null").c_str());
      else if (pid > 0) ::kill(pid, SIGCONT);
    }
  } restore_guard{use_iptables, rule, child->pid};

  std::vector<std::shared_ptr<store>> stores{open_or_fail(others_uri), open_or_fail(others_uri)};
  ASSERT_NE(stores[0], nullptr);
  ASSERT_NE(stores[1], nullptr);
  std::atomic<int> grants{0};
  std::atomic<std::uint64_t> lowest{~0ull};
  rt.block_on([&]() -> task<void> {
    std::vector<join_handle<void>> workers;
    for (auto& s : stores) {
      workers.push_back(go([&, s]() -> task<void> {
        auto m = mutex::make(s, name).value();
        for (int i = 0; i < 5; ++i) {
          auto l = co_await acquire_within(30s, [&](const context& ctx) { return m.lock(ctx); });
          EXPECT_TRUE(l) << (l ? "" : std::string(l.error().message()));
          if (!l) co_return;
          std::uint64_t seen = lowest.load();
          while (l->token() < seen && !lowest.compare_exchange_weak(seen, l->token())) {
          }
          grants.fetch_add(1);
          co_await sleep_for(10ms);
          (void)co_await l->release();
        }
      }));
    }
    for (auto& h : workers) co_await std::move(h);
  }());
  EXPECT_EQ(grants.load(), 10) << "the others did not go on";
  EXPECT_GT(lowest.load(), child_token);
  {
    auto fence_file = file_fence::open(fence_path);
    ASSERT_TRUE(fence_file);
    ASSERT_TRUE(fence_file->admit(lowest.load()));
    append_line(child->report + ".go", "go");
  }

  // Reconnect the victim: it must report the loss and stop.
  if (use_iptables) {
    restore_guard.iptables = false;
    restore_guard.pid = -1;
    EXPECT_EQ(std::system(("iptables -w -D " + rule).c_str()), 0);
  } else {
    ::kill(child->pid, SIGCONT);
    restore_guard.pid = -1;
  }
  expect_child_lost_and_fenced(30s);
  std::printf("[ info ] victim cut off with %s\n", use_iptables ? "iptables" : "SIGSTOP");
}

// Protected mode, driven for real: the server applies the create, but its
// answer is lost with the connection (iptables drops everything member 1
// sends to clients, while the client's requests still reach it, so the
// session stays alive). After the reconnection the waiter must adopt the node
// it created, not create a second one that would sit in the queue as an
// orphan of a live session.
TEST_F(zk_fault,
       a_create_whose_answer_is_lost_with_the_connection_adopts_its_node_and_leaves_no_orphan) {
  ASSERT_TRUE(iptables_usable()) << "this test drops loopback traffic with iptables: run it as root "
                                    "(scripts/bootstrap.sh installs iptables)";
  auto ports = ensemble_ports();
  ASSERT_EQ(ports.size(), 3u);
  const std::string name = unique_name("protected");
  const std::string dir = ensemble_root() + "/mutex/" + name;

  ASSERT_NO_FATAL_FAILURE(
      open_victim_and_observer(ports, "session_timeout=8s&connect_timeout=40s"));
  auto m = mutex::make(victim, name).value();
  // Connected, and the directory exists: the next create is one request.
  rt.block_on([&]() -> task<void> {
    auto warm = co_await m.lock(context{});
    EXPECT_TRUE(warm) << (warm ? "" : std::string(warm.error().message()));
    if (warm) (void)co_await warm->release();
  }());
  const std::int64_t session_before = victim_session->session_id();
  ASSERT_NE(session_before, 0);

  // Everything member 1's client port sends is dropped: answers and TCP ACKs.
  const std::string rule = "INPUT -p tcp -i lo --sport " + ports[0] + " -j DROP";
  ASSERT_EQ(std::system(("iptables -w -I " + rule).c_str()), 0);
  iptables_rule_guard restore_guard{rule};

  std::string landed;        // the node the server created for the lost create
  bool saw_disconnect = false;
  auto got = rt.block_on([&]() -> task<result<lease>> {
    auto pending = go(acquire_within(60s, [&](const context& ctx) { return m.lock(ctx); }));
    // The create lands on the server (seen from another member)...
    for (int i = 0; i < 1000 && landed.empty(); ++i) {
      reply kids = co_await observer_session->get_children(dir);
      if (kids.ok() && !kids.children.empty())
        landed = kids.children.front();
      else
        co_await sleep_for(10ms);
    }
    // ...and the victim gives up on the connection without its answer.
    for (int i = 0; i < 3000 && !saw_disconnect; ++i) {
      saw_disconnect = victim_session->state() != connection_state::connected;
      if (!saw_disconnect) co_await sleep_for(10ms);
    }
    restore_guard.lift();
    co_return co_await std::move(pending);
  }());
  restore_guard.lift();
  ASSERT_FALSE(landed.empty()) << "the create never reached the server";
  ASSERT_TRUE(saw_disconnect) << "the client never noticed the lost connection";
  ASSERT_TRUE(got) << got.error().message();
  // The same session throughout: the node was adopted, not replaced by expiry.
  EXPECT_EQ(victim_session->session_id(), session_before) << "the session expired: protected mode was not exercised";

  rt.block_on([&]() -> task<void> {
    // The victim's own session sees its own writes: no follower lag here.
    reply kids = co_await victim_session->get_children(dir);
    EXPECT_TRUE(kids.ok()) << zerror(kids.rc);
    EXPECT_EQ(kids.children, std::vector<std::string>{landed}) << "an orphan was left in the queue";
    reply st = co_await victim_session->exists(dir + "/" + landed);
    EXPECT_TRUE(st.ok()) << zerror(st.rc);
    EXPECT_EQ(got->token(), static_cast<std::uint64_t>(st.stat.czxid)) << "the lease is not on the adopted node";
    EXPECT_EQ(st.stat.ephemeralOwner, session_before);

    // The lock works: release empties the queue, and another client gets it.
    EXPECT_TRUE(co_await got->release());
    reply after = co_await victim_session->get_children(dir);
    EXPECT_TRUE(after.ok() && after.children.empty()) << after.children.size() << " node(s) left after release";
    auto other = co_await acquire_within(
        30s, [&](const context& ctx) { return mutex::make(observer, name).value().lock(ctx); });
    if (granted_with_newer_token(other, *got)) {
      (void)co_await other->release();
    }
  }());
}

// The holder watch across a reconnection within the session: while the
// holder is disconnected, another client deletes its node; ZooKeeper cannot
// notify it then, but the C client re-registers its watches when it
// reconnects (SetWatches with the last zxid it saw) and the server reports
// the deletion at once, so lost() fires with the deletion as its reason, not
// later by the 2/3 rule. A second lease of the same session, whose node is
// deleted after the reconnection, shows the watch is still armed. A third
// lease, taken just before the cut with a long holder-watch delay so its
// watch is not armed yet, is deleted meanwhile too: its watch is sent after
// the reconnection, answers ZNONODE, and lost() fires then (arming late
// misses nothing).
TEST_F(zk_fault, a_node_deleted_while_its_holder_is_disconnected_fires_lost_on_reconnection) {
  ASSERT_TRUE(iptables_usable()) << "this test resets loopback connections with iptables: run it as root "
                                    "(scripts/bootstrap.sh installs iptables)";
  auto ports = ensemble_ports();
  ASSERT_EQ(ports.size(), 3u);
  const std::string name = unique_name("watch-reconnect");
  const std::string root = ensemble_root();

  // 20 s: the 2/3 rule (13 s) stays far from the few seconds this takes.
  ASSERT_NO_FATAL_FAILURE(
      open_victim_and_observer(ports, "session_timeout=20s&connect_timeout=40s"));
  auto first = rt.block_on(mutex::make(victim, name + "-a").value().lock(context{}));
  auto second = rt.block_on(mutex::make(victim, name + "-b").value().lock(context{}));
  ASSERT_TRUE(first) << first.error().message();
  ASSERT_TRUE(second) << second.error().message();
  const std::int64_t session_before = victim_session->session_id();
  // Both holder watches armed (holder_watch_delay() after each create).
  for (int i = 0; i < 1000 && victim_session->armed_node_watch_count() != 2; ++i) std::this_thread::sleep_for(5ms);
  ASSERT_EQ(victim_session->armed_node_watch_count(), 2u) << "the holder watches were never armed";
  victim_session->set_holder_watch_delay_for_testing(5s);
  auto third = rt.block_on(mutex::make(victim, name + "-c").value().lock(context{}));
  ASSERT_TRUE(third) << third.error().message();

  // Every packet the victim sends to member 1 is answered with a reset: its
  // connection breaks at once and it cannot reconnect until the rule goes.
  const std::string rule = "INPUT -p tcp -i lo --dport " + ports[0] + " -j REJECT --reject-with tcp-reset";
  ASSERT_EQ(std::system(("iptables -w -I " + rule).c_str()), 0);
  iptables_rule_guard restore_guard{rule};

  bool saw_disconnect = false;
  rt.block_on([&]() -> task<void> {
    // A request makes the victim hit the reset now rather than at its next ping.
    (void)co_await victim_session->exists("/");
    for (int i = 0; i < 1000 && !saw_disconnect; ++i) {
      saw_disconnect = victim_session->state() != connection_state::connected;
      if (!saw_disconnect) co_await sleep_for(10ms);
    }
    // Another client deletes the first lease's node meanwhile.
    co_await remove_only_child(*observer_session, root + "/mutex/" + name + "-a");
    // And the third one's, whose watch is not armed yet.
    EXPECT_EQ(victim_session->armed_node_watch_count(), 2u) << "the third lease's watch was armed before the cut";
    co_await remove_only_child(*observer_session, root + "/mutex/" + name + "-c");
    co_await sleep_for(300ms);
    // Cut off, the holder cannot know yet (and the 2/3 rule is seconds away).
    EXPECT_FALSE(first->is_lost()) << first->lost_reason();
    EXPECT_FALSE(third->is_lost()) << third->lost_reason();
  }());
  ASSERT_TRUE(saw_disconnect) << "the victim never noticed the reset connection";
  restore_guard.lift();

  rt.block_on([&]() -> task<void> {
    co_await expect_lost_by_deletion_within(*first, 10s,
                                            "lost() did not fire after the reconnection");
    EXPECT_EQ(victim_session->session_id(), session_before) << "the session expired: not a reconnection";
    EXPECT_FALSE(second->is_lost()) << second->lost_reason();

    // The second lease's watch survived the reconnection.
    co_await remove_only_child(*observer_session, root + "/mutex/" + name + "-b");
    co_await expect_lost_by_deletion_within(
        *second, 5s, "the watch was not re-registered after the reconnection");

    // The third lease's watch is sent once its delay has passed, connected.
    co_await expect_lost_by_deletion_within(
        *third, 20s, "lost() did not fire for the node deleted before its watch was armed");
    EXPECT_EQ(victim_session->session_id(), session_before) << "the session expired: not a reconnection";

    // Another client takes the first lock with a newer token.
    auto next = co_await acquire_within(30s, [&](const context& ctx) {
      return mutex::make(observer, name + "-a").value().lock(ctx);
    });
    if (granted_with_newer_token(next, *first)) {
      (void)co_await next->release();
    }
    (void)co_await first->release();
    (void)co_await second->release();
    (void)co_await third->release();
  }());
}

}  // namespace
}  // namespace weft::lock::zk

int main(int argc, char** argv) {
  if (weft::lock::zk::env_or_empty("WEFT_ZK_FAULT_CHILD") == "hold") return weft::lock::zk::run_holder_child();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
