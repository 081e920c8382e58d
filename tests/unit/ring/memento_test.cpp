#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_support.hpp"
#include "weft/ring/memento.hpp"

namespace {

using namespace weft::ring;
using weft::ring::testing::equal_nodes;
using weft::ring::testing::make_keys;

std::vector<std::string> owners(const snapshot& ring, const std::vector<std::string>& keys) {
  std::vector<std::string> out;
  out.reserve(keys.size());
  for (const auto& key : keys) out.push_back(ring.locate(key).name);
  return out;
}

TEST(ring_memento, arbitrary_removals_move_only_the_removed_nodes_keys) {
  auto built = memento::make(equal_nodes(50));
  ASSERT_TRUE(built);
  std::shared_ptr<const snapshot> ring = *built;
  const auto keys = make_keys(100'000);
  auto previous = owners(*ring, keys);
  for (const char* name : {"10.0.0.3:11211", "10.0.0.41:11211", "10.0.0.17:11211", "10.0.0.0:11211",
                           "10.0.0.49:11211", "10.0.0.25:11211"}) {
    const double working = static_cast<double>(ring->size());
    auto next = ring->without_node(name);
    ASSERT_TRUE(next) << next.error().message();
    ring = *next;
    const auto current = owners(*ring, keys);
    std::size_t moved = 0;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      ASSERT_NE(current[i], name);
      if (current[i] != previous[i]) {
        ASSERT_EQ(previous[i], name) << "a key of another node moved";
        ++moved;
      }
    }
    EXPECT_NEAR(static_cast<double>(moved) * working / static_cast<double>(keys.size()), 1.0, 0.1) << name;
    previous = current;
  }
}

TEST(ring_memento, adding_back_restores_the_previous_placement) {
  auto built = memento::make(equal_nodes(30));
  ASSERT_TRUE(built);
  std::shared_ptr<const snapshot> start = *built;
  const auto keys = make_keys(50'000);
  const auto original = owners(*start, keys);
  auto removed = start->without_node("10.0.0.12:11211");
  ASSERT_TRUE(removed);
  auto restored = (*removed)->with_node({"10.0.0.12:11211", 1.0});
  ASSERT_TRUE(restored);
  EXPECT_EQ(owners(**restored, keys), original);
}

TEST(ring_memento, growing_moves_keys_only_to_the_new_node) {
  auto built = memento::make(equal_nodes(30));
  ASSERT_TRUE(built);
  auto removed = (*built)->without_node("10.0.0.4:11211");
  ASSERT_TRUE(removed);
  auto restored = (*removed)->with_node({"replacement:11211", 1.0});
  ASSERT_TRUE(restored);
  auto grown = (*restored)->with_node({"extra:11211", 1.0});
  ASSERT_TRUE(grown);
  const auto keys = make_keys(50'000);
  const auto before = owners(**restored, keys);
  const auto after = owners(**grown, keys);
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (before[i] != after[i]) {
      ASSERT_EQ(after[i], "extra:11211");
    }
  }
}

TEST(ring_memento, removing_the_last_node_of_the_ring_is_refused) {
  auto built = memento::make(equal_nodes(1));
  ASSERT_TRUE(built);
  auto removed = (*built)->without_node("10.0.0.0:11211");
  ASSERT_FALSE(removed);
  EXPECT_EQ(removed.error().code(), weft::errc::invalid_argument);
}

}  // namespace
