#include <gtest/gtest.h>

#include "weft/ring/node_list.hpp"

namespace {

using namespace weft::ring;

TEST(ring_node_list, port_defaults_to_11211_and_weight_to_1) {
  auto nodes = parse_node_list("a,b:11300=2, c=0.5 ,[::1]:11400=3");
  ASSERT_TRUE(nodes) << nodes.error().message();
  ASSERT_EQ(nodes->size(), 4U);
  EXPECT_EQ((*nodes)[0], (node{"a:11211", 1.0}));
  EXPECT_EQ((*nodes)[1], (node{"b:11300", 2.0}));
  EXPECT_EQ((*nodes)[2], (node{"c:11211", 0.5}));
  EXPECT_EQ((*nodes)[3], (node{"[::1]:11400", 3.0}));
}

TEST(ring_node_list, formats_back_to_the_same_list) {
  auto nodes = parse_node_list("a,b:11300=2");
  ASSERT_TRUE(nodes);
  EXPECT_EQ(format_node_list(*nodes), "a:11211,b:11300=2");
}

TEST(ring_node_list, rejects_bad_items_with_a_message_naming_them) {
  for (const char* text : {"", " ", "a,,b", "a:", ":11211", "a:0", "a:65536", "a:12x", "a=0", "a=-1", "a=x", "a=",
                           "a=nan", "a=inf", "[::1", "[]:1", "a b", "a,a:11211"}) {
    auto nodes = parse_node_list(text);
    ASSERT_FALSE(nodes) << "accepted '" << text << "'";
    EXPECT_EQ(nodes.error().code(), weft::errc::invalid_argument);
    EXPECT_FALSE(nodes.error().message().empty());
  }
}

TEST(ring_node_list, duplicate_message_names_the_node) {
  auto nodes = parse_node_list("x:1,y:2,x:1");
  ASSERT_FALSE(nodes);
  EXPECT_NE(nodes.error().message().find("x:1"), std::string_view::npos);
}

}  // namespace
