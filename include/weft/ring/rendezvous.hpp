// weft::ring::rendezvous: highest random weight (HRW) hashing, weighted.
//
// Each node scores a key with -weight / ln(u), u = hash(key, node) in (0, 1)
// (the logarithmic method), and the highest score wins; replicas are the top
// scores. Minimal disruption on add and remove, exact weights, any removal;
// but O(n) per lookup, so it suits tens to a few hundred nodes.
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

class rendezvous final : public snapshot {
 public:
  static result<std::shared_ptr<const rendezvous>> make(std::vector<node> nodes, const options& opts = {});

  std::string_view algorithm() const noexcept override { return "rendezvous"; }
  std::size_t locate_index(std::string_view key) const noexcept override;

 protected:
  void fill_replicas(std::string_view key, std::span<std::size_t> out) const noexcept override;
  result<std::shared_ptr<const snapshot>> rebuild(std::vector<node> nodes) const override;

 private:
  rendezvous(std::vector<node> nodes, const options& opts) : snapshot(std::move(nodes), opts) {}
  double score(std::uint64_t key_hash, std::size_t index) const noexcept;

  std::vector<std::uint64_t> seeds_;  // hash of each node's name
  bool weighted_ = false;             // all weights equal: compare raw hashes, skip the log
};

}  // namespace weft::ring
