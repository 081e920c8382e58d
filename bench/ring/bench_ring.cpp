// weft-bench-ring: measures every consistent-hashing algorithm.
//
// Prints tab-separated records (scripts/bench-ring.sh turns them into the
// ring section of docs/BENCHMARKS.md):
//   lookup  <algorithm> <nodes> <ns per lookup>
//   build   <algorithm> <nodes> <ms> <heap bytes>
//   balance <algorithm> <nodes> <keys> <max/fair> <min/fair> <relative std-dev>
//   move    <algorithm> <nodes> <keys> <change> <moved fraction> <ideal> <ratio>
//   table   maglev <nodes> <max entries / mean entries>
// Keys are "key:<i>" and nodes "10.0.<i/250>.<i%250>:11211", the same as the
// peers in bench/peers use, so the rings are identical where they can be.
#include <malloc.h>

#include <algorithm>
#include <cmath>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "weft/ring/bounded_loads.hpp"
#include "weft/ring/factory.hpp"
#include "weft/ring/ketama.hpp"
#include "weft/ring/load_stats.hpp"
#include "weft/ring/maglev.hpp"
#include "weft/ring/migration_plan.hpp"

namespace {

using namespace weft::ring;
using clock_type = std::chrono::steady_clock;

std::vector<node> make_nodes(std::size_t count) {
  std::vector<node> nodes;
  nodes.reserve(count);
  for (std::size_t i = 0; i < count; ++i) nodes.push_back({fmt::format("10.0.{}.{}:11211", i / 250, i % 250), 1.0});
  return nodes;
}

std::string node_name(std::size_t i) { return fmt::format("10.0.{}.{}:11211", i / 250, i % 250); }

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

// Heap bytes in use, including the large blocks malloc takes with mmap.
std::size_t heap_in_use() {
  const auto info = mallinfo2();
  return info.uordblks + info.hblkhd;
}

volatile std::size_t sink = 0;

// The machine is shared: every figure is the best of five rounds, each of at
// least one pass over the keys and a fifth of the time budget.
template <typename Pass>
double best_of_five(Pass&& pass, std::size_t keys_per_pass, double budget) {
  double best = 1e300;
  for (int round = 0; round < 5; ++round) {
    std::size_t lookups = 0;
    const auto start = clock_type::now();
    do {
      pass();
      lookups += keys_per_pass;
    } while (seconds_since(start) < budget / 5);
    best = std::min(best, seconds_since(start) * 1e9 / static_cast<double>(lookups));
  }
  return best;
}

double time_lookups(const snapshot& ring, const std::vector<std::string_view>& keys, double budget) {
  std::size_t total = 0;
  const double ns = best_of_five([&] { for (std::string_view key : keys) total += ring.locate_index(key); }, keys.size(), budget);
  sink = sink + total;
  return ns;
}

double time_batched(const snapshot& ring, const std::vector<std::string_view>& keys, double budget) {
  std::vector<std::size_t> out(256);
  std::size_t total = 0;
  const double ns = best_of_five(
      [&] {
        for (std::size_t i = 0; i + 256 <= keys.size(); i += 256) {
          ring.locate_many(std::span(keys).subspan(i, 256), out);
          total += out[0] + out[255];
        }
      },
      keys.size() / 256 * 256, budget);
  sink = sink + total;
  return ns;
}

double time_bounded(const bounded_loads& ring, const std::vector<std::string_view>& keys, double budget) {
  // Steady state: every node at the mean load, so most keys stop at once.
  std::vector<std::uint64_t> loads(ring.size(), 1000);
  const std::uint64_t total_load = 1000 * ring.size();
  std::size_t total = 0;
  const double ns = best_of_five([&] { for (std::string_view key : keys) total += ring.place(key, loads, total_load); },
                                 keys.size(), budget);
  sink = sink + total;
  return ns;
}

void run_lookups(const std::vector<std::size_t>& sizes, double budget) {
  std::vector<std::string> key_text;
  for (std::size_t i = 0; i < 65536; ++i) key_text.push_back(fmt::format("key:{}", i));
  const std::vector<std::string_view> keys(key_text.begin(), key_text.end());
  for (std::size_t size : sizes) {
    for (std::string_view algorithm : algorithm_names()) {
      const std::size_t heap_before = heap_in_use();
      const auto start = clock_type::now();
      auto built = make(algorithm, make_nodes(size));
      const double build_ms = seconds_since(start) * 1e3;
      if (!built) {
        std::fprintf(stderr, "weft-bench-ring: %s\n", std::string(built.error().message()).c_str());
        continue;
      }
      const std::size_t heap_after = heap_in_use();
      fmt::print("build\t{}\t{}\t{:.3f}\t{}\n", algorithm, size, build_ms, heap_after - heap_before);
      // O(n) lookups get a smaller budget at large n: the figure is stable anyway.
      const double ns = algorithm == "bounded"
                            ? time_bounded(static_cast<const bounded_loads&>(**built), keys, budget)
                            : time_lookups(**built, keys, budget);
      fmt::print("lookup\t{}\t{}\t{:.2f}\n", algorithm, size, ns);
      if (algorithm == "ketama") fmt::print("lookup\tketama-batch16\t{}\t{:.2f}\n", size, time_batched(**built, keys, budget));
      std::fflush(stdout);
    }
  }
}

void report_moves(std::string_view label, const snapshot& before, const snapshot& after, std::size_t keys,
                  std::string_view change) {
  const auto plan = plan_migration(before, after, key_set::synthetic(keys));
  fmt::print("move\t{}\t{}\t{}\t{}\t{:.6f}\t{:.6f}\t{:.4f}\n", label, before.size(), keys, change, plan.moved_fraction,
             plan.ideal_fraction, plan.ratio_to_ideal);
}

void run_quality(std::size_t nodes, std::size_t keys) {
  const std::string added = node_name(nodes);
  const std::string middle = node_name(nodes / 2);
  const std::string last = node_name(nodes - 1);
  auto measure = [&](std::string_view label, std::string_view algorithm, const options& opts) {
    auto built = make(algorithm, make_nodes(nodes), opts);
    if (!built) return;
    const auto stats = measure_loads(**built, key_set::synthetic(keys));
    fmt::print("balance\t{}\t{}\t{}\t{:.4f}\t{:.4f}\t{:.4f}\n", label, nodes, keys, stats.max_over_fair,
               stats.min_over_fair, stats.stddev);
    auto grown = (*built)->with_node({added, 1.0});
    if (grown) report_moves(label, **built, **grown, keys, "add");
    auto shrunk = (*built)->without_node(middle);
    if (shrunk) report_moves(label, **built, **shrunk, keys, "remove-middle");
    auto trimmed = (*built)->without_node(last);
    if (trimmed) report_moves(label, **built, **trimmed, keys, "remove-last");
    if (algorithm == "maglev") {
      const auto entries = static_cast<const maglev&>(**built).entries_per_node();
      const double mean = static_cast<double>(opts.table_size) / static_cast<double>(nodes);
      fmt::print("table\t{}\t{}\t{:.4f}\n", label, nodes, *std::max_element(entries.begin(), entries.end()) / mean);
    }
    std::fflush(stdout);
  };
  for (std::string_view algorithm : algorithm_names()) measure(algorithm, algorithm, options{});
  // The vnode sweep that chose the ring default, and bounded loads at a tight epsilon.
  for (std::uint32_t vnodes : {100U, 160U, 500U, 1000U, 2000U}) {
    options opts;
    opts.vnodes = vnodes;
    measure(fmt::format("ring-v{}", vnodes), "ring", opts);
  }
  options loose;
  loose.epsilon = 0.25;
  measure("bounded-e0.25", "bounded", loose);
}

void run_modulo_floor(std::size_t nodes, std::size_t keys) {
  // Each key to a uniformly random node: a perfectly fair algorithm still
  // shows this much imbalance on `keys` keys, from sampling noise alone.
  std::vector<std::uint64_t> counts(nodes, 0);
  std::uint64_t state = 0x243f6a8885a308d3ULL;
  for (std::size_t i = 0; i < keys; ++i) {
    state += 0x9e3779b97f4a7c15ULL;
    std::uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    ++counts[z % nodes];
  }
  const double mean = static_cast<double>(keys) / static_cast<double>(nodes);
  double sum_squares = 0;
  for (auto c : counts) sum_squares += (static_cast<double>(c) / mean - 1) * (static_cast<double>(c) / mean - 1);
  fmt::print("balance\tuniform-random-floor\t{}\t{}\t{:.4f}\t{:.4f}\t{:.4f}\n", nodes, keys,
             static_cast<double>(*std::max_element(counts.begin(), counts.end())) / mean,
             static_cast<double>(*std::min_element(counts.begin(), counts.end())) / mean,
             std::sqrt(sum_squares / static_cast<double>(nodes)));
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      quick = true;
    } else {
      std::fprintf(stderr, "usage: weft-bench-ring [--quick]\n");
      return 64;
    }
  }
  const std::vector<std::size_t> sizes = quick ? std::vector<std::size_t>{10, 100} : std::vector<std::size_t>{10, 100, 1000, 10000};
  const std::size_t keys = quick ? 100'000 : 1'000'000;
  fmt::print("# weft-bench-ring {}\n", quick ? "quick" : "full");
  run_lookups(sizes, quick ? 0.05 : 0.5);
  run_quality(100, keys);
  run_modulo_floor(100, keys);
  return 0;
}
