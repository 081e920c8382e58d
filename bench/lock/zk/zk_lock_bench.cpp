// weft-bench-lock-zk: the zk:// store against the floor (the raw
// create + getChildren + delete sequence with the same C client) and,
// through scripts/bench-zk.sh, kazoo's Lock.
//
//   weft-bench-lock-zk URI [--iterations N] [--handoff-rounds N (0: none)] [--workers N (0: one per core)]
//
// Prints one "key value" line per measure (microseconds unless named
// otherwise); scripts/bench-zk.sh turns them into docs/BENCHMARKS.md.
//
// Measures, on one ZooKeeper server:
//   uncontended acquire + release latency (weft, and the raw floor);
//   hand-off latency with 8 and 64 contending clients (one session each):
//     the time from the holder calling release() to the next holder's
//     acquire returning;
//   ZooKeeper requests per acquisition, and watch notifications per hand-off
//   (to waiters), and per acquisition on the holder's own node (the holder
//   watch, armed only for entries queued or held past its delay: the echo
//   of its own release's delete; none for the short uncontended holds).
#include <zookeeper/zookeeper.h>  // THREADED is defined by CMake: the sync API
#include <unistd.h>

#include <thread>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "weft/context.hpp"
#include "weft/go.hpp"
#include "weft/lock/store.hpp"
#include "weft/runtime.hpp"
#include "weft/sleep.hpp"
#include "zk_session.hpp"
#include "zk_store.hpp"

namespace {

using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;
using namespace weft;
using namespace weft::lock;

struct summary {
  double mean_us = 0, median_us = 0, p99_us = 0;
  std::size_t samples = 0;
};

summary summarize(std::vector<double> us) {
  summary s;
  if (us.empty()) return s;
  std::sort(us.begin(), us.end());
  double total = 0;
  for (double v : us) total += v;
  s.samples = us.size();
  s.mean_us = total / static_cast<double>(us.size());
  s.median_us = us[us.size() / 2];
  s.p99_us = us[std::min(us.size() - 1, us.size() * 99 / 100)];
  return s;
}

double micros(steady::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

// zk://127.0.0.1:2181,.../chroot?... -> "127.0.0.1:2181,..." and "/chroot"
void split_uri(const std::string& uri, std::string& hosts, std::string& chroot) {
  auto rest = uri.substr(uri.find("://") + 3);
  if (auto q = rest.find('?'); q != std::string::npos) rest = rest.substr(0, q);
  if (auto at = rest.find('@'); at != std::string::npos) rest = rest.substr(at + 1);
  auto slash = rest.find('/');
  hosts = rest.substr(0, slash);
  chroot = slash == std::string::npos ? "/weft" : rest.substr(slash);
}

void quiet_log(const char*) {}

// The floor: what any ZooKeeper lock must do at least, with the same C client
// (synchronous calls: each is one round trip).
std::vector<double> run_floor(const std::string& hosts, const std::string& chroot, int iterations) {
  zhandle_t* zh = zookeeper_init2(hosts.c_str(), nullptr, 10000, nullptr, nullptr, 0, &quiet_log);
  if (zh == nullptr) {
    std::fprintf(stderr, "floor: zookeeper_init failed\n");
    std::exit(1);
  }
  for (int i = 0; i < 500 && zoo_state(zh) != ZOO_CONNECTED_STATE; ++i) std::this_thread::sleep_for(10ms);
  const std::string dir = chroot + "/bench-floor";
  for (std::size_t slash = dir.find('/', 1);; slash = dir.find('/', slash + 1)) {
    const std::string prefix = slash == std::string::npos ? dir : dir.substr(0, slash);
    zoo_create(zh, prefix.c_str(), nullptr, -1, &ZOO_OPEN_ACL_UNSAFE, ZOO_PERSISTENT, nullptr, 0);
    if (slash == std::string::npos) break;
  }
  const std::string node = dir + "/_c_00000000000000000000000000000000-lock-";
  std::vector<double> samples;
  char created[512];
  for (int i = 0; i < iterations + 20; ++i) {
    const auto start = steady::now();
    int rc = zoo_create(zh, node.c_str(), "x", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL_SEQUENTIAL, created,
                        sizeof created);
    String_vector children{};
    if (rc == ZOK) rc = zoo_get_children(zh, dir.c_str(), 0, &children);
    if (rc == ZOK) {
      deallocate_String_vector(&children);
      rc = zoo_delete(zh, created, -1);
    }
    const auto end = steady::now();
    if (rc != ZOK) {
      std::fprintf(stderr, "floor: %s\n", zerror(rc));
      std::exit(1);
    }
    if (i >= 20) samples.push_back(micros(end - start));
  }
  zookeeper_close(zh);
  return samples;
}

// The same three requests with the create and the getChildren pipelined, as
// weft sends them, but with no runtime in between: the C client's callbacks
// signal a condition variable. The best this client can do.
struct pipelined_waiter {
  std::mutex mutex;
  std::condition_variable done;
  int pending = 0;
  int rc = ZOK;
  std::string created;
  void finish(int result) {
    std::lock_guard lock(mutex);
    if (result != ZOK) rc = result;
    if (--pending == 0) done.notify_one();
  }
  void wait() {
    std::unique_lock lock(mutex);
    done.wait(lock, [&] { return pending == 0; });
  }
};

std::vector<double> run_pipelined_floor(const std::string& hosts, const std::string& chroot, int iterations) {
  zhandle_t* zh = zookeeper_init2(hosts.c_str(), nullptr, 10000, nullptr, nullptr, 0, &quiet_log);
  for (int i = 0; i < 500 && zoo_state(zh) != ZOO_CONNECTED_STATE; ++i) std::this_thread::sleep_for(10ms);
  const std::string dir = chroot + "/bench-floor";
  const std::string node = dir + "/_c_00000000000000000000000000000000-lock-";
  std::vector<double> samples;
  pipelined_waiter w;
  for (int i = 0; i < iterations + 20; ++i) {
    const auto start = steady::now();
    w.pending = 2;
    zoo_acreate2(zh, node.c_str(), "x", 1, &ZOO_OPEN_ACL_UNSAFE, ZOO_EPHEMERAL_SEQUENTIAL,
                 [](int rc, const char* value, const Stat*, const void* data) {
                   auto* self = static_cast<pipelined_waiter*>(const_cast<void*>(data));
                   if (rc == ZOK) self->created = value;
                   self->finish(rc);
                 },
                 &w);
    zoo_aget_children(zh, dir.c_str(), 0,
                      [](int rc, const String_vector*, const void* data) {
                        static_cast<pipelined_waiter*>(const_cast<void*>(data))->finish(rc);
                      },
                      &w);
    w.wait();
    w.pending = 1;
    zoo_adelete(zh, w.created.c_str(), -1,
                [](int rc, const void* data) { static_cast<pipelined_waiter*>(const_cast<void*>(data))->finish(rc); },
                &w);
    w.wait();
    const auto end = steady::now();
    if (w.rc != ZOK) {
      std::fprintf(stderr, "pipelined floor: %s\n", zerror(w.rc));
      std::exit(1);
    }
    if (i >= 20) samples.push_back(micros(end - start));
  }
  zookeeper_close(zh);
  return samples;
}

struct uncontended_result {
  std::vector<double> samples;
  double requests_per_acquisition = 0;
  double holder_notifications_per_acquisition = 0;  // the echo of our own delete
};

uncontended_result run_uncontended(runtime& rt, const std::string& uri, int iterations) {
  auto store = open(uri).value();
  auto s = zk::session_of(store);
  acquire_request request;
  request.name = "bench-uncontended";
  uncontended_result out;
  rt.block_on([&]() -> task<void> {
    std::vector<double> samples;
    std::uint64_t requests_before = 0;
    std::uint64_t holder_before = 0;
    for (int i = 0; i < iterations + 20; ++i) {
      if (i == 20) {
        requests_before = s->requests_sent();
        holder_before = s->holder_notifications();
      }
      const auto start = steady::now();
      auto held = co_await store->acquire(request, context{});
      if (!held) {
        std::fprintf(stderr, "acquire: %s\n", std::string(held.error().message()).c_str());
        std::exit(1);
      }
      (void)co_await held->release();
      const auto end = steady::now();
      if (i >= 20) samples.push_back(micros(end - start));
    }
    out.samples = std::move(samples);
    out.requests_per_acquisition =
        static_cast<double>(s->requests_sent() - requests_before) / static_cast<double>(iterations);
    out.holder_notifications_per_acquisition =
        static_cast<double>(s->holder_notifications() - holder_before) / static_cast<double>(iterations);
  }());
  return out;
}

struct handoff_result {
  int clients = 0;
  summary latency;
  double requests_per_acquisition = 0;
  double notifications_per_handoff = 0;
  double holder_notifications_per_acquisition = 0;
};

handoff_result run_handoff(runtime& rt, const std::string& uri, int clients, int rounds) {
  std::vector<std::shared_ptr<store>> stores;
  for (int i = 0; i < clients; ++i) stores.push_back(open(uri).value());
  acquire_request request;
  request.name = "bench-handoff-" + std::to_string(clients) + "-" + std::to_string(::getpid());
  std::atomic<std::int64_t> released_at{0};  // steady ns when the holder called release()
  std::mutex samples_mutex;
  std::vector<double> samples;
  std::atomic<int> remaining{rounds};
  std::atomic<int> acquisitions{0};
  handoff_result out;
  out.clients = clients;
  auto sum_requests = [&] {
    std::uint64_t total = 0;
    for (auto& s : stores) total += zk::session_of(s)->requests_sent();
    return total;
  };
  auto sum_notifications = [&] {
    std::uint64_t total = 0;
    for (auto& s : stores) total += zk::session_of(s)->notifications();
    return total;
  };
  auto sum_holder_notifications = [&] {
    std::uint64_t total = 0;
    for (auto& s : stores) total += zk::session_of(s)->holder_notifications();
    return total;
  };
  // Connect everyone first.
  rt.block_on([&]() -> task<void> {
    for (auto& s : stores) {
      auto l = co_await s->acquire(request, context{});
      if (l) (void)co_await l->release();
    }
  }());
  const auto requests_before = sum_requests();
  const auto notifications_before = sum_notifications();
  const auto holder_before = sum_holder_notifications();
  rt.block_on([&]() -> task<void> {
    std::vector<join_handle<void>> workers;
    for (int c = 0; c < clients; ++c) {
      workers.push_back(go([&, c]() -> task<void> {
        while (remaining.load() > 0) {
          auto held = co_await stores[static_cast<std::size_t>(c)]->acquire(request, context{});
          const auto now = steady::now().time_since_epoch().count();
          if (!held) {
            std::fprintf(stderr, "acquire: %s\n", std::string(held.error().message()).c_str());
            std::exit(1);
          }
          acquisitions.fetch_add(1);
          const auto previous = released_at.exchange(0);
          if (previous != 0) {
            std::lock_guard lock(samples_mutex);
            samples.push_back(static_cast<double>(now - previous) / 1000.0);
          }
          remaining.fetch_sub(1);
          released_at.store(steady::now().time_since_epoch().count());
          (void)co_await held->release();
        }
      }));
    }
    for (auto& w : workers) co_await std::move(w);
  }());
  const auto handoffs = std::max<std::size_t>(samples.size(), 1);
  out.latency = summarize(std::move(samples));
  out.requests_per_acquisition =
      static_cast<double>(sum_requests() - requests_before) / std::max(1, acquisitions.load());
  out.notifications_per_handoff =
      static_cast<double>(sum_notifications() - notifications_before) / static_cast<double>(handoffs);
  out.holder_notifications_per_acquisition =
      static_cast<double>(sum_holder_notifications() - holder_before) / std::max(1, acquisitions.load());
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: weft-bench-lock-zk zk://host:port/chroot [--iterations N] [--handoff-rounds N]\n");
    return 64;
  }
  const std::string uri = argv[1];
  int iterations = 2000;
  int handoff_rounds = 400;
  int workers = 0;  // the runtime's default: one per core
  for (int i = 2; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--iterations") == 0) iterations = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--handoff-rounds") == 0) handoff_rounds = std::atoi(argv[i + 1]);
    if (std::strcmp(argv[i], "--workers") == 0) workers = std::atoi(argv[i + 1]);
  }
  std::string hosts, chroot;
  split_uri(uri, hosts, chroot);

  runtime_options options;
  options.workers = static_cast<std::size_t>(std::max(0, workers));
  runtime rt(options);
  std::printf("workers %zu\n", rt.workers());

  // Interleave floor and weft rounds so drift on a noisy machine hits both;
  // every sample counts. Output: one "key value" line per measure.
  std::vector<double> floor_samples, pipelined_samples, weft_samples;
  double requests = 0;
  double holder_notifications = 0;
  constexpr int rounds = 5;
  for (int round = 0; round < rounds; ++round) {
    auto f = run_floor(hosts, chroot, iterations / rounds);
    auto p = run_pipelined_floor(hosts, chroot, iterations / rounds);
    auto w = run_uncontended(rt, uri, iterations / rounds);
    floor_samples.insert(floor_samples.end(), f.begin(), f.end());
    pipelined_samples.insert(pipelined_samples.end(), p.begin(), p.end());
    weft_samples.insert(weft_samples.end(), w.samples.begin(), w.samples.end());
    requests = w.requests_per_acquisition;
    holder_notifications = w.holder_notifications_per_acquisition;
  }
  const summary floor_summary = summarize(floor_samples);
  const summary weft_summary = summarize(weft_samples);
  const summary pipelined_summary = summarize(pipelined_samples);
  std::printf("pipelined_median %.1f\npipelined_p99 %.1f\n", pipelined_summary.median_us, pipelined_summary.p99_us);
  std::printf("floor_median %.1f\nfloor_p99 %.1f\n", floor_summary.median_us, floor_summary.p99_us);
  std::printf("weft_median %.1f\nweft_p99 %.1f\n", weft_summary.median_us, weft_summary.p99_us);
  std::printf("weft_requests %.2f\n", requests);
  std::printf("weft_holder_notifications %.2f\n", holder_notifications);
  for (int clients : {8, 64}) {
    if (handoff_rounds <= 0) break;
    auto h = run_handoff(rt, uri, clients, handoff_rounds);
    std::printf("handoff%d_median %.1f\nhandoff%d_p99 %.1f\nhandoff%d_samples %zu\n", clients, h.latency.median_us,
                clients, h.latency.p99_us, clients, h.latency.samples);
    std::printf("handoff%d_requests %.2f\nhandoff%d_notifications %.2f\n", clients, h.requests_per_acquisition,
                clients, h.notifications_per_handoff);
    std::printf("handoff%d_holder_notifications %.2f\n", clients, h.holder_notifications_per_acquisition);
  }
  return 0;
}
