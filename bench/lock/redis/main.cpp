// weft-bench-lock-redis HOST PORT [--rounds R] [--per-round N] [--seconds S] [--only CASE]
//
// Prints one line per measure, "name value unit", for scripts/bench-redis.sh.
// Uncontended cases run interleaved, R rounds of N acquire+release pairs each,
// so that load from elsewhere on the machine hits every case alike:
//   floor    two raw round trips with hiredis on one connection (SET NX PX, DEL)
//   naive    the seed's lock: SETNX + DEL (no expiry, no owner check)
//   scripts  weft's acquire and release functions called with raw hiredis (FCALL)
//   client   two round trips (SET NX PX, DEL) through weft's own Redis client
//   weft     redis:// mutex acquire + release (scripts, fencing token, lease)
// Contended cases: N clients (each its own store and connections) on one lock:
// throughput, hand-off latency from release() to the next grant, and Redis
// commands per acquisition from INFO commandstats.
//   --only processes [--clients N]: the same, but each client is its own
//   process with its own 1-worker runtime (as in issue 4's 8-process case), so
//   the hand-off does not wait for the other clients' work on a shared thread.
#include <hiredis/hiredis.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <vector>

#include "connection.hpp"
#include "scripts.hpp"
#include "weft/context.hpp"
#include "weft/go.hpp"
#include "weft/lock/store.hpp"
#include "weft/runtime.hpp"
#include "weft/sleep.hpp"

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
namespace redis_detail = weft::lock::redis_detail;

namespace {

struct stats {
  double median_us = 0;
  double p99_us = 0;
};

stats summarize(std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  if (samples.empty()) return {};
  return {samples[samples.size() / 2], samples[std::min(samples.size() - 1, samples.size() * 99 / 100)]};
}

double micros(steady::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

redisContext* connect_raw(const std::string& host, int port) {
  redisContext* c = redisConnect(host.c_str(), port);
  if (!c || c->err) {
    std::fprintf(stderr, "cannot connect to redis %s:%d\n", host.c_str(), port);
    std::exit(69);
  }
  return c;
}

void command_argv(redisContext* c, const std::vector<std::string>& words) {
  std::vector<const char*> pointers;
  std::vector<size_t> lengths;
  for (auto& a : words) {
    pointers.push_back(a.data());
    lengths.push_back(a.size());
  }
  auto* r = static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(words.size()), pointers.data(), lengths.data()));
  if (!r) {
    std::fprintf(stderr, "redis error: %s\n", c->errstr);
    std::exit(70);
  }
  if (r->type == REDIS_REPLY_ERROR) {
    std::fprintf(stderr, "redis error reply: %s\n", r->str);
    std::exit(70);
  }
  freeReplyObject(r);
}

// Loads weft's function library under the version "bench".
void load_library(redisContext* c) {
  std::string text = redis_detail::library_template;
  for (auto at = text.find("@V@"); at != std::string::npos; at = text.find("@V@", at)) text.replace(at, 3, "bench");
  command_argv(c, {"FUNCTION", "LOAD", "REPLACE", text});
}

std::map<std::string, long long> command_stats(const std::string& host, int port) {
  redisContext* c = connect_raw(host, port);
  auto* r = static_cast<redisReply*>(redisCommand(c, "INFO commandstats"));
  std::map<std::string, long long> out;
  if (r && r->type == REDIS_REPLY_STRING) {
    std::string text(r->str, r->len);
    std::size_t pos = 0;
    while ((pos = text.find("cmdstat_", pos)) != std::string::npos) {
      auto colon = text.find(':', pos);
      auto calls = text.find("calls=", colon);
      std::string name = text.substr(pos + 8, colon - pos - 8);
      out[name] = std::atoll(text.c_str() + calls + 6);
      pos = colon;
    }
  }
  if (r) freeReplyObject(r);
  redisFree(c);
  return out;
}

weft::lock::acquire_request request(const std::string& name) {
  weft::lock::acquire_request r;
  r.kind = weft::lock::recipe::mutex;
  r.name = name;
  r.options.ttl = 10s;
  return r;
}

// Hand-off between processes: every client is a forked process with its own
// runtime (1 worker) and store; they share only this mapping.
struct process_board {
  std::atomic<long long> released_at{0};  // steady ns when the last holder called release()
  std::atomic<long long> acquisitions{0};
  std::atomic<int> ready{0};
  std::atomic<int> start{0};
  std::atomic<int> stop{0};
  std::atomic<long long> sample_count{0};
  static constexpr long long capacity = 1 << 20;
  double samples[capacity];
};

int contended_processes(const std::string& uri, const std::string& host, int port, int clients, double seconds) {
  void* memory = mmap(nullptr, sizeof(process_board), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) {
    std::perror("mmap");
    return 71;
  }
  auto* board = new (memory) process_board;
  const std::string name = "bench-processes-" + std::to_string(clients);
  std::vector<pid_t> children;
  for (int i = 0; i < clients; ++i) {
    pid_t pid = fork();
    if (pid < 0) {
      std::perror("fork");
      return 71;
    }
    if (pid == 0) {
      int code = 0;
      {
        weft::runtime rt(weft::runtime_options{.workers = 1});
        auto store = weft::lock::open(uri);
        if (!store) _exit(69);
        rt.block_on([&]() -> weft::task<void> {
          auto held = co_await (*store)->acquire(request(name + "-warm"), weft::context::background());
          if (held) (void)co_await held->release();
          board->ready.fetch_add(1);
          while (board->start.load() == 0) co_await weft::sleep_for(100us);
          while (board->stop.load() == 0) {
            auto got = co_await (*store)->acquire(request(name), weft::context::background());
            if (!got) {
              std::fprintf(stderr, "acquire failed: %s\n", std::string(got.error().message()).c_str());
              code = 70;
              co_return;
            }
            auto now = steady::now().time_since_epoch().count();
            auto previous = board->released_at.exchange(0);
            if (previous != 0) {
              auto at = board->sample_count.fetch_add(1);
              if (at < process_board::capacity) board->samples[at] = static_cast<double>(now - previous) / 1000.0;
            }
            board->acquisitions.fetch_add(1);
            board->released_at.store(steady::now().time_since_epoch().count());
            (void)co_await got->release();
          }
        }());
      }
      std::fflush(stdout);
      _exit(code);
    }
    children.push_back(pid);
  }
  while (board->ready.load() < clients) std::this_thread::sleep_for(1ms);
  auto before = command_stats(host, port);
  auto started = steady::now();
  board->start.store(1);
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  board->stop.store(1);
  int failed = 0;
  for (pid_t pid : children) {
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) ++failed;
  }
  double elapsed = std::chrono::duration<double>(steady::now() - started).count();
  auto after = command_stats(host, port);
  if (failed) {
    std::fprintf(stderr, "%d client processes failed\n", failed);
    return 70;
  }
  long long sent = 0;
  for (auto& [cmd, calls] : after) {
    if (cmd == "fcall" || cmd == "evalsha" || cmd == "eval" || cmd == "ping" || cmd == "subscribe")
      sent += calls - (before.count(cmd) ? before[cmd] : 0);
  }
  const long long count = std::min(board->sample_count.load(), process_board::capacity);
  auto h = summarize(std::vector<double>(board->samples, board->samples + count));
  const long long n = board->acquisitions.load();
  std::printf("processes_%d_throughput %.0f acquisitions/s\n", clients, static_cast<double>(n) / elapsed);
  std::printf("processes_%d_handoff_median %.2f us\nprocesses_%d_handoff_p99 %.2f us\n", clients, h.median_us,
              clients, h.p99_us);
  std::printf("processes_%d_commands_sent %.2f per acquisition\n", clients,
              n ? static_cast<double>(sent) / static_cast<double>(n) : 0.0);
  munmap(memory, sizeof(process_board));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: weft-bench-lock-redis HOST PORT [--rounds R] [--per-round N] [--seconds S] [--only CASE]\n");
    return 64;
  }
  std::string host = argv[1];
  int port = std::atoi(argv[2]);
  int rounds = 20;
  int per_round = 500;
  double seconds = 3;
  std::string only;
  int clients_arg = 8;
  for (int i = 3; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--rounds")) rounds = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--per-round")) per_round = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--seconds")) seconds = std::atof(argv[i + 1]);
    if (!std::strcmp(argv[i], "--only")) only = argv[i + 1];
    if (!std::strcmp(argv[i], "--clients")) clients_arg = std::atoi(argv[i + 1]);
  }
  const std::string uri = "redis://" + host + ":" + std::to_string(port);
  // Forks before any runtime thread exists.
  if (only == "processes") return contended_processes(uri, host, port, clients_arg, seconds);
  int worker_count = std::getenv("WEFT_BENCH_WORKERS") ? std::atoi(std::getenv("WEFT_BENCH_WORKERS")) : 2;
  // Created only when a runtime case runs, so that the synchronous cases can
  // also be measured in a process without idle runtime threads (--only floor).
  std::unique_ptr<weft::runtime> runtime_holder;
  const bool needs_runtime = only.empty() || only == "client" || only == "weft" || only == "contended";
  if (needs_runtime)
    runtime_holder = std::make_unique<weft::runtime>(weft::runtime_options{.workers = static_cast<std::size_t>(worker_count)});
  weft::runtime* rt = runtime_holder.get();

  redisContext* raw = connect_raw(host, port);
  load_library(raw);
  std::vector<std::string> script_keys;
  script_keys.push_back("weft:lock:mutex:{bench-raw}:x");  // the scripts name the other keys after it
  const std::string owner = "0123456789abcdef0123456789abcdef|pid 1";

  redis_detail::connection_options client_options;
  client_options.where.host = host;
  client_options.where.port = port;
  auto client = redis_detail::connection::make(client_options);
  auto store = weft::lock::open(uri);
  if (!store) {
    std::fprintf(stderr, "%s\n", std::string(store.error().message()).c_str());
    return 69;
  }

  // One acquire+release pair of a synchronous (raw hiredis) case.
  auto sync_pair = [&](const std::string& name) {
    if (name == "floor") {
      command_argv(raw, {"SET", "weft:bench:raw", "1", "NX", "PX", "10000"});
      command_argv(raw, {"DEL", "weft:bench:raw"});
    } else if (name == "naive") {
      command_argv(raw, {"SETNX", "weft:bench:naive", "1"});
      command_argv(raw, {"DEL", "weft:bench:naive"});
    } else {
      std::vector<std::string> a{"FCALL", "weft_acquire_bench", "1"};
      a.insert(a.end(), script_keys.begin(), script_keys.end());
      for (const char* w : {"x", owner.c_str(), "10000", "1", "1", "1000", "0", "weft:wake:bench", "", "", "", "0",
                            "1000|||0|"})
        a.push_back(w);
      command_argv(raw, a);
      std::vector<std::string> r{"FCALL", "weft_release_bench", "1"};
      r.insert(r.end(), script_keys.begin(), script_keys.end());
      for (const char* w : {"x", owner.c_str(), "", ""}) r.push_back(w);
      command_argv(raw, r);
    }
  };
  const std::vector<std::string> sync_cases{"floor", "naive", "scripts"};
  std::map<std::string, std::vector<double>> samples;
  // The runtime cases time each pair inside the task.
  auto client_case = [&](int n) -> weft::task<std::vector<double>> {
    std::vector<double> out;
    for (int i = 0; i < n; ++i) {
      auto start = steady::now();
      std::vector<std::string> first{"SET", "weft:bench:client", "1", "NX", "PX", "10000"};
      (void)co_await client->call(std::move(first), weft::clock::now() + 2s);
      std::vector<std::string> second{"DEL", "weft:bench:client"};
      (void)co_await client->call(std::move(second), weft::clock::now() + 2s);
      out.push_back(micros(steady::now() - start));
    }
    co_return out;
  };
  auto weft_case = [&](int n) -> weft::task<std::vector<double>> {
    std::vector<double> out;
    for (int i = 0; i < n; ++i) {
      auto start = steady::now();
      auto held = co_await (*store)->acquire(request("bench-uncontended"), weft::context::background());
      if (!held) {
        std::fprintf(stderr, "acquire failed: %s\n", std::string(held.error().message()).c_str());
        std::exit(70);
      }
      (void)co_await held->release();
      out.push_back(micros(steady::now() - start));
    }
    co_return out;
  };

  // Warm-up, then interleaved rounds.
  for (int round = -1; round < rounds; ++round) {
    const int n = round < 0 ? 200 : per_round;
    for (const auto& name : sync_cases) {
      if (!only.empty() && only != name) continue;
      for (int i = 0; i < n; ++i) {
        auto start = steady::now();
        sync_pair(name);
        if (round >= 0) samples[name].push_back(micros(steady::now() - start));
      }
    }
    if (only.empty() || only == "client") {
      auto got = rt->block_on(client_case(n));
      if (round >= 0) samples["client"].insert(samples["client"].end(), got.begin(), got.end());
    }
    if (only.empty() || only == "weft") {
      auto got = rt->block_on(weft_case(n));
      if (round >= 0) samples["weft"].insert(samples["weft"].end(), got.begin(), got.end());
    }
  }
  for (const char* name : {"floor", "naive", "scripts", "client", "weft"}) {
    if (!samples.count(name)) continue;
    auto s = summarize(samples[name]);
    std::printf("%s_median %.2f us\n%s_p99 %.2f us\n", name, s.median_us, name, s.p99_us);
  }
  std::fflush(stdout);
  redisFree(raw);
  if (!only.empty() && only != "contended") return 0;

  for (int clients : {2, 8, 64}) {
    std::vector<std::shared_ptr<weft::lock::store>> stores;
    for (int i = 0; i < clients; ++i) stores.push_back(*weft::lock::open(uri));
    auto name = "bench-contended-" + std::to_string(clients);
    std::atomic<long long> acquisitions{0};
    std::atomic<bool> stop{false};
    std::mutex handoff_mutex;
    std::vector<double> handoffs;
    std::atomic<long long> released_at{0};  // steady ns when the last holder called release()
    // Connect every client first so that set-up is not measured.
    rt->block_on([&]() -> weft::task<void> {
      for (auto& s : stores) {
        auto held = co_await s->acquire(request(name + "-warm"), weft::context::background());
        if (held) (void)co_await held->release();
      }
    }());
    auto before = command_stats(host, port);
    auto start = steady::now();
    rt->block_on([&]() -> weft::task<void> {
      std::vector<weft::join_handle<void>> tasks;
      for (int i = 0; i < clients; ++i) {
        tasks.push_back(weft::go([&, i]() -> weft::task<void> {
          while (!stop.load()) {
            auto held = co_await stores[i]->acquire(request(name), weft::context::background());
            if (!held) {
              std::fprintf(stderr, "acquire failed: %s\n", std::string(held.error().message()).c_str());
              std::exit(70);
            }
            auto now = steady::now().time_since_epoch().count();
            auto previous = released_at.exchange(0);
            if (previous != 0) {
              std::lock_guard guard(handoff_mutex);
              handoffs.push_back(static_cast<double>(now - previous) / 1000.0);
            }
            acquisitions.fetch_add(1);
            released_at.store(steady::now().time_since_epoch().count());
            (void)co_await held->release();
          }
        }));
      }
      co_await weft::sleep_for(std::chrono::duration_cast<weft::clock::duration>(std::chrono::duration<double>(seconds)));
      stop.store(true);
      for (auto& t : tasks) co_await std::move(t);
    }());
    double elapsed = std::chrono::duration<double>(steady::now() - start).count();
    auto after = command_stats(host, port);
    long long sent = 0;
    long long total = 0;
    for (auto& [cmd, calls] : after) {
      long long delta = calls - (before.count(cmd) ? before[cmd] : 0);
      if (cmd == "info") continue;
      total += delta;
      if (cmd == "fcall" || cmd == "evalsha" || cmd == "eval" || cmd == "ping" || cmd == "subscribe" ||
          cmd == "auth" || cmd == "select" || cmd.rfind("function", 0) == 0)
        sent += delta;
    }
    auto h = summarize(handoffs);
    long long n = acquisitions.load();
    std::printf("contended_%d_throughput %.0f acquisitions/s\n", clients, static_cast<double>(n) / elapsed);
    std::printf("contended_%d_handoff_median %.2f us\ncontended_%d_handoff_p99 %.2f us\n", clients, h.median_us,
                clients, h.p99_us);
    std::printf("contended_%d_commands_sent %.2f per acquisition\n", clients,
                n ? static_cast<double>(sent) / static_cast<double>(n) : 0.0);
    std::printf("contended_%d_commands_total %.2f per acquisition\n", clients,
                n ? static_cast<double>(total) / static_cast<double>(n) : 0.0);
    std::fflush(stdout);
  }
  return 0;
}
