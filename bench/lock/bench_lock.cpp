// weft-bench-lock: lock benchmarks, printed as a table.
//
//   weft-bench-lock [--iterations N] [--processes P] [--store-dir DIR]
//
// 1. uncontended mutex lock + release, per store (mem://, file://);
// 2. hand-off latency: P processes (default 8) contend on one file:// mutex;
//    each records when it got the lock and when it released it, and the
//    hand-off is the next holder's acquire time minus the previous holder's
//    release time (CLOCK_MONOTONIC, one host). Also the same with P tasks
//    on mem://.
#include <fcntl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <vector>

#include "weft/context.hpp"
#include "weft/go.hpp"
#include "weft/lock/mutex.hpp"
#include "weft/lock/store.hpp"
#include "weft/runtime.hpp"
#include "weft/wait_group.hpp"

using weft::context;
using weft::task;
using namespace weft::lock;

namespace {

std::int64_t now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

struct summary {
  double median_us;
  double p99_us;
  double mean_us;
};

summary summarize(std::vector<std::int64_t> ns) {
  std::sort(ns.begin(), ns.end());
  double total = 0;
  for (auto v : ns) total += static_cast<double>(v);
  auto at = [&](double q) { return static_cast<double>(ns[static_cast<std::size_t>(q * static_cast<double>(ns.size() - 1))]) / 1000.0; };
  return {at(0.5), at(0.99), total / static_cast<double>(ns.size()) / 1000.0};
}

task<std::vector<std::int64_t>> uncontended(std::shared_ptr<store> where, int iterations) {
  auto m = mutex::make(where, "bench-uncontended").value();
  std::vector<std::int64_t> samples;
  samples.reserve(static_cast<std::size_t>(iterations));
  for (int i = 0; i < iterations + 100; ++i) {
    auto start = now_ns();
    auto held = co_await m.lock(context::background());
    if (!held) {
      std::fprintf(stderr, "lock failed: %s\n", std::string(held.error().message()).c_str());
      std::exit(1);
    }
    (void)co_await held->release();
    if (i >= 100) samples.push_back(now_ns() - start);  // after a warm-up
  }
  co_return samples;
}

// One contending worker: `iterations` times lock, note times, release.
task<int> contend(std::shared_ptr<store> where, int iterations, std::vector<std::string>* lines, std::mutex* guard) {
  auto m = mutex::make(where, "bench-handoff").value();
  for (int i = 0; i < iterations; ++i) {
    auto held = co_await m.lock(context::background());
    if (!held) co_return 1;
    auto acquired = now_ns();
    auto released = now_ns();
    {
      std::lock_guard g(*guard);
      lines->push_back(std::to_string(held->token()) + " " + std::to_string(acquired) + " " + std::to_string(released));
    }
    (void)co_await held->release();
  }
  co_return 0;
}

std::vector<std::int64_t> handoffs(std::vector<std::string> lines) {
  struct record {
    unsigned long long token;
    long long acquired;
    long long released;
  };
  std::vector<record> records;
  for (const auto& l : lines) {
    record r{};
    if (std::sscanf(l.c_str(), "%llu %lld %lld", &r.token, &r.acquired, &r.released) == 3) records.push_back(r);
  }
  std::sort(records.begin(), records.end(), [](const record& a, const record& b) { return a.token < b.token; });
  std::vector<std::int64_t> out;
  for (std::size_t i = 1; i < records.size(); ++i) out.push_back(records[i].acquired - records[i - 1].released);
  return out;
}

void print_row(const char* what, const summary& s, std::size_t n) {
  std::printf("| %-52s | %9.1f | %9.1f | %9.1f | %6zu |\n", what, s.median_us, s.p99_us, s.mean_us, n);
}

}  // namespace

int main(int argc, char** argv) {
  int iterations = 2000;
  int processes = 8;
  std::string dir;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--iterations" && i + 1 < argc) iterations = std::atoi(argv[++i]);
    else if (a == "--processes" && i + 1 < argc) processes = std::atoi(argv[++i]);
    else if (a == "--store-dir" && i + 1 < argc) dir = argv[++i];
    else if (a == "--worker" && i + 3 < argc) {
      // Internal: one contending process; prints its records on stdout.
      std::string uri = argv[++i];
      int count = std::atoi(argv[++i]);
      std::string out_path = argv[++i];
      weft::runtime_options o;
      o.workers = 1;
      weft::runtime rt(o);
      auto where = open(uri).value();
      std::vector<std::string> lines;
      std::mutex guard;
      int rc = rt.block_on(contend(where, count, &lines, &guard));
      std::ofstream out(out_path);
      for (auto& l : lines) out << l << "\n";
      return rc;
    } else {
      std::fprintf(stderr, "usage: weft-bench-lock [--iterations N] [--processes P] [--store-dir DIR]\n");
      return 64;
    }
  }
  if (dir.empty()) {
    std::string pattern = (std::filesystem::temp_directory_path() / "weft-bench-lock-XXXXXX").string();
    dir = ::mkdtemp(pattern.data());
  }
  std::string file_uri = "file://" + dir + "/store";

  std::printf("weft-bench-lock: %d iterations, %d contenders, file store in %s\n\n", iterations, processes,
              dir.c_str());
  std::printf("| %-52s | %9s | %9s | %9s | %6s |\n", "benchmark", "median us", "p99 us", "mean us", "n");
  std::printf("|%s|%s|%s|%s|%s|\n", std::string(54, '-').c_str(), std::string(11, '-').c_str(),
              std::string(11, '-').c_str(), std::string(11, '-').c_str(), std::string(8, '-').c_str());
  {
    weft::runtime_options o;
    o.workers = 1;
    weft::runtime rt(o);
    auto mem = open("mem://bench").value();
    auto s = rt.block_on(uncontended(mem, iterations));
    print_row("uncontended lock+release, mem://", summarize(s), s.size());
    auto file = open(file_uri).value();
    s = rt.block_on(uncontended(file, iterations));
    print_row("uncontended lock+release, file://", summarize(s), s.size());
  }
  {
    // Hand-off between tasks on mem://.
    weft::runtime_options o;
    o.workers = 2;
    weft::runtime rt(o);
    auto mem = open("mem://bench-handoff").value();
    std::vector<std::string> lines;
    std::mutex guard;
    rt.block_on([&]() -> task<void> {
      weft::wait_group group;
      for (int p = 0; p < processes; ++p) {
        group.add(1);
        weft::go([&]() -> task<void> {
          (void)co_await contend(mem, iterations / processes, &lines, &guard);
          group.done();
        });
      }
      co_await group.wait();
    }());
    auto h = handoffs(lines);
    char label[80];
    std::snprintf(label, sizeof label, "hand-off, mem://, %d tasks", processes);
    print_row(label, summarize(h), h.size());
  }
  {
    // Hand-off between processes on file://.
    std::vector<pid_t> children;
    int per_process = std::max(1, iterations / processes / 2);
    for (int p = 0; p < processes; ++p) {
      std::string out_path = dir + "/worker-" + std::to_string(p);
      pid_t pid = ::fork();
      if (pid == 0) {
        std::string count = std::to_string(per_process);
        ::execl("/proc/self/exe", argv[0], "--worker", file_uri.c_str(), count.c_str(), out_path.c_str(),
                static_cast<char*>(nullptr));
        ::_exit(127);
      }
      children.push_back(pid);
    }
    bool ok = true;
    for (auto pid : children) {
      int status = 0;
      ::waitpid(pid, &status, 0);
      ok = ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    std::vector<std::string> lines;
    for (int p = 0; p < processes; ++p) {
      std::ifstream in(dir + "/worker-" + std::to_string(p));
      for (std::string l; std::getline(in, l);) lines.push_back(l);
    }
    auto h = handoffs(lines);
    char label[80];
    std::snprintf(label, sizeof label, "hand-off, file://, %d processes%s", processes, ok ? "" : " (FAILED)");
    if (!h.empty()) print_row(label, summarize(h), h.size());
    if (!ok) return 1;
  }
  std::filesystem::remove_all(dir);
  return 0;
}
