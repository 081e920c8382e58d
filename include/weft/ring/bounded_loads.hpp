// weft::ring::bounded_loads: consistent hashing with bounded loads
// (Mirrokni, Thorup & Zadimoghaddam, 2018), over a vnode ring.
//
// The caller reports each node's current load to place(); a node is full at
// ceil((1 + epsilon) * (total + 1) * weight / total_weight) and the key walks
// on along the ring to the next node that is not full. So no node ever holds
// more than (1 + epsilon) times its share, at the price of a few extra moves
// when membership changes. locate() without loads is the plain ring.
//
// Thread-safety: immutable; safe to read from any number of threads. The
// loads belong to the caller, who must synchronise them.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "weft/result.hpp"
#include "weft/ring/snapshot.hpp"
#include "weft/ring/vnode_ring.hpp"

namespace weft::ring {

class bounded_loads final : public snapshot {
 public:
  static result<std::shared_ptr<const bounded_loads>> make(std::vector<node> nodes, const options& opts = {});

  std::string_view algorithm() const noexcept override { return "bounded"; }
  std::size_t locate_index(std::string_view key) const noexcept override;
  std::size_t place(std::string_view key, std::span<const std::uint64_t> loads) const noexcept override;
  // The same when the caller keeps the running total of the loads (saves an
  // O(n) sum per key).
  std::size_t place(std::string_view key, std::span<const std::uint64_t> loads, std::uint64_t total) const noexcept;

  // The most keys node `index` may hold when `total` keys are placed in all
  // (counting the one being placed).
  std::uint64_t capacity(std::size_t index, std::uint64_t total) const noexcept;

 protected:
  void fill_replicas(std::string_view key, std::span<std::size_t> out) const noexcept override;
  result<std::shared_ptr<const snapshot>> rebuild(std::vector<node> nodes) const override;

 private:
  bounded_loads(std::vector<node> nodes, const options& opts) : snapshot(std::move(nodes), opts) {}

  std::shared_ptr<const vnode_ring> ring_;
  double total_weight_ = 0;
};

}  // namespace weft::ring
