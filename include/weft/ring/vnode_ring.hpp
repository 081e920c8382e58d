// weft::ring::vnode_ring: the classic consistent-hash ring ("ring").
//
// Each node gets max(1, round(weight * vnodes)) points at
// XXH3_64(name, seed = i); a key goes to the first point >= hash(key),
// wrapping. Load std-dev shrinks like 1/sqrt(vnodes); the default of 4000
// per unit weight keeps every node's share, and so each add or remove,
// within ~5% of the ideal at 100 nodes (docs/RING.md). Memory: 12 bytes per
// point plus a prefix index of about 4 bytes per point.
//
// Thread-safety: immutable; safe to read from any number of threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "weft/result.hpp"
#include "weft/ring/detail/sorted_points.hpp"
#include "weft/ring/snapshot.hpp"

namespace weft::ring {

class vnode_ring final : public snapshot {
 public:
  static result<std::shared_ptr<const vnode_ring>> make(std::vector<node> nodes, const options& opts = {});

  std::string_view algorithm() const noexcept override { return "ring"; }
  std::size_t locate_index(std::string_view key) const noexcept override;

  std::size_t point_count() const noexcept { return points_.size(); }
  std::size_t memory_bytes() const noexcept { return points_.memory_bytes(); }
  // The first point index >= hash, and the owner of a point: bounded loads
  // walks the ring with these.
  std::size_t first_point(std::uint64_t hash) const noexcept { return points_.find(hash); }
  std::size_t point_owner(std::size_t point) const noexcept { return points_.owner(point); }
  std::uint64_t key_hash(std::string_view key) const noexcept;

 protected:
  void fill_replicas(std::string_view key, std::span<std::size_t> out) const noexcept override;
  result<std::shared_ptr<const snapshot>> rebuild(std::vector<node> nodes) const override;

 private:
  vnode_ring(std::vector<node> nodes, const options& opts) : snapshot(std::move(nodes), opts) {}

  detail::sorted_points<std::uint64_t> points_;
};

}  // namespace weft::ring
