#include <gtest/gtest.h>

#include "test_support.hpp"
#include "weft/ring/factory.hpp"
#include "weft/ring/migration_plan.hpp"

namespace {

using namespace weft::ring;
using weft::ring::testing::equal_nodes;

TEST(ring_migration_plan, ideal_fraction_is_one_over_n_plus_one_on_add_and_one_over_n_on_remove) {
  auto before = make("rendezvous", equal_nodes(100));
  ASSERT_TRUE(before);
  auto added = (*before)->with_node({"new:11211", 1.0});
  ASSERT_TRUE(added);
  EXPECT_NEAR(ideal_moved_fraction(**before, **added), 1.0 / 101.0, 1e-12);
  auto removed = (*before)->without_node("10.0.0.50:11211");
  ASSERT_TRUE(removed);
  EXPECT_NEAR(ideal_moved_fraction(**before, **removed), 1.0 / 100.0, 1e-12);
}

TEST(ring_migration_plan, ideal_fraction_follows_weights) {
  auto before = make("rendezvous", {{"a:1", 1.0}, {"b:1", 3.0}});
  auto after = make("rendezvous", {{"a:1", 1.0}, {"b:1", 1.0}});
  ASSERT_TRUE(before && after);
  // b goes from 3/4 to 1/2 of the keys: a quarter must move.
  EXPECT_NEAR(ideal_moved_fraction(**before, **after), 0.25, 1e-12);
}

TEST(ring_migration_plan, lists_each_moved_key_with_its_old_and_new_node) {
  auto before = make("ring", equal_nodes(5));
  ASSERT_TRUE(before);
  auto after = (*before)->without_node("10.0.0.2:11211");
  ASSERT_TRUE(after);
  const auto plan = plan_migration(**before, **after, key_set::synthetic(10'000), true);
  ASSERT_EQ(plan.moves.size(), plan.moved);
  ASSERT_GT(plan.moved, 0U);
  for (const auto& move : plan.moves) {
    EXPECT_EQ(move.from, "10.0.0.2:11211");
    EXPECT_NE(move.to, move.from);
    EXPECT_EQ((*before)->locate(move.key).name, move.from);
    EXPECT_EQ((*after)->locate(move.key).name, move.to);
  }
  EXPECT_GT(plan.ratio_to_ideal, 0.8);
  EXPECT_LT(plan.ratio_to_ideal, 1.2);
}

TEST(ring_migration_plan, identical_snapshots_move_nothing) {
  auto ring = make("maglev", equal_nodes(8));
  ASSERT_TRUE(ring);
  const auto plan = plan_migration(**ring, **ring, key_set::synthetic(5000));
  EXPECT_EQ(plan.moved, 0U);
  EXPECT_EQ(plan.ideal_fraction, 0.0);
  EXPECT_EQ(plan.ratio_to_ideal, 0.0);
}

}  // namespace
