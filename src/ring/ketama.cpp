#include "weft/ring/ketama.hpp"

#include <cmath>
#include <cstdio>

#include <fmt/format.h>

#include "ring/hash.hpp"
#include "ring/replica_fill.hpp"

namespace weft::ring {
namespace {

struct host_port {
  std::string_view host;
  unsigned port = default_port;
};

// "host:port" -> (host, port); a name without a numeric port is a host on 11211.
host_port split_name(std::string_view name) {
  const auto colon = name.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == name.size()) return {name, default_port};
  unsigned port = 0;
  for (char c : name.substr(colon + 1)) {
    if (c < '0' || c > '9' || port > 65535) return {name, default_port};
    port = port * 10 + static_cast<unsigned>(c - '0');
  }
  if (port == 0 || port > 65535) return {name, default_port};
  return {name.substr(0, colon), port};
}

}  // namespace

result<std::shared_ptr<const ketama>> ketama::make(std::vector<node> nodes, const options& opts) {
  if (auto valid = validate_nodes(nodes); !valid) return fail(std::move(valid).error());
  std::shared_ptr<ketama> built(new ketama(std::move(nodes), opts));
  const auto& list = built->nodes_;

  // libmemcached sums integer weights into a uint64_t, then divides in float.
  double total_weight = 0;
  for (const node& n : list) total_weight += n.weight;
  const auto live = static_cast<float>(list.size());

  std::vector<std::pair<std::uint32_t, std::uint32_t>> entries;
  entries.reserve(list.size() * 160);
  built->points_per_node_.resize(list.size());
  std::string point_name;
  for (std::size_t index = 0; index < list.size(); ++index) {
    // The same single-precision steps as libmemcached's update_continuum, one
    // operation per statement so no compiler fuses them.
    const float share = static_cast<float>(list[index].weight) / static_cast<float>(total_weight);
    float scaled = share * 160.0F;
    scaled = scaled / 4.0F;
    scaled = scaled * live;
    scaled = scaled + 0.0000000001F;
    const auto groups = static_cast<std::uint32_t>(std::floor(scaled));
    built->points_per_node_[index] = groups * 4;

    const auto [host, port] = split_name(list[index].name);
    for (std::uint32_t group = 0; group < groups; ++group) {
      point_name = port == default_port ? fmt::format("{}-{}", host, group) : fmt::format("{}:{}-{}", host, port, group);
      const auto digest = detail::md5(point_name);
      for (std::size_t part = 0; part < 4; ++part) {
        const std::uint32_t value = static_cast<std::uint32_t>(digest[part * 4]) |
                                    static_cast<std::uint32_t>(digest[part * 4 + 1]) << 8 |
                                    static_cast<std::uint32_t>(digest[part * 4 + 2]) << 16 |
                                    static_cast<std::uint32_t>(digest[part * 4 + 3]) << 24;
        entries.emplace_back(value, static_cast<std::uint32_t>(index));
      }
    }
  }
  if (entries.empty()) {
    return fail(errc::invalid_argument,
                "every node rounds to 0 ketama points; ketama needs weights within about 1:40 of each other");
  }
  built->points_.assign(std::move(entries));
  return std::shared_ptr<const ketama>(std::move(built));
}

std::uint32_t ketama::key_hash(std::string_view key) noexcept { return detail::md5_low32(key); }

std::size_t ketama::locate_index(std::string_view key) const noexcept {
  // libmemcached skips hashing when there is one server; the answer is the same.
  return owner_at(detail::md5_low32(key));
}

void ketama::locate_many(std::span<const std::string_view> keys, std::span<std::size_t> out) const noexcept {
  std::size_t i = 0;
  std::uint32_t hashes[16];
  while (i + 16 <= keys.size()) {
    bool short_keys = true;
    for (std::size_t lane = 0; lane < 16; ++lane) short_keys = short_keys && keys[i + lane].size() <= detail::md5_short_max;
    if (short_keys) {
      detail::md5_short16_low32(&keys[i], hashes);
      for (std::size_t lane = 0; lane < 16; ++lane) out[i + lane] = owner_at(hashes[lane]);
    } else {
      for (std::size_t lane = 0; lane < 16; ++lane) out[i + lane] = locate_index(keys[i + lane]);
    }
    i += 16;
  }
  for (; i < keys.size(); ++i) out[i] = locate_index(keys[i]);
}

void ketama::fill_replicas(std::string_view key, std::span<std::size_t> out) const noexcept {
  std::size_t point = points_.find(key_hash(key));
  detail::fill_distinct(out, nodes_.size(), points_.size(), [&] {
    const std::size_t owner = points_.owner(point);
    point = point + 1 == points_.size() ? 0 : point + 1;
    return owner;
  });
}

result<std::shared_ptr<const snapshot>> ketama::rebuild(std::vector<node> nodes) const {
  auto built = make(std::move(nodes), options_);
  if (!built) return fail(std::move(built).error());
  return std::shared_ptr<const snapshot>(std::move(*built));
}

}  // namespace weft::ring
