// weft::ring::snapshot: an immutable, built consistent-hashing ring.
//
// Every algorithm (ketama, ring, jump, jumpback, rendezvous, maglev, bounded,
// memento) is a snapshot. A snapshot never changes after it is built, so any
// number of threads may read it at once without locks. A membership change
// (with_node / without_node) builds a new snapshot; publish it through
// weft::ring::atomic_ring so readers switch over atomically.
//
// Node indices are positions in nodes(); they are stable for one snapshot only.
//
// Thread-safety: all const member functions are safe to call concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "weft/result.hpp"
#include "weft/ring/node.hpp"
#include "weft/ring/options.hpp"

namespace weft::ring {

class snapshot {
 public:
  virtual ~snapshot() = default;
  snapshot(const snapshot&) = delete;
  snapshot& operator=(const snapshot&) = delete;

  // The algorithm's name, as the factory knows it ("ketama", "maglev", ...).
  virtual std::string_view algorithm() const noexcept = 0;
  const options& settings() const noexcept { return options_; }

  std::span<const node> nodes() const noexcept { return nodes_; }
  std::size_t size() const noexcept { return nodes_.size(); }

  // The key's node (as an index into nodes()). Never allocates.
  virtual std::size_t locate_index(std::string_view key) const noexcept = 0;
  const node& locate(std::string_view key) const noexcept { return nodes_[locate_index(key)]; }

  // Many keys at once; algorithms may interleave the hashing. out.size() must
  // equal keys.size().
  virtual void locate_many(std::span<const std::string_view> keys,
                           std::span<std::size_t> out) const noexcept;

  // Where a key goes when the caller reports the current load of each node
  // (loads.size() == size()). Only `bounded` looks at the loads; the others
  // return locate_index(key).
  virtual std::size_t place(std::string_view key, std::span<const std::uint64_t> loads) const noexcept;

  // `count` distinct nodes in preference order; the first is locate(key).
  // Fails with invalid_argument when count is 0 or larger than size().
  result<std::vector<std::size_t>> replicas(std::string_view key, std::size_t count) const;
  // The same without allocating (rendezvous: up to 32 replicas); fills out
  // (1 <= out.size() <= size()).
  result<void> replicas_into(std::string_view key, std::span<std::size_t> out) const noexcept;

  // A new snapshot with one more node, or without the named one. The default
  // rebuilds from the changed node list; jump-family algorithms override this
  // to keep their bucket order (see memento.hpp).
  virtual result<std::shared_ptr<const snapshot>> with_node(const node& added) const;
  virtual result<std::shared_ptr<const snapshot>> without_node(std::string_view name) const;

  // Index of the named node, or size() when absent.
  std::size_t find(std::string_view name) const noexcept;

 protected:
  snapshot(std::vector<node> nodes, const options& opts) : nodes_(std::move(nodes)), options_(opts) {}

  // Fills out with distinct indices; out.size() is already validated.
  virtual void fill_replicas(std::string_view key, std::span<std::size_t> out) const noexcept = 0;
  // Builds the same algorithm with the same options over another node list.
  virtual result<std::shared_ptr<const snapshot>> rebuild(std::vector<node> nodes) const = 0;

  std::vector<node> nodes_;
  options options_;
};

// Checks a node list for what every algorithm refuses: empty, duplicate
// names, empty names, weights that are not finite and > 0.
result<void> validate_nodes(const std::vector<node>& nodes);

}  // namespace weft::ring
