#include "demo_steps.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "weft/chan.hpp"
#include "weft/go.hpp"
#include "weft/join_handle.hpp"
#include "weft/ring/factory.hpp"
#include "weft/ring/key_set.hpp"
#include "weft/ring/migration_plan.hpp"
#include "weft/runtime.hpp"
#include "weft/task.hpp"

namespace weft::cli::demo {
namespace {

using steady = std::chrono::steady_clock;

// A little CPU work per item, so the workers really run in parallel.
std::uint64_t work(std::uint64_t x) {
  for (int i = 0; i < 200; ++i) x = x * 6364136223846793005ULL + 1442695040888963407ULL;
  return x >> 40;
}

task<void> generate(chan<std::uint64_t> out, std::uint64_t count) {
  for (std::uint64_t i = 0; i < count; ++i) {
    if (!co_await out.send(i)) break;
  }
  out.close();
}

task<std::uint64_t> worker(chan<std::uint64_t> in, chan<std::uint64_t> out) {
  std::uint64_t handled = 0;
  while (auto item = co_await in.recv()) {
    (void)co_await out.send(work(*item));
    ++handled;
  }
  co_return handled;
}

task<void> close_when_done(std::vector<join_handle<std::uint64_t>> workers,
                           chan<std::uint64_t> out, std::uint64_t* handled) {
  for (auto& w : workers) *handled += co_await std::move(w);
  out.close();
}

struct pipeline_result {
  std::uint64_t received = 0;
  std::uint64_t sum = 0;
  std::uint64_t handled = 0;
  std::size_t goroutines = 0;
};

task<pipeline_result> pipeline(std::uint64_t items, std::size_t workers) {
  chan<std::uint64_t> jobs(64);
  chan<std::uint64_t> results(64);
  pipeline_result out;
  go(generate(jobs, items));
  std::vector<join_handle<std::uint64_t>> handles;
  handles.reserve(workers);
  for (std::size_t i = 0; i < workers; ++i) handles.push_back(go(worker(jobs, results)));
  auto closer = go(close_when_done(std::move(handles), results, &out.handled));
  while (auto r = co_await results.recv()) {
    ++out.received;
    out.sum += *r;
  }
  co_await std::move(closer);
  out.goroutines = workers + 2;
  co_return out;
}

}  // namespace

void step_pipeline(reporter& r) {
  r.section(1, "Goroutines and channels: a fan-out/fan-in pipeline");
  constexpr std::uint64_t items = 200'000;
  constexpr std::size_t workers = 1000;
  std::uint64_t expected = 0;
  for (std::uint64_t i = 0; i < items; ++i) expected += work(i);
  runtime rt;
  auto t0 = steady::now();
  auto got = rt.block_on(pipeline(items, workers));
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(steady::now() - t0).count();
  r.check(got.received == items && got.handled == items && got.sum == expected,
          fmt::format("{} items through 1 generator -> {} worker goroutines -> 1 collector on {} "
                      "threads: all {} results arrived, checksum matches ({} ms)",
                      items, workers, rt.workers(), got.received, ms));
}

void step_resharding(reporter& r) {
  r.section(5, "Resharding: node-3 leaves a 10-node ring; its keys move to the others");
  constexpr std::size_t key_count = 200'000;
  std::vector<ring::node> nodes;
  for (int i = 0; i < 10; ++i) nodes.push_back({fmt::format("node-{}", i), 1.0});
  auto keys = ring::key_set::synthetic(key_count);
  for (std::string_view algorithm : {"ring", "rendezvous", "memento", "maglev", "ketama"}) {
    auto before = ring::make(algorithm, nodes);
    if (!before) {
      r.check(false, fmt::format("{}: {}", algorithm, before.error().message()));
      continue;
    }
    auto after = (*before)->without_node("node-3");
    if (!after) {
      r.check(false, fmt::format("{}: {}", algorithm, after.error().message()));
      continue;
    }
    auto plan = ring::plan_migration(**before, **after, keys);
    std::uint64_t lost_elsewhere = 0;
    for (const auto& n : plan.nodes) {
      if (n.name != "node-3") lost_elsewhere += n.lost;
    }
    // Maglev trades a little extra movement for its perfect balance.
    bool only_departed = algorithm == std::string_view("maglev") || lost_elsewhere == 0;
    r.check(only_departed && plan.moved > 0 && plan.ratio_to_ideal < 1.5,
            fmt::format("{:<10} moved {:5.2f}% of {} keys, ideal {:5.2f}% ({:.2f}x){}", algorithm,
                        plan.moved_fraction * 100, key_count, plan.ideal_fraction * 100,
                        plan.ratio_to_ideal,
                        lost_elsewhere == 0 ? "; only node-3's keys moved"
                                            : fmt::format("; {} keys moved between survivors",
                                                          lost_elsewhere)));
  }
}

}  // namespace weft::cli::demo
