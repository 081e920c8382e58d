// The grant rule every store shares: one FIFO queue per (recipe, name).
// Internal to weft_lock and its backends.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "weft/lock/store.hpp"

namespace weft::lock::detail {

struct queue_slot {
  access mode = access::exclusive;
  std::uint64_t limit = 1;  // exclusive entries: most holders at once
  bool held = false;
};

// Grants, in queue order, every waiting entry that fits with the holders and
// every entry before it; stops at the first that does not (no bypass, so a
// waiting writer is never starved and FIFO holds). Marks them held and
// returns their indices.
//   shared:            fits when no exclusive entry holds;
//   exclusive limit L: fits when fewer than L hold and no shared entry holds.
std::vector<std::size_t> grant(std::vector<queue_slot>& queue);

}  // namespace weft::lock::detail
