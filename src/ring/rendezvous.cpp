#include "weft/ring/rendezvous.hpp"

#include <array>
#include <cmath>

#include "ring/hash.hpp"

namespace weft::ring {

result<std::shared_ptr<const rendezvous>> rendezvous::make(std::vector<node> nodes, const options& opts) {
  if (auto valid = validate_nodes(nodes); !valid) return fail(std::move(valid).error());
  if (auto valid = validate(opts); !valid) return fail(std::move(valid).error());
  std::shared_ptr<rendezvous> built(new rendezvous(std::move(nodes), opts));
  for (const node& n : built->nodes_) {
    built->seeds_.push_back(detail::xxh3(n.name, 0x5eed));
    if (n.weight != built->nodes_.front().weight) built->weighted_ = true;
  }
  return std::shared_ptr<const rendezvous>(std::move(built));
}

double rendezvous::score(std::uint64_t key_hash, std::size_t index) const noexcept {
  const std::uint64_t mixed = detail::mix64(key_hash ^ seeds_[index]);
  // u in (0, 1), never 0 or 1; -w / ln(u) grows with u and with w.
  const double unit = (static_cast<double>(mixed >> 11) + 0.5) * 0x1.0p-53;
  return -nodes_[index].weight / std::log(unit);
}

std::size_t rendezvous::locate_index(std::string_view key) const noexcept {
  const std::uint64_t hash = detail::key_hash(options_.hash, key);
  std::size_t best = 0;
  if (!weighted_) {
    // Equal weights: -w/ln(u) orders like u, so the raw hashes decide.
    std::uint64_t best_value = detail::mix64(hash ^ seeds_[0]) >> 11;
    for (std::size_t i = 1; i < seeds_.size(); ++i) {
      const std::uint64_t value = detail::mix64(hash ^ seeds_[i]) >> 11;
      if (value > best_value) {
        best_value = value;
        best = i;
      }
    }
    return best;
  }
  double best_score = score(hash, 0);
  for (std::size_t i = 1; i < seeds_.size(); ++i) {
    const double value = score(hash, i);
    if (value > best_score) {
      best_score = value;
      best = i;
    }
  }
  return best;
}

void rendezvous::fill_replicas(std::string_view key, std::span<std::size_t> out) const noexcept {
  // Top out.size() scores by insertion; r is small next to n in practice.
  // Scores live on the stack for up to 32 replicas: no allocation there.
  const std::uint64_t hash = detail::key_hash(options_.hash, key);
  std::array<double, 32> small;
  std::vector<double> large;
  double* top = small.data();
  if (out.size() > small.size()) {
    large.resize(out.size());
    top = large.data();
  }
  std::size_t kept = 0;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    const double value = weighted_ ? score(hash, i) : static_cast<double>(detail::mix64(hash ^ seeds_[i]) >> 11);
    std::size_t position = kept;
    while (position > 0 && top[position - 1] < value) --position;
    if (position >= out.size()) continue;
    if (kept < out.size()) ++kept;
    for (std::size_t j = kept - 1; j > position; --j) {
      top[j] = top[j - 1];
      out[j] = out[j - 1];
    }
    top[position] = value;
    out[position] = i;
  }
}

result<std::shared_ptr<const snapshot>> rendezvous::rebuild(std::vector<node> nodes) const {
  auto built = make(std::move(nodes), options_);
  if (!built) return fail(std::move(built).error());
  return std::shared_ptr<const snapshot>(std::move(*built));
}

}  // namespace weft::ring
