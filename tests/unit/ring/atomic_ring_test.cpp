// Readers use snapshots while a writer changes membership. Run under TSan in
// CI: any data race fails the test.
#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "test_support.hpp"
#include "weft/ring/atomic_ring.hpp"
#include "weft/ring/factory.hpp"

namespace {

using namespace weft::ring;
using weft::ring::testing::equal_nodes;

class concurrent_membership : public ::testing::TestWithParam<std::string_view> {};

INSTANTIATE_TEST_SUITE_P(ring, concurrent_membership, ::testing::ValuesIn(algorithm_names().begin(), algorithm_names().end()),
                         weft::ring::testing::param_name);

TEST_P(concurrent_membership, readers_always_see_a_whole_snapshot_while_a_writer_swaps) {
  options opts;
  opts.vnodes = 50;  // small rings: many swaps per second
  opts.table_size = 1021;
  auto first = make(GetParam(), equal_nodes(8), opts);
  ASSERT_TRUE(first);
  atomic_ring current(*first);
  std::atomic<bool> done{false};
  std::atomic<std::uint64_t> lookups{0};
  std::atomic<int> broken{0};

  std::vector<std::thread> readers;
  for (int r = 0; r < 3; ++r) {
    readers.emplace_back([&, r] {
      std::uint64_t i = 0;
      std::vector<std::size_t> replicas(3);
      while (!done.load(std::memory_order_acquire) || i < 200) {
        const auto ring = current.load();
        const std::string key = "key:" + std::to_string(r) + ":" + std::to_string(i++);
        // A whole snapshot: sizes agree, indices are in range, names match.
        const std::size_t index = ring->locate_index(key);
        if (index >= ring->size() || ring->nodes()[index].name != ring->locate(key).name) ++broken;
        if (!ring->replicas_into(key, replicas)) ++broken;
        if (std::set<std::size_t>(replicas.begin(), replicas.end()).size() != 3) ++broken;
        if (replicas[0] != index) ++broken;
        lookups.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }

  // The writer adds and removes nodes 200 times, racing the readers.
  for (int change = 0; change < 200; ++change) {
    const node extra{"extra-" + std::to_string(change % 4) + ":11211", 1.0};
    auto added = current.update([&](const atomic_ring::pointer& ring) { return ring->with_node(extra); });
    ASSERT_TRUE(added) << added.error().message();
    auto removed = current.update([&](const atomic_ring::pointer& ring) { return ring->without_node(extra.name); });
    ASSERT_TRUE(removed) << removed.error().message();
  }
  done.store(true, std::memory_order_release);
  for (auto& reader : readers) reader.join();

  EXPECT_EQ(broken.load(), 0);
  EXPECT_GE(lookups.load(), 600U);
  EXPECT_EQ(current.load()->size(), 8U);
}

TEST(ring_atomic_ring, update_returns_the_change_error_and_keeps_the_snapshot) {
  auto first = make("ring", equal_nodes(2));
  ASSERT_TRUE(first);
  atomic_ring current(*first);
  auto failed = current.update([](const atomic_ring::pointer& ring) { return ring->without_node("absent:1"); });
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code(), weft::errc::not_found);
  EXPECT_EQ(current.load(), *first);
}

TEST(ring_atomic_ring, exchange_hands_back_the_previous_snapshot) {
  auto first = make("maglev", equal_nodes(2));
  auto second = make("maglev", equal_nodes(3));
  ASSERT_TRUE(first && second);
  atomic_ring current(*first);
  EXPECT_EQ(current.exchange(*second), *first);
  EXPECT_EQ(current.load(), *second);
}

}  // namespace
