// weft::ring::node: one member of a consistent-hashing ring.
//
// A node is a name and a weight. The name is the node's identity: every
// algorithm hashes it, and two nodes with the same name are the same node.
// Names written by parse_node_list are "host:port" (port 11211 by default), so
// ketama can rebuild libmemcached's "host-i" / "host:port-i" point strings.
// The weight is relative: a node of weight 2 gets about twice the keys of a
// node of weight 1. It must be finite and > 0.
//
// Thread-safety: plain value type.
#pragma once

#include <cstdint>
#include <string>

namespace weft::ring {

// memcached's port; a node name without a port means this one.
inline constexpr std::uint16_t default_port = 11211;

struct node {
  std::string name;
  double weight = 1.0;

  friend bool operator==(const node&, const node&) = default;
};

}  // namespace weft::ring
