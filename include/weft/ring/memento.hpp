// weft::ring::memento: jump hashing with arbitrary removals (memento-style).
//
// Buckets are jumpback buckets [0, B). Removing a node marks its bucket
// removed (or, for the last bucket, shrinks B); a key whose bucket is removed
// draws again with a re-seeded hash until it lands on a working bucket, so
// only the removed node's keys move and they spread evenly (expected B/W
// draws for W working buckets). Adding a node first restores the most
// recently removed bucket, else appends one: only keys onto the new node
// move. Like MementoHash (Coluzzi et al., 2023) it costs nothing until a node
// is removed and remembers only the removed buckets; unlike it, the re-draw
// is a plain rejection step (closer to DxHash), which weft chose for its
// simple proof of minimal disruption. Unweighted, like jump.
//
// Membership history lives in the snapshot: use with_node / without_node to
// keep it; make() from a list starts a fresh history.
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

class memento final : public snapshot {
 public:
  static result<std::shared_ptr<const memento>> make(std::vector<node> nodes, const options& opts = {});

  std::string_view algorithm() const noexcept override { return "memento"; }
  std::size_t locate_index(std::string_view key) const noexcept override;

  result<std::shared_ptr<const snapshot>> with_node(const node& added) const override;
  result<std::shared_ptr<const snapshot>> without_node(std::string_view name) const override;

  std::size_t bucket_count() const noexcept { return slots_.size(); }
  std::size_t removed_count() const noexcept { return removed_order_.size(); }

 protected:
  void fill_replicas(std::string_view key, std::span<std::size_t> out) const noexcept override;
  result<std::shared_ptr<const snapshot>> rebuild(std::vector<node> nodes) const override;

 private:
  static constexpr std::uint32_t removed_slot = 0xFFFFFFFFU;
  memento(std::vector<node> nodes, const options& opts) : snapshot(std::move(nodes), opts) {}
  static std::shared_ptr<const memento> from_slots(std::vector<node> slot_nodes, std::vector<bool> removed,
                                                   std::vector<std::uint32_t> removed_order, const options& opts);
  std::size_t resolve(std::uint64_t hash) const noexcept;

  // slots_[bucket] = index into nodes_, or removed_slot.
  std::vector<std::uint32_t> slots_;
  // Node of every bucket, removed ones included (to restore them).
  std::vector<node> slot_nodes_;
  std::vector<std::uint32_t> removed_order_;  // buckets, oldest removal first
};

}  // namespace weft::ring
