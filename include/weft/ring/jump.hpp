// weft::ring::jump: jump consistent hashing, classic and constant-time.
//
//  - "jump" is Lamping & Veach (2014): no memory, O(ln n) per lookup, moves
//    exactly the ideal 1/(n+1) of the keys when a node is appended.
//  - "jumpback" gives the same guarantees in expected O(1): it walks the
//    bucket range backwards one power-of-two interval at a time, in the
//    manner of Ertl's JumpBackHash (2024). It is weft's own construction and
//    is not bit-compatible with other JumpBackHash implementations.
// Both are unweighted: every node must have the same weight (use rendezvous
// or maglev for weights). Only the last node can leave cheaply; removing any
// other renumbers the buckets after it. Use memento for arbitrary removals.
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

enum class jump_variant : std::uint8_t { classic, back };

class jump final : public snapshot {
 public:
  static result<std::shared_ptr<const jump>> make(std::vector<node> nodes, const options& opts = {},
                                                  jump_variant variant = jump_variant::classic);

  std::string_view algorithm() const noexcept override {
    return variant_ == jump_variant::classic ? "jump" : "jumpback";
  }
  std::size_t locate_index(std::string_view key) const noexcept override;
  jump_variant variant() const noexcept { return variant_; }

  // The bucket in [0, buckets) of a 64-bit key hash. buckets must be >= 1.
  static std::uint32_t classic_bucket(std::uint64_t key, std::uint32_t buckets) noexcept;
  static std::uint32_t back_bucket(std::uint64_t key, std::uint32_t buckets) noexcept;

 protected:
  void fill_replicas(std::string_view key, std::span<std::size_t> out) const noexcept override;
  result<std::shared_ptr<const snapshot>> rebuild(std::vector<node> nodes) const override;

 private:
  jump(std::vector<node> nodes, const options& opts, jump_variant variant)
      : snapshot(std::move(nodes), opts), variant_(variant) {}
  std::uint32_t bucket(std::uint64_t key) const noexcept;

  jump_variant variant_;
};

}  // namespace weft::ring
