#include "weft/ring/bounded_loads.hpp"

#include <cmath>
#include <numeric>

#include "ring/hash.hpp"

namespace weft::ring {

result<std::shared_ptr<const bounded_loads>> bounded_loads::make(std::vector<node> nodes, const options& opts) {
  auto inner = vnode_ring::make(nodes, opts);
  if (!inner) return fail(std::move(inner).error());
  std::shared_ptr<bounded_loads> built(new bounded_loads(std::move(nodes), opts));
  built->ring_ = std::move(*inner);
  for (const node& n : built->nodes_) built->total_weight_ += n.weight;
  return std::shared_ptr<const bounded_loads>(std::move(built));
}

std::size_t bounded_loads::locate_index(std::string_view key) const noexcept { return ring_->locate_index(key); }

std::uint64_t bounded_loads::capacity(std::size_t index, std::uint64_t total) const noexcept {
  const double fair = static_cast<double>(total) * nodes_[index].weight / total_weight_;
  return static_cast<std::uint64_t>(std::ceil((1.0 + options_.epsilon) * fair));
}

std::size_t bounded_loads::place(std::string_view key, std::span<const std::uint64_t> loads) const noexcept {
  return place(key, loads, std::accumulate(loads.begin(), loads.end(), std::uint64_t{0}));
}

std::size_t bounded_loads::place(std::string_view key, std::span<const std::uint64_t> loads,
                                 std::uint64_t current_total) const noexcept {
  if (loads.size() != nodes_.size()) return locate_index(key);
  const std::uint64_t total = current_total + 1;  // counting the key being placed
  const std::size_t points = ring_->point_count();
  std::size_t point = ring_->first_point(ring_->key_hash(key));
  for (std::size_t step = 0; step < points; ++step) {
    const std::size_t owner = ring_->point_owner(point);
    if (loads[owner] < capacity(owner, total)) return owner;
    point = point + 1 == points ? 0 : point + 1;
  }
  // Unreachable: the capacities add up to more than the total.
  return ring_->locate_index(key);
}

void bounded_loads::fill_replicas(std::string_view key, std::span<std::size_t> out) const noexcept {
  (void)ring_->replicas_into(key, out);
}

result<std::shared_ptr<const snapshot>> bounded_loads::rebuild(std::vector<node> nodes) const {
  auto built = make(std::move(nodes), options_);
  if (!built) return fail(std::move(built).error());
  return std::shared_ptr<const snapshot>(std::move(*built));
}

}  // namespace weft::ring
