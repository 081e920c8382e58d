#include "weft/ring/maglev.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "ring/hash.hpp"
#include "ring/replica_fill.hpp"

namespace weft::ring {

result<std::shared_ptr<const maglev>> maglev::make(std::vector<node> nodes, const options& opts) {
  if (auto valid = validate_nodes(nodes); !valid) return fail(std::move(valid).error());
  if (auto valid = validate(opts); !valid) return fail(std::move(valid).error());
  if (opts.table_size < nodes.size()) {
    return fail(errc::invalid_argument,
                fmt::format("maglev table size {} is smaller than the {} nodes; use a prime above 100 x nodes",
                            opts.table_size, nodes.size()));
  }
  std::shared_ptr<maglev> built(new maglev(std::move(nodes), opts));
  const auto& list = built->nodes_;
  const std::uint64_t size = opts.table_size;
  const std::size_t count = list.size();

  std::vector<std::uint64_t> offset(count), skip(count), next(count, 0);
  double heaviest = 0;
  for (std::size_t i = 0; i < count; ++i) {
    offset[i] = detail::xxh3(list[i].name, 0x0ff5e7) % size;
    skip[i] = detail::xxh3(list[i].name, 0x5c1b) % (size - 1) + 1;
    heaviest = std::max(heaviest, list[i].weight);
  }
  constexpr std::uint32_t empty = 0xFFFFFFFFU;
  built->table_.assign(size, empty);
  std::vector<std::uint64_t> taken(count, 0);
  std::vector<double> allowance(count, 0);
  std::uint64_t filled = 0;
  // Nodes take turns; each turn a node earns weight/heaviest of an entry and
  // claims entries while it is owed one. The first turn gives every node an
  // entry, so a tiny weight keeps a share.
  for (bool first_turn = true; filled < size; first_turn = false) {
    for (std::size_t i = 0; i < count && filled < size; ++i) {
      allowance[i] += list[i].weight / heaviest;
      while (filled < size && (static_cast<double>(taken[i]) < allowance[i] || (first_turn && taken[i] == 0))) {
        std::uint64_t slot = 0;
        do {
          slot = (offset[i] + next[i] * skip[i]) % size;
          ++next[i];
        } while (built->table_[slot] != empty);
        built->table_[slot] = static_cast<std::uint32_t>(i);
        ++taken[i];
        ++filled;
      }
    }
  }
  return std::shared_ptr<const maglev>(std::move(built));
}

std::size_t maglev::locate_index(std::string_view key) const noexcept {
  return table_[detail::scale(detail::key_hash(options_.hash, key), table_.size())];
}

std::vector<std::uint32_t> maglev::entries_per_node() const {
  std::vector<std::uint32_t> counts(nodes_.size(), 0);
  for (std::uint32_t owner : table_) ++counts[owner];
  return counts;
}

void maglev::fill_replicas(std::string_view key, std::span<std::size_t> out) const noexcept {
  std::size_t slot = detail::scale(detail::key_hash(options_.hash, key), table_.size());
  detail::fill_distinct(out, nodes_.size(), table_.size(), [&] {
    const std::size_t owner = table_[slot];
    slot = slot + 1 == table_.size() ? 0 : slot + 1;
    return owner;
  });
}

result<std::shared_ptr<const snapshot>> maglev::rebuild(std::vector<node> nodes) const {
  auto built = make(std::move(nodes), options_);
  if (!built) return fail(std::move(built).error());
  return std::shared_ptr<const snapshot>(std::move(*built));
}

}  // namespace weft::ring
