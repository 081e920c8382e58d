// Internal: collecting distinct replicas from a stream of candidate nodes.
#pragma once

#include <algorithm>
#include <cstddef>
#include <span>

namespace weft::ring::detail {

// Appends candidates to out (skipping repeats) until it is full or `next`
// runs dry after `limit` candidates; then fills the rest with the unused
// nodes in index order, so the result is always `out.size()` distinct nodes.
template <typename Next>
void fill_distinct(std::span<std::size_t> out, std::size_t node_count, std::size_t limit, Next&& next) noexcept {
  std::size_t filled = 0;
  for (std::size_t step = 0; step < limit && filled < out.size(); ++step) {
    const std::size_t candidate = next();
    if (std::find(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(filled), candidate) ==
        out.begin() + static_cast<std::ptrdiff_t>(filled)) {
      out[filled++] = candidate;
    }
  }
  for (std::size_t candidate = 0; candidate < node_count && filled < out.size(); ++candidate) {
    if (std::find(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(filled), candidate) ==
        out.begin() + static_cast<std::ptrdiff_t>(filled)) {
      out[filled++] = candidate;
    }
  }
}

}  // namespace weft::ring::detail
