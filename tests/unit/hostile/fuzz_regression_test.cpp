// Inputs found by the fuzz targets (tests/fuzz), kept as unit tests.
#include <string>

#include <gtest/gtest.h>

#include "weft/ring/node_list.hpp"

namespace {

// fuzz_node_list: "[:    =HH]=1" is accepted (a bracketed "IPv6 host" with
// spaces and '='), but format_node_list gives "[:    =HH]:11211", which
// parse_node_list then rejects ("has weight 'HH]:11211'"): the weight is split
// at an '=' inside the brackets. Either the host must be rejected or the
// formatted list must parse back to the same nodes.
TEST(fuzz_regression, node_list_with_equals_inside_brackets_round_trips_or_is_rejected) {
  for (std::string text : {"[:    =HH]=1", "[a=b]=2", "[::1=x]:11300"}) {
    auto nodes = weft::ring::parse_node_list(text);
    if (!nodes) continue;  // rejecting it is a fine answer
    auto again = weft::ring::parse_node_list(weft::ring::format_node_list(*nodes));
    ASSERT_TRUE(again) << text << " parsed, but its formatted form did not: " << again.error().message();
    EXPECT_EQ(*again, *nodes) << text;
  }
}

}  // namespace
