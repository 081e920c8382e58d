// weft::ring::migration_plan: what moves between two snapshots.
//
// plan_migration places the same key set on both snapshots and reports the
// fraction that changes node against the theoretical minimum: the total
// variation distance between the two fair-share vectors (1/(n+1) when one of
// n equal nodes is added, 1/n when one is removed). For every node of either
// snapshot it gives the keys before, after, gained and lost; with
// `list_moves` it also lists each moved key (given key sets only).
//
// Thread-safety: pure function over immutable snapshots.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "weft/ring/key_set.hpp"
#include "weft/ring/snapshot.hpp"

namespace weft::ring {

struct node_migration {
  std::string name;
  std::uint64_t before = 0;  // keys on the node in the old snapshot
  std::uint64_t after = 0;   // ... and in the new one
  std::uint64_t gained = 0;  // keys that move onto it
  std::uint64_t lost = 0;    // keys that move away from it
};

struct key_move {
  std::string key;
  std::string from;
  std::string to;
};

struct migration_plan {
  std::uint64_t keys = 0;
  std::uint64_t moved = 0;
  double moved_fraction = 0;    // moved / keys
  double ideal_fraction = 0;    // the least any algorithm could move
  double ratio_to_ideal = 0;    // moved_fraction / ideal_fraction (1 is optimal; 0 when ideal is 0)
  std::vector<node_migration> nodes;  // old snapshot's order, then nodes only in the new one
  std::vector<key_move> moves;        // only with list_moves
};

// The least fraction of keys that must move from fair shares `before` to `after`.
double ideal_moved_fraction(const snapshot& before, const snapshot& after);

migration_plan plan_migration(const snapshot& before, const snapshot& after, const key_set& keys,
                              bool list_moves = false);

}  // namespace weft::ring
