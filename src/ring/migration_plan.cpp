#include "weft/ring/migration_plan.hpp"

#include "weft/ring/bounded_loads.hpp"

#include <algorithm>
#include <string>
#include <unordered_map>

namespace weft::ring {
namespace {

// Old snapshot's names in order, then the new ones; maps each snapshot's
// index onto this union.
struct name_union {
  std::vector<std::string> names;
  std::vector<std::size_t> from_before;
  std::vector<std::size_t> from_after;
};

name_union unite(const snapshot& before, const snapshot& after) {
  name_union u;
  std::unordered_map<std::string_view, std::size_t> index;
  for (const node& n : before.nodes()) {
    index.emplace(n.name, u.names.size());
    u.from_before.push_back(u.names.size());
    u.names.push_back(n.name);
  }
  for (const node& n : after.nodes()) {
    auto [it, inserted] = index.emplace(n.name, u.names.size());
    if (inserted) u.names.push_back(n.name);
    u.from_after.push_back(it->second);
  }
  return u;
}

std::vector<double> shares(const snapshot& ring, const std::vector<std::size_t>& to_union, std::size_t size) {
  std::vector<double> out(size, 0.0);
  double total = 0;
  for (const node& n : ring.nodes()) total += n.weight;
  const auto nodes = ring.nodes();
  for (std::size_t i = 0; i < nodes.size(); ++i) out[to_union[i]] = nodes[i].weight / total;
  return out;
}

}  // namespace

double ideal_moved_fraction(const snapshot& before, const snapshot& after) {
  const name_union u = unite(before, after);
  const auto old_shares = shares(before, u.from_before, u.names.size());
  const auto new_shares = shares(after, u.from_after, u.names.size());
  double moved = 0;
  for (std::size_t i = 0; i < u.names.size(); ++i) moved += std::max(0.0, old_shares[i] - new_shares[i]);
  return moved;
}

migration_plan plan_migration(const snapshot& before, const snapshot& after, const key_set& keys, bool list_moves) {
  migration_plan plan;
  const name_union u = unite(before, after);
  plan.nodes.resize(u.names.size());
  for (std::size_t i = 0; i < u.names.size(); ++i) plan.nodes[i].name = u.names[i];

  std::vector<std::uint64_t> old_loads(before.size(), 0);
  std::vector<std::uint64_t> new_loads(after.size(), 0);
  const auto* bounded_before = dynamic_cast<const bounded_loads*>(&before);
  const auto* bounded_after = dynamic_cast<const bounded_loads*>(&after);
  std::uint64_t placed = 0;
  keys.for_each([&](std::string_view key) {
    const std::size_t old_index =
        bounded_before ? bounded_before->place(key, old_loads, placed) : before.place(key, old_loads);
    const std::size_t new_index =
        bounded_after ? bounded_after->place(key, new_loads, placed) : after.place(key, new_loads);
    ++placed;
    ++old_loads[old_index];
    ++new_loads[new_index];
    const std::size_t from = u.from_before[old_index];
    const std::size_t to = u.from_after[new_index];
    ++plan.nodes[from].before;
    ++plan.nodes[to].after;
    if (from != to) {
      ++plan.moved;
      ++plan.nodes[from].lost;
      ++plan.nodes[to].gained;
      if (list_moves) plan.moves.push_back({std::string(key), u.names[from], u.names[to]});
    }
  });
  plan.keys = keys.size();
  plan.moved_fraction = plan.keys == 0 ? 0 : static_cast<double>(plan.moved) / static_cast<double>(plan.keys);
  plan.ideal_fraction = ideal_moved_fraction(before, after);
  plan.ratio_to_ideal = plan.ideal_fraction > 0 ? plan.moved_fraction / plan.ideal_fraction : 0;
  return plan;
}

}  // namespace weft::ring
