// weft::ring::maglev: Maglev hashing (Eisenbud et al., NSDI 2016), weighted.
//
// A lookup table of M entries (M prime, default 65537 as in Envoy) is filled
// by each node's permutation (offset + j * skip) mod M, nodes taking turns in
// proportion to their weight; every node gets at least one entry. A key goes
// to table[hash(key) mod M]: one hash and one load. Equal weights get
// floor(M/n) or ceil(M/n) entries each. Membership changes move somewhat more
// than the minimum (about 2x on removal in the paper; measured in RING.md).
//
// Thread-safety: immutable; safe to read from any number of threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "weft/result.hpp"
#include "weft/ring/snapshot.hpp"

namespace weft::ring {

class maglev final : public snapshot {
 public:
  static result<std::shared_ptr<const maglev>> make(std::vector<node> nodes, const options& opts = {});

  std::string_view algorithm() const noexcept override { return "maglev"; }
  std::size_t locate_index(std::string_view key) const noexcept override;

  // Table entries owned by each node, in nodes() order.
  std::vector<std::uint32_t> entries_per_node() const;
  std::size_t table_size() const noexcept { return table_.size(); }

 protected:
  void fill_replicas(std::string_view key, std::span<std::size_t> out) const noexcept override;
  result<std::shared_ptr<const snapshot>> rebuild(std::vector<node> nodes) const override;

 private:
  maglev(std::vector<node> nodes, const options& opts) : snapshot(std::move(nodes), opts) {}

  std::vector<std::uint32_t> table_;
};

}  // namespace weft::ring
