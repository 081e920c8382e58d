#include "weft/ring/snapshot.hpp"

#include <cmath>
#include <limits>
#include <string>
#include <unordered_set>

#include <fmt/format.h>

namespace weft::ring {

result<void> validate_nodes(const std::vector<node>& nodes) {
  if (nodes.empty()) {
    return fail(errc::invalid_argument, "the node list is empty; give at least one node");
  }
  if (nodes.size() >= std::numeric_limits<std::uint32_t>::max()) {
    return fail(errc::invalid_argument, "too many nodes; weft rings hold fewer than 2^32 - 1 nodes");
  }
  std::unordered_set<std::string_view> seen;
  seen.reserve(nodes.size());
  for (const node& n : nodes) {
    if (n.name.empty()) {
      return fail(errc::invalid_argument, "a node has an empty name; give every node a name such as host:port");
    }
    if (!std::isfinite(n.weight) || !(n.weight > 0)) {
      return fail(errc::invalid_argument,
                  fmt::format("node '{}' has weight {}; weights must be finite and > 0", n.name, n.weight));
    }
    if (!seen.insert(n.name).second) {
      return fail(errc::invalid_argument, fmt::format("node '{}' appears twice; give each node once", n.name));
    }
  }
  return {};
}

void snapshot::locate_many(std::span<const std::string_view> keys, std::span<std::size_t> out) const noexcept {
  for (std::size_t i = 0; i < keys.size(); ++i) out[i] = locate_index(keys[i]);
}

std::size_t snapshot::place(std::string_view key, std::span<const std::uint64_t> /*loads*/) const noexcept {
  return locate_index(key);
}

result<std::vector<std::size_t>> snapshot::replicas(std::string_view key, std::size_t count) const {
  std::vector<std::size_t> out(count <= nodes_.size() ? count : 0);
  if (count == 0 || count > nodes_.size()) {
    return fail(errc::invalid_argument,
                fmt::format("asked for {} replicas of {} nodes; ask for 1 to {}", count, nodes_.size(), nodes_.size()));
  }
  fill_replicas(key, out);
  return out;
}

result<void> snapshot::replicas_into(std::string_view key, std::span<std::size_t> out) const noexcept {
  if (out.empty() || out.size() > nodes_.size()) {
    return fail(errc::invalid_argument,
                fmt::format("asked for {} replicas of {} nodes; ask for 1 to {}", out.size(), nodes_.size(), nodes_.size()));
  }
  fill_replicas(key, out);
  return {};
}

std::size_t snapshot::find(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    if (nodes_[i].name == name) return i;
  }
  return nodes_.size();
}

result<std::shared_ptr<const snapshot>> snapshot::with_node(const node& added) const {
  if (find(added.name) != nodes_.size()) {
    return fail(errc::invalid_argument, fmt::format("node '{}' is already in the ring", added.name));
  }
  std::vector<node> next = nodes_;
  next.push_back(added);
  return rebuild(std::move(next));
}

result<std::shared_ptr<const snapshot>> snapshot::without_node(std::string_view name) const {
  const std::size_t index = find(name);
  if (index == nodes_.size()) {
    return fail(errc::not_found, fmt::format("node '{}' is not in the ring; check the name (host:port)", name));
  }
  if (nodes_.size() == 1) {
    return fail(errc::invalid_argument, fmt::format("node '{}' is the only node; a ring needs at least one", name));
  }
  std::vector<node> next = nodes_;
  next.erase(next.begin() + static_cast<std::ptrdiff_t>(index));
  return rebuild(std::move(next));
}

}  // namespace weft::ring
