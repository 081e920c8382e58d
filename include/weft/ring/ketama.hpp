// weft::ring::ketama: libmemcached's weighted ketama, byte for byte.
//
// Same node choice as libmemcached 1.1.4 with MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED
// for every key and node list (checked against the real library in
// tests/unit/ring/ketama_libmemcached_test.cpp):
//  - a node gets floor(w/W * 160/4 * n + 1e-10) * 4 points, computed in
//    single-precision float exactly as libmemcached does;
//  - point strings are "host-i" for port 11211, otherwise "host:port-i";
//  - each MD5 digest gives 4 little-endian 32-bit points;
//  - a key hashes to bytes 0-3 of MD5(key), little-endian, and goes to the
//    first point >= that hash (wrapping); equal points favour the earlier node.
// Compatibility wins over the "tiny weight gets a share" rule: like every
// ketama client, a node whose weight rounds to 0 points gets no keys.
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

class ketama final : public snapshot {
 public:
  static result<std::shared_ptr<const ketama>> make(std::vector<node> nodes, const options& opts = {});

  std::string_view algorithm() const noexcept override { return "ketama"; }
  std::size_t locate_index(std::string_view key) const noexcept override;
  void locate_many(std::span<const std::string_view> keys, std::span<std::size_t> out) const noexcept override;

  // libmemcached's key hash: bytes 0-3 of MD5(key), little-endian.
  static std::uint32_t key_hash(std::string_view key) noexcept;
  // Points each node got, in nodes() order.
  const std::vector<std::uint32_t>& points_per_node() const noexcept { return points_per_node_; }
  std::size_t point_count() const noexcept { return points_.size(); }
  std::size_t memory_bytes() const noexcept { return points_.memory_bytes(); }

 protected:
  void fill_replicas(std::string_view key, std::span<std::size_t> out) const noexcept override;
  result<std::shared_ptr<const snapshot>> rebuild(std::vector<node> nodes) const override;

 private:
  ketama(std::vector<node> nodes, const options& opts) : snapshot(std::move(nodes), opts) {}
  std::size_t owner_at(std::uint32_t hash) const noexcept { return points_.owner(points_.find(hash)); }

  detail::sorted_points<std::uint32_t> points_;
  std::vector<std::uint32_t> points_per_node_;
};

}  // namespace weft::ring
