#include "weft/ring/load_stats.hpp"

#include "weft/ring/bounded_loads.hpp"

#include <algorithm>
#include <cmath>

namespace weft::ring {

load_stats measure_loads(const snapshot& ring, const key_set& keys) {
  load_stats stats;
  const auto nodes = ring.nodes();
  stats.counts.assign(nodes.size(), 0);
  if (const auto* bounded = dynamic_cast<const bounded_loads*>(&ring)) {
    std::uint64_t placed = 0;  // keep the running total: no O(n) sum per key
    keys.for_each([&](std::string_view key) { ++stats.counts[bounded->place(key, stats.counts, placed++)]; });
  } else {
    keys.for_each([&](std::string_view key) { ++stats.counts[ring.place(key, stats.counts)]; });
  }
  stats.keys = keys.size();
  stats.mean = static_cast<double>(stats.keys) / static_cast<double>(nodes.size());
  double total_weight = 0;
  for (const node& n : nodes) total_weight += n.weight;
  if (stats.keys == 0) return stats;
  double sum = 0;
  double sum_squares = 0;
  stats.max_over_fair = 0;
  stats.min_over_fair = INFINITY;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const double fair = static_cast<double>(stats.keys) * nodes[i].weight / total_weight;
    const double ratio = static_cast<double>(stats.counts[i]) / fair;
    stats.max_over_fair = std::max(stats.max_over_fair, ratio);
    stats.min_over_fair = std::min(stats.min_over_fair, ratio);
    sum += ratio;
    sum_squares += ratio * ratio;
  }
  const double count = static_cast<double>(nodes.size());
  const double mean_ratio = sum / count;
  stats.stddev = std::sqrt(std::max(0.0, sum_squares / count - mean_ratio * mean_ratio));
  return stats;
}

}  // namespace weft::ring
