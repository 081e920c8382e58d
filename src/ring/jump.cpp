#include "weft/ring/jump.hpp"

#include <bit>

#include <fmt/format.h>

#include "ring/hash.hpp"
#include "ring/replica_fill.hpp"

namespace weft::ring {
namespace {

constexpr std::uint64_t golden = 0x9e3779b97f4a7c15ULL;

}  // namespace

std::uint32_t jump::classic_bucket(std::uint64_t key, std::uint32_t buckets) noexcept {
  // Lamping & Veach: follow the key's jumps while they stay below `buckets`.
  std::int64_t bucket = -1;
  std::int64_t next = 0;
  while (next < static_cast<std::int64_t>(buckets)) {
    bucket = next;
    key = key * 2862933555777941757ULL + 1;
    next = static_cast<std::int64_t>(static_cast<double>(bucket + 1) *
                                     (static_cast<double>(1LL << 31) / static_cast<double>((key >> 33) + 1)));
  }
  return static_cast<std::uint32_t>(bucket);
}

std::uint32_t jump::back_bucket(std::uint64_t key, std::uint32_t buckets) noexcept {
  // Number the buckets j = 1..n. Jump hashing puts a key in the largest j <= n
  // of a random set that holds each j independently with probability 1/j.
  // Split j into intervals [2^q, 2^(q+1)). Within one interval, the set is the
  // part >= 2^q of a descending chain c0 > c1 > ..., c0 uniform on
  // [1, 2^(q+1) - 1] and each next one uniform below the last: such a chain
  // hits every j with probability 1/j, independently. So walk the intervals
  // from the top down: the first chain element <= n and >= 2^q is the answer.
  // Every interval holds an element with probability about 1/2, so the
  // expected cost is a few hashes, whatever n is.
  if (buckets <= 1) return 0;
  const std::uint64_t n = buckets;
  const int top = std::bit_width(n) - 1;  // 2^top <= n < 2^(top + 1)
  for (int q = top; q >= 1; --q) {
    const std::uint64_t low = std::uint64_t{1} << q;
    std::uint64_t random = detail::mix64(key + golden * static_cast<std::uint64_t>(q + 1));
    std::uint64_t candidate = 1 + detail::scale(random, 2 * low - 1);
    while (candidate > n) {  // only in the top interval
      random = detail::mix64(random + golden);
      candidate = 1 + detail::scale(random, candidate - 1);
    }
    if (candidate >= low) return static_cast<std::uint32_t>(candidate - 1);
  }
  return 0;  // j = 1 is always in the set
}

result<std::shared_ptr<const jump>> jump::make(std::vector<node> nodes, const options& opts, jump_variant variant) {
  if (auto valid = validate_nodes(nodes); !valid) return fail(std::move(valid).error());
  if (auto valid = validate(opts); !valid) return fail(std::move(valid).error());
  for (const node& n : nodes) {
    if (n.weight != nodes.front().weight) {
      return fail(errc::invalid_argument,
                  fmt::format("jump hashing is unweighted but node '{}' has weight {} and '{}' has {}; "
                              "give all nodes the same weight, or use rendezvous, maglev or ring for weights",
                              n.name, n.weight, nodes.front().name, nodes.front().weight));
    }
  }
  return std::shared_ptr<const jump>(new jump(std::move(nodes), opts, variant));
}

std::uint32_t jump::bucket(std::uint64_t key) const noexcept {
  const auto count = static_cast<std::uint32_t>(nodes_.size());
  return variant_ == jump_variant::classic ? classic_bucket(key, count) : back_bucket(key, count);
}

std::size_t jump::locate_index(std::string_view key) const noexcept {
  return bucket(detail::key_hash(options_.hash, key));
}

void jump::fill_replicas(std::string_view key, std::span<std::size_t> out) const noexcept {
  std::uint64_t hash = detail::key_hash(options_.hash, key);
  bool first = true;
  detail::fill_distinct(out, nodes_.size(), 32 * out.size() + 64, [&] {
    if (!first) hash = detail::mix64(hash + golden);
    first = false;
    return static_cast<std::size_t>(bucket(hash));
  });
}

result<std::shared_ptr<const snapshot>> jump::rebuild(std::vector<node> nodes) const {
  auto built = make(std::move(nodes), options_, variant_);
  if (!built) return fail(std::move(built).error());
  return std::shared_ptr<const snapshot>(std::move(*built));
}

}  // namespace weft::ring
