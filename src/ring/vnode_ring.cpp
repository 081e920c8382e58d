#include "weft/ring/vnode_ring.hpp"

#include <cmath>

#include <fmt/format.h>

#include "ring/hash.hpp"
#include "ring/replica_fill.hpp"

namespace weft::ring {

result<std::shared_ptr<const vnode_ring>> vnode_ring::make(std::vector<node> nodes, const options& opts) {
  if (auto valid = validate_nodes(nodes); !valid) return fail(std::move(valid).error());
  if (auto valid = validate(opts); !valid) return fail(std::move(valid).error());
  std::shared_ptr<vnode_ring> built(new vnode_ring(std::move(nodes), opts));
  const auto& list = built->nodes_;

  std::vector<std::uint64_t> counts(list.size());
  double total = 0;
  for (std::size_t i = 0; i < list.size(); ++i) {
    // A tiny weight still gets one point, so it keeps a (small) share.
    const double wanted = std::round(list[i].weight * opts.vnodes);
    counts[i] = wanted < 1 ? 1 : static_cast<std::uint64_t>(std::min(wanted, 4.0e9));
    total += static_cast<double>(counts[i]);
  }
  if (total > 1 << 30) {
    return fail(errc::invalid_argument,
                fmt::format("the ring would have {} points; lower vnodes or the weights (at most 2^30 points)", total));
  }
  std::vector<std::pair<std::uint64_t, std::uint32_t>> entries;
  entries.reserve(static_cast<std::size_t>(total));
  for (std::size_t i = 0; i < list.size(); ++i) {
    for (std::uint64_t v = 0; v < counts[i]; ++v) {
      entries.emplace_back(detail::xxh3(list[i].name, v), static_cast<std::uint32_t>(i));
    }
  }
  built->points_.assign(std::move(entries));
  return std::shared_ptr<const vnode_ring>(std::move(built));
}

std::uint64_t vnode_ring::key_hash(std::string_view key) const noexcept {
  return detail::key_hash(options_.hash, key);
}

std::size_t vnode_ring::locate_index(std::string_view key) const noexcept {
  return points_.owner(points_.find(key_hash(key)));
}

void vnode_ring::fill_replicas(std::string_view key, std::span<std::size_t> out) const noexcept {
  std::size_t point = points_.find(key_hash(key));
  detail::fill_distinct(out, nodes_.size(), points_.size(), [&] {
    const std::size_t owner = points_.owner(point);
    point = point + 1 == points_.size() ? 0 : point + 1;
    return owner;
  });
}

result<std::shared_ptr<const snapshot>> vnode_ring::rebuild(std::vector<node> nodes) const {
  auto built = make(std::move(nodes), options_);
  if (!built) return fail(std::move(built).error());
  return std::shared_ptr<const snapshot>(std::move(*built));
}

}  // namespace weft::ring
