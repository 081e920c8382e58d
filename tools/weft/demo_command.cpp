// `weft demo`: the main job. Shows the whole toolkit working in under a
// minute and exits non-zero if any check fails:
//   1. goroutines and channels: a fan-out/fan-in pipeline over many tasks;
//   2. mutual exclusion across processes with `weft lock`, and the lost
//      updates of the same run without it;
//   3. a crashed holder (SIGKILL) and a paused holder (SIGSTOP past its TTL,
//      stopped by the fence);
//   4. leader election with failover;
//   5. resharding with weft::ring.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "demo_processes.hpp"
#include "demo_steps.hpp"
#include "commands.hpp"
#include "held_command.hpp"
#include "operator_support.hpp"

namespace weft::cli {
namespace {

using namespace std::chrono_literals;
using demo::process;
using steady = std::chrono::steady_clock;

struct demo_options {
  std::string store;
  bool keep = false;
};

using demo::reporter;

long long ms_since(steady::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t).count();
}

std::vector<std::uint64_t> read_tokens(const std::string& path) {
  std::vector<std::uint64_t> tokens;
  std::istringstream in(demo::read_file(path));
  std::uint64_t t = 0;
  while (in >> t) tokens.push_back(t);
  return tokens;
}

struct demo_context {
  std::string self;
  std::string store;
  std::string dir;      // scratch files
  std::string prefix;   // lock names, unique per run
  std::string log;      // where children write
  std::vector<std::string> lock_argv(const std::string& name, std::vector<std::string> extra,
                                     std::vector<std::string> command) const {
    // The store reaches the children through WEFT_STORE (run_demo sets it):
    // a password in an argv would be readable by every user of the host.
    std::vector<std::string> argv = {self, "lock"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(prefix + name);
    argv.push_back("--");
    argv.push_back(self);
    argv.push_back("demo-worker");
    argv.insert(argv.end(), command.begin(), command.end());
    return argv;
  }
};

// 2. Several processes increment one counter file, with and without the lock.
void step_mutual_exclusion(const demo_context& c, reporter& r) {
  r.section(2, "Mutual exclusion: worker processes increment one counter file under `weft lock`");
  constexpr int workers = 4;
  constexpr int rounds = 15;
  const std::string counter = c.dir + "/counter";
  auto run = [&](bool locked) {
    std::filesystem::remove(counter);
    std::filesystem::remove(counter + ".tokens");
    // Each worker is a shell-free loop: the demo spawns the rounds itself.
    std::vector<process> running;
    auto t0 = steady::now();
    int failed_starts = 0;
    for (int round = 0; round < rounds; ++round) {
      for (int w = 0; w < workers; ++w) {
        std::vector<std::string> work = {"increment", counter, "2000"};
        std::vector<std::string> argv;
        if (locked) {
          argv = c.lock_argv("counter", {"--wait", "30s"}, work);
        } else {
          argv = {c.self, "demo-worker"};
          argv.insert(argv.end(), work.begin(), work.end());
        }
        auto p = process::start(argv, c.log);
        if (!p) ++failed_starts;
        else running.push_back(std::move(*p));
      }
      // Keep every worker busy: wait for this round before the next, so
      // `workers` processes contend at every moment.
      for (auto& p : running) {
        if (p.wait() != 0) ++failed_starts;
      }
      running.clear();
    }
    long long value = std::atoll(demo::read_file(counter).c_str());
    return std::make_tuple(value, ms_since(t0), failed_starts);
  };
  r.progress(fmt::format("{} rounds of {} contending `weft lock` processes", rounds, workers));
  auto [locked_total, locked_ms, locked_failures] = run(true);
  const long long expected = static_cast<long long>(workers) * rounds;
  r.check(locked_failures == 0 && locked_total == expected,
          fmt::format("with the lock: counter = {} of {} ({} ms)", locked_total, expected,
                      locked_ms));
  auto tokens = read_tokens(counter + ".tokens");
  bool increasing = tokens.size() == static_cast<std::size_t>(expected) &&
                    std::adjacent_find(tokens.begin(), tokens.end(),
                                       [](auto a, auto b) { return b <= a; }) == tokens.end();
  r.check(increasing, fmt::format("fencing tokens strictly increase in write order ({} tokens, {} .. {})",
                                  tokens.size(), tokens.empty() ? 0 : tokens.front(),
                                  tokens.empty() ? 0 : tokens.back()));
  r.progress("the same workers without the lock");
  auto [free_total, free_ms, free_failures] = run(false);
  r.check(free_failures == 0 && free_total < expected,
          fmt::format("without the lock: counter = {} of {}: {} updates lost ({} ms)", free_total,
                      expected, expected - free_total, free_ms));
}

// 3a. A holder is killed; a waiter goes on at once.
void step_crashed_holder(const demo_context& c, reporter& r) {
  r.section(3, "Failures: a crashed holder and a paused holder");
  const std::string held = c.dir + "/crash.holder";
  const std::string next = c.dir + "/crash.next";
  auto holder = process::start(c.lock_argv("crash", {"--ttl", "10s"}, {"hold", held, "60"}), c.log);
  bool holding = holder && demo::wait_until([&] { return demo::file_exists(held); }, 10s);
  r.check(holding, "holder A runs under the lock (TTL 10s)");
  auto waiter =
      process::start(c.lock_argv("crash", {"--wait", "20s"}, {"hold", next, "0"}), c.log);
  std::this_thread::sleep_for(200ms);
  bool still_waiting = !demo::file_exists(next);
  auto killed_at = steady::now();
  if (holder) holder->signal(SIGKILL);
  bool took_over = waiter && demo::wait_until([&] { return demo::file_exists(next); }, 15s);
  long long takeover_ms = ms_since(killed_at);
  r.check(still_waiting && took_over && takeover_ms < 10'000,
          fmt::format("A killed with SIGKILL; waiter B took the lock {} ms later (TTL was 10s)",
                      takeover_ms));
  if (waiter) waiter->wait_for(5s);

  // 3b. A holder is paused past its TTL; its stale write hits the fence.
  const std::string fence = c.dir + "/resource.fence";
  const std::string resource = c.dir + "/resource";
  auto paused = process::start(
      c.lock_argv("pause", {"--ttl", "1s", "--grace", "2s"},
                  {"fenced-write", fence, resource, "from-A", "pause"}),
      c.log);
  bool frozen =
      paused && demo::wait_until([&] { return demo::file_exists(resource + ".paused"); }, 10s);
  pid_t child = static_cast<pid_t>(std::atoi(demo::read_file(resource + ".paused").c_str()));
  if (paused) paused->signal(SIGSTOP);  // the whole holder freezes: no renewal either
  r.check(frozen && child > 0, "holder A froze (SIGSTOP) in the middle of its write, TTL 1s");
  auto t0 = steady::now();
  auto second = process::start(
      c.lock_argv("pause", {"--wait", "20s"}, {"fenced-write", fence, resource, "from-B"}), c.log);
  int second_status = second ? second->wait_for(20s).value_or(-1) : -1;
  r.check(second_status == 0,
          fmt::format("holder B got the lock once A's lease ran out ({} ms) and wrote", ms_since(t0)));
  if (child > 0) ::kill(child, SIGCONT);  // A's write was already in flight
  bool rejected =
      demo::wait_until([&] { return demo::file_exists(resource + ".rejected"); }, 10s);
  if (paused) paused->signal(SIGCONT);
  int paused_status = paused ? paused->wait_for(15s).value_or(-1) : -1;
  std::string final_value = demo::read_file(resource);
  r.check(rejected && final_value.rfind("from-B", 0) == 0,
          fmt::format("A resumed and tried its stale write: the fence rejected it (resource: '{}')",
                      final_value));
  r.note(fmt::format("A's `weft lock` exited with {} (3: the write was fenced, 76: lease lost)",
                     paused_status));
}

// 4. Three candidates; the leader is killed; another takes over.
void step_election(const demo_context& c, reporter& r) {
  r.section(4, "Leader election: three `weft elect` processes, the leader is killed");
  const std::string marker = c.dir + "/leader";
  std::vector<process> candidates;
  for (int i = 0; i < 3; ++i) {
    auto p = process::start({c.self, "elect", "--ttl", "10s", "--value",
                             fmt::format("node-{}", i), c.prefix + "leader", "--", c.self,
                             "demo-worker", "lead", marker, fmt::format("node-{}", i)},
                            c.log);
    if (p) candidates.push_back(std::move(*p));
  }
  bool elected = demo::wait_until([&] { return demo::file_exists(marker); }, 10s);
  std::string first = demo::read_file(marker);
  std::string first_value = first.substr(0, first.find(' '));
  r.check(candidates.size() == 3 && elected, fmt::format("leader elected: {}", first_value));
  int index = first_value.empty() ? -1 : first_value.back() - '0';
  auto killed_at = steady::now();
  if (index >= 0 && index < static_cast<int>(candidates.size())) candidates[index].signal(SIGKILL);
  std::string second;
  bool failover = demo::wait_until(
      [&] {
        second = demo::read_file(marker);
        return !second.empty() && second.substr(0, second.find(' ')) != first_value;
      },
      15s);
  long long failover_ms = ms_since(killed_at);
  std::istringstream a(first), b(second);
  std::string va, vb;
  std::uint64_t ta = 0, tb = 0;
  a >> va >> ta;
  b >> vb >> tb;
  r.check(failover && tb > ta,
          fmt::format("{} killed; {} leads {} ms later, token {} > {}", va, vb, failover_ms, tb, ta));
  for (auto& p : candidates) p.signal(SIGTERM);
  for (auto& p : candidates) p.wait_for(5s);
}

int run_demo(const demo_options& o) {
  reporter r;
  char dir_template[] = "/tmp/weft-demo-XXXXXX";
  const char* made = ::mkdtemp(dir_template);
  if (made == nullptr) {
    print_command_error("demo", "cannot create a scratch directory under /tmp", "check that /tmp is writable");
    return operator_exit::software;
  }
  demo_context c;
  c.self = demo::self_path();
  c.dir = made;
  c.store = o.store.empty() ? "file://" + c.dir + "/store" : o.store;
  c.prefix = fmt::format("weft-demo-{}/", ::getpid());
  c.log = c.dir + "/children.log";
  // The worker processes (`weft lock`, `weft elect`) find the store here, not
  // in their argv, which any user can read (argv_secrets.hpp).
  ::setenv("WEFT_STORE", c.store.c_str(), 1);
  fmt::print("weft demo: store {}, scratch {}\n", strip_credentials(c.store), c.dir);

  demo::step_pipeline(r);
  if (c.store.rfind("mem://", 0) == 0) {
    // mem:// lives inside one process: the worker processes cannot share it.
    fmt::print("\n[2-4] skipped: {} is private to one process; steps 2-4 need a store that\n"
               "      processes share (file:///dir, redis://, zk://)\n",
               strip_credentials(c.store));
  } else {
    step_mutual_exclusion(c, r);
    step_crashed_holder(c, r);
    step_election(c, r);
  }
  demo::step_resharding(r);

  fmt::print("\n{} of {} checks passed in {:.1f} s{}\n", r.checks - r.failures, r.checks,
             static_cast<double>(ms_since(r.started)) / 1000.0,
             r.failures == 0 ? "" : fmt::format("; children's output: {}", c.log));
  if (r.failures == 0 && !o.keep) {
    std::error_code ignored;
    std::filesystem::remove_all(c.dir, ignored);
  }
  return r.failures == 0 ? 0 : 1;
}

}  // namespace

void register_demo_command(CLI::App& app) {
  auto o = std::make_shared<demo_options>();
  auto* sub = app.add_subcommand("demo", "Run the main demo: channels, locks, failures, election, ring");
  sub->footer(
      "Runs in under a minute on a temporary embedded store and exits 1 if any check fails.\n"
      "Example: weft demo --store mem://   (processes need a shared store: use file:// or a server)");
  sub->add_option("--store", o->store, "Store URI to run against (default: a temporary file store)");
  sub->add_flag("--keep", o->keep, "Keep the scratch directory");
  sub->callback([o] { set_exit_code(run_demo(*o)); });

  auto args = std::make_shared<std::vector<std::string>>();
  auto* worker = app.add_subcommand("demo-worker", "internal: a child process of weft demo");
  worker->group("");  // hidden from --help
  worker->add_option("args", *args, "mode and arguments");
  worker->callback([args] { set_exit_code(demo::run_worker(*args)); });
}

}  // namespace weft::cli
