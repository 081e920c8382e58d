#include "weft/ring/memento.hpp"

#include <fmt/format.h>

#include "ring/hash.hpp"
#include "ring/replica_fill.hpp"
#include "weft/ring/jump.hpp"

namespace weft::ring {
namespace {

constexpr std::uint64_t redraw = 0x9e3779b97f4a7c15ULL;

}  // namespace

std::shared_ptr<const memento> memento::from_slots(std::vector<node> slot_nodes, std::vector<bool> removed,
                                                   std::vector<std::uint32_t> removed_order, const options& opts) {
  std::vector<node> working;
  std::vector<std::uint32_t> slots(slot_nodes.size(), removed_slot);
  for (std::size_t b = 0; b < slot_nodes.size(); ++b) {
    if (removed[b]) continue;
    slots[b] = static_cast<std::uint32_t>(working.size());
    working.push_back(slot_nodes[b]);
  }
  std::shared_ptr<memento> built(new memento(std::move(working), opts));
  built->slots_ = std::move(slots);
  built->slot_nodes_ = std::move(slot_nodes);
  built->removed_order_ = std::move(removed_order);
  return built;
}

result<std::shared_ptr<const memento>> memento::make(std::vector<node> nodes, const options& opts) {
  if (auto valid = validate_nodes(nodes); !valid) return fail(std::move(valid).error());
  if (auto valid = validate(opts); !valid) return fail(std::move(valid).error());
  for (const node& n : nodes) {
    if (n.weight != nodes.front().weight) {
      return fail(errc::invalid_argument,
                  fmt::format("memento is unweighted but node '{}' has weight {} and '{}' has {}; "
                              "give all nodes the same weight, or use rendezvous, maglev or ring for weights",
                              n.name, n.weight, nodes.front().name, nodes.front().weight));
    }
  }
  std::vector<bool> removed(nodes.size(), false);
  return from_slots(std::move(nodes), std::move(removed), {}, opts);
}

std::size_t memento::resolve(std::uint64_t hash) const noexcept {
  const auto buckets = static_cast<std::uint32_t>(slots_.size());
  std::uint32_t bucket = jump::back_bucket(hash, buckets);
  // Removed bucket: draw again among all buckets until one works. The draws
  // do not depend on which buckets are removed, so removing a node moves only
  // its own keys, and every working bucket is equally likely.
  for (int attempt = 0; slots_[bucket] == removed_slot && attempt < 4096; ++attempt) {
    hash = detail::mix64(hash + redraw);
    bucket = jump::back_bucket(hash, buckets);
  }
  while (slots_[bucket] == removed_slot) bucket = bucket + 1 == buckets ? 0 : bucket + 1;  // never in practice
  return slots_[bucket];
}

std::size_t memento::locate_index(std::string_view key) const noexcept {
  return resolve(detail::key_hash(options_.hash, key));
}

void memento::fill_replicas(std::string_view key, std::span<std::size_t> out) const noexcept {
  std::uint64_t hash = detail::key_hash(options_.hash, key);
  bool first = true;
  detail::fill_distinct(out, nodes_.size(), 32 * out.size() + 64, [&] {
    if (!first) hash = detail::mix64(hash ^ 0x7265706c69636173ULL);  // a stream apart from the re-draws
    first = false;
    return resolve(hash);
  });
}

result<std::shared_ptr<const snapshot>> memento::with_node(const node& added) const {
  if (find(added.name) != nodes_.size()) {
    return fail(errc::invalid_argument, fmt::format("node '{}' is already in the ring", added.name));
  }
  if (added.weight != nodes_.front().weight) {
    return fail(errc::invalid_argument,
                fmt::format("memento is unweighted; give node '{}' weight {} like the others", added.name,
                            nodes_.front().weight));
  }
  std::vector<node> slot_nodes = slot_nodes_;
  std::vector<bool> removed(slots_.size());
  for (std::size_t b = 0; b < slots_.size(); ++b) removed[b] = slots_[b] == removed_slot;
  std::vector<std::uint32_t> order = removed_order_;
  if (!order.empty()) {
    // Restore the most recent removal: exactly the keys it sent away come back.
    const std::uint32_t bucket = order.back();
    order.pop_back();
    slot_nodes[bucket] = added;
    removed[bucket] = false;
  } else {
    slot_nodes.push_back(added);
    removed.push_back(false);
  }
  return std::shared_ptr<const snapshot>(from_slots(std::move(slot_nodes), std::move(removed), std::move(order), options_));
}

result<std::shared_ptr<const snapshot>> memento::without_node(std::string_view name) const {
  const std::size_t index = find(name);
  if (index == nodes_.size()) {
    return fail(errc::not_found, fmt::format("node '{}' is not in the ring; check the name (host:port)", name));
  }
  if (nodes_.size() == 1) {
    return fail(errc::invalid_argument, fmt::format("node '{}' is the only node; a ring needs at least one", name));
  }
  std::uint32_t bucket = 0;
  while (slots_[bucket] != index) ++bucket;
  std::vector<node> slot_nodes = slot_nodes_;
  std::vector<bool> removed(slots_.size());
  for (std::size_t b = 0; b < slots_.size(); ++b) removed[b] = slots_[b] == removed_slot;
  std::vector<std::uint32_t> order = removed_order_;
  if (bucket + 1 == slots_.size()) {
    // The last bucket shrinks the range: jump moves only its keys.
    slot_nodes.pop_back();
    removed.pop_back();
  } else {
    removed[bucket] = true;
    order.push_back(bucket);
  }
  return std::shared_ptr<const snapshot>(from_slots(std::move(slot_nodes), std::move(removed), std::move(order), options_));
}

result<std::shared_ptr<const snapshot>> memento::rebuild(std::vector<node> nodes) const {
  auto built = make(std::move(nodes), options_);
  if (!built) return fail(std::move(built).error());
  return std::shared_ptr<const snapshot>(std::move(*built));
}

}  // namespace weft::ring
