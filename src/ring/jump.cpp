#include "weft/ring/jump.hpp"

#include <bit>

#include <fmt/format.h>

#include "ring/hash.hpp"
#include "ring/jump_back.hpp"
#include "ring/replica_fill.hpp"

namespace weft::ring {
namespace {

constexpr std::uint64_t golden = detail::jump_golden;

}  // namespace

jump::jump(std::vector<node> nodes, const options& opts, jump_variant variant)
    : snapshot(std::move(nodes), opts), variant_(variant),
      back_(detail::back_prepare(static_cast<std::uint32_t>(nodes_.size()))) {}

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
  // (the choices are coin flips a branch predictor cannot learn); the chain
  // in the top interval goes past its third member only when all three
  // exceed n - 1, a few percent of keys at worst.
  // The per-size constants are in back_prepare, the per-key work in
  // detail::back_bucket (ring/jump_back.hpp), which lookups inline.
  return detail::back_bucket(key, detail::back_prepare(buckets));
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
  if (variant_ == jump_variant::classic) return classic_bucket(key, static_cast<std::uint32_t>(nodes_.size()));
  return detail::back_bucket(key, back_);
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
