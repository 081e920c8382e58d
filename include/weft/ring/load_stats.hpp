// weft::ring::load_stats: how evenly a snapshot spreads a key set.
//
// Keys are placed one after another with place(), so bounded loads sees the
// loads it would see in service. Balance is judged against each node's fair
// share (its weight over the total), so weighted rings are judged fairly:
// max_over_fair is max over nodes of count / (keys * weight / total weight).
// For equal weights that is the usual max/mean.
//
// Thread-safety: pure function over an immutable snapshot.
#pragma once

#include <cstdint>
#include <vector>

#include "weft/ring/key_set.hpp"
#include "weft/ring/snapshot.hpp"

namespace weft::ring {

struct load_stats {
  std::vector<std::uint64_t> counts;  // keys per node, in nodes() order
  std::uint64_t keys = 0;
  double mean = 0;              // keys / nodes
  double max_over_fair = 0;     // worst node against its fair share (1 is perfect)
  double min_over_fair = 0;     // least loaded node against its fair share
  double stddev = 0;            // of count / fair share, relative (0 is perfect)
};

load_stats measure_loads(const snapshot& ring, const key_set& keys);

}  // namespace weft::ring
