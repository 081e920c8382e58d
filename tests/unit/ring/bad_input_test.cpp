#include <cmath>

#include <gtest/gtest.h>

#include "test_support.hpp"
#include "weft/ring/factory.hpp"

namespace {

using namespace weft::ring;
using weft::ring::testing::equal_nodes;

class bad_input : public ::testing::TestWithParam<std::string_view> {};

INSTANTIATE_TEST_SUITE_P(ring, bad_input, ::testing::ValuesIn(algorithm_names().begin(), algorithm_names().end()),
                         weft::ring::testing::param_name);

void expect_invalid(const weft::result<std::shared_ptr<const snapshot>>& built, std::string_view what) {
  ASSERT_FALSE(built) << what;
  EXPECT_EQ(built.error().code(), weft::errc::invalid_argument) << what;
  EXPECT_FALSE(built.error().message().empty());
}

TEST_P(bad_input, empty_node_list_is_an_error) { expect_invalid(make(GetParam(), {}), "empty"); }

TEST_P(bad_input, duplicate_node_is_an_error) {
  expect_invalid(make(GetParam(), {{"a:1", 1.0}, {"b:1", 1.0}, {"a:1", 1.0}}), "duplicate");
}

TEST_P(bad_input, zero_negative_and_non_finite_weights_are_errors) {
  for (double weight : std::vector<double>{0.0, -1.0, NAN, INFINITY}) {
    expect_invalid(make(GetParam(), {{"a:1", 1.0}, {"b:1", weight}}), "weight");
  }
}

TEST_P(bad_input, empty_node_name_is_an_error) { expect_invalid(make(GetParam(), {{"", 1.0}}), "empty name"); }

TEST_P(bad_input, removing_an_unknown_node_is_not_found) {
  auto ring = make(GetParam(), equal_nodes(3));
  ASSERT_TRUE(ring);
  auto removed = (*ring)->without_node("nope:1");
  ASSERT_FALSE(removed);
  EXPECT_EQ(removed.error().code(), weft::errc::not_found);
}

TEST_P(bad_input, adding_a_node_twice_is_an_error) {
  auto ring = make(GetParam(), equal_nodes(3));
  ASSERT_TRUE(ring);
  EXPECT_FALSE((*ring)->with_node((*ring)->nodes()[1]));
}

TEST(ring_bad_input, unknown_algorithm_lists_the_known_ones) {
  auto built = make("consistent", equal_nodes(3));
  ASSERT_FALSE(built);
  EXPECT_EQ(built.error().code(), weft::errc::invalid_argument);
  EXPECT_NE(built.error().message().find("maglev"), std::string_view::npos);
}

TEST(ring_bad_input, bad_options_are_errors) {
  options not_prime;
  not_prime.table_size = 65536;
  expect_invalid(make("maglev", equal_nodes(3), not_prime), "table not prime");
  options huge_table;
  huge_table.table_size = 4294967291U;  // prime, but 16 GiB of table
  expect_invalid(make("maglev", equal_nodes(3), huge_table), "table too large");
  options small_table;
  small_table.table_size = 7;
  expect_invalid(make("maglev", equal_nodes(10), small_table), "table smaller than nodes");
  options no_vnodes;
  no_vnodes.vnodes = 0;
  expect_invalid(make("ring", equal_nodes(3), no_vnodes), "vnodes 0");
  options zero_epsilon;
  zero_epsilon.epsilon = 0;
  expect_invalid(make("bounded", equal_nodes(3), zero_epsilon), "epsilon 0");
  EXPECT_FALSE(parse_hash_function("crc32"));
}

TEST(ring_bad_input, jump_family_refuses_unequal_weights) {
  for (const char* algorithm : {"jump", "jumpback", "memento"}) {
    expect_invalid(make(algorithm, {{"a:1", 1.0}, {"b:1", 2.0}}), algorithm);
  }
}

}  // namespace
