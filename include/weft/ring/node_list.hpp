// weft::ring::parse_node_list: reads "host[:port][=weight],..." into nodes.
//
// The port defaults to 11211 and the weight to 1; each node is named
// "host:port". IPv6 hosts go in brackets: "[::1]:11300=2". Whitespace around
// items is ignored. Errors (empty list, empty host, bad port, weight <= 0 or
// not a number, duplicate node) come back as errc::invalid_argument with the
// offending item in the message.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "weft/result.hpp"
#include "weft/ring/node.hpp"

namespace weft::ring {

result<std::vector<node>> parse_node_list(std::string_view text);

// One item, "host[:port][=weight]".
result<node> parse_node(std::string_view item);

// Back to text: "a:11211=2,b:11211" (weights of 1 are left out).
std::string format_node_list(const std::vector<node>& nodes);

}  // namespace weft::ring
