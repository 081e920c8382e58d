#include "weft/ring/jump.hpp"

#include <bit>

#include <fmt/format.h>

#include "ring/hash.hpp"
#include "ring/replica_fill.hpp"

namespace weft::ring {
namespace {

constexpr std::uint64_t golden = 0x9e3779b97f4a7c15ULL;

// One 64x64->128 multiply, halves xor-ed: a cheap, well-spread mix of a and b.
inline std::uint64_t fold(std::uint64_t a, std::uint64_t b) noexcept {
  __extension__ using wide = unsigned __int128;
  const wide product = static_cast<wide>(a ^ 0xa0761d6478bd642fULL) * (b ^ 0xe7037ed1a0b428dbULL);
  return static_cast<std::uint64_t>(product) ^ static_cast<std::uint64_t>(product >> 64);
}

// c ? a : b with a mask, so the compiler cannot turn it into a branch.
inline std::uint64_t select(bool c, std::uint64_t a, std::uint64_t b) noexcept {
  const std::uint64_t mask = 0 - static_cast<std::uint64_t>(c);
  return (a & mask) | (b & ~mask);
}

// A distinct odd constant per interval.
constexpr std::uint64_t interval_constant(int q) noexcept {
  return (static_cast<std::uint64_t>(q) + 1) * 0x8ebc6af09c88c6e3ULL | 1U;
}

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
  // Jump hashing puts a key in the largest bucket b < n of a random set that
  // holds each b independently with probability 1/(b+1) (b = 0 always).
  // Split the buckets into intervals [2^q, 2^(q+1)). An interval is empty
  // with probability exactly 1/2, so one random bit per interval says which
  // intervals hold a member; and given that an interval holds one, its
  // largest member is uniform over the interval. Below a member m, the next
  // member is uniform on [0, m), where landing under 2^q means "none left in
  // this interval". So: take the highest non-empty interval (count leading
  // zeros); only in the interval holding n - 1 may the member exceed n - 1,
  // and then walk down its members. Expected O(1): this is the design of
  // Ertl's JumpBackHash (2024), in weft's own code and random streams.
  //
  // The common cases are computed side by side and picked without branches
  // (the choices are coin flips a branch predictor cannot learn).
  if (buckets <= 1) return 0;
  const std::uint64_t last = buckets - 1;
  const int top = std::bit_width(last) - 1;  // interval of bucket n - 1
  const std::uint64_t low = std::uint64_t{1} << top;
  // The key is a well-mixed 64-bit hash: its bits say which intervals hold a
  // member (bit q for interval q); the draws inside an interval come from a
  // multiply-fold of the key with a per-interval constant.
  const std::uint64_t nonempty = key;

  // The answer when the top interval has nothing <= n - 1: the largest
  // member of the highest non-empty interval below it, or bucket 0. A draw
  // uniform over an interval [2^q, 2^(q+1)) is 2^q plus the top q bits.
  const std::uint64_t below = nonempty & (low - 1);
  const int q = std::bit_width(below | 1U) - 1;
  std::uint64_t lower = (std::uint64_t{1} << q) + ((fold(key, interval_constant(q)) >> 1) >> (63 - q));
  lower = select(below != 0, lower, 0);

  // The top interval's three largest members (the chain goes on only when
  // all three exceed n - 1, a few percent of keys at worst).
  std::uint64_t random = fold(key, interval_constant(top));
  const std::uint64_t first = low + ((random >> 1) >> (63 - top));
  random = fold(random, golden);
  const std::uint64_t second = detail::scale(random, first);  // uniform on [0, first)
  random = fold(random, golden);
  std::uint64_t third = detail::scale(random, second);  // uniform on [0, second)
  const bool has_top = ((nonempty >> top) & 1U) != 0;
  if (has_top & (first > last) & (second > last) & (third > last)) [[unlikely]] {
    while (third > last) {
      random = fold(random, golden);
      third = detail::scale(random, third);
    }
  }
  const std::uint64_t top_member = select(first <= last, first, select(second <= last, second, third));
  const std::uint64_t chosen = select(has_top & (top_member >= low), top_member, lower);
  return static_cast<std::uint32_t>(chosen);
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
