// jumpback's bucket choice is part of its contract: a stored placement must
// not move when weft is upgraded. These tests pin the fast code against the
// straightforward form of the algorithm (as it was first written), for single
// buckets, for snapshots, and for memento with and without removals.
#include <bit>
#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <xxhash.h>

#include "test_support.hpp"
#include "weft/ring/jump.hpp"
#include "weft/ring/memento.hpp"

namespace {

using namespace weft::ring;
using weft::ring::testing::equal_nodes;
using weft::ring::testing::make_keys;

std::uint64_t fold(std::uint64_t a, std::uint64_t b) {
  __extension__ using wide = unsigned __int128;
  const wide product = static_cast<wide>(a ^ 0xa0761d6478bd642fULL) * (b ^ 0xe7037ed1a0b428dbULL);
  return static_cast<std::uint64_t>(product) ^ static_cast<std::uint64_t>(product >> 64);
}

std::uint64_t scale(std::uint64_t x, std::uint64_t range) {
  __extension__ using wide = unsigned __int128;
  return static_cast<std::uint64_t>((static_cast<wide>(x) * range) >> 64);
}

std::uint64_t mix64(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

std::uint64_t interval_constant(int q) { return (static_cast<std::uint64_t>(q) + 1) * 0x8ebc6af09c88c6e3ULL | 1U; }

// The reference: branchy and plain, same random streams.
std::uint32_t reference_back_bucket(std::uint64_t key, std::uint32_t buckets) {
  constexpr std::uint64_t golden = 0x9e3779b97f4a7c15ULL;
  if (buckets <= 1) return 0;
  const std::uint64_t last = buckets - 1;
  const int top = std::bit_width(last) - 1;
  const std::uint64_t low = std::uint64_t{1} << top;
  if (((key >> top) & 1U) != 0) {
    std::uint64_t random = fold(key, interval_constant(top));
    std::uint64_t member = low + ((random >> 1) >> (63 - top));
    while (member > last) {
      random = fold(random, golden);
      member = scale(random, member);
    }
    if (member >= low) return static_cast<std::uint32_t>(member);
  }
  const std::uint64_t below = key & (low - 1);
  if (below == 0) return 0;
  const int q = std::bit_width(below) - 1;
  return static_cast<std::uint32_t>((std::uint64_t{1} << q) + ((fold(key, interval_constant(q)) >> 1) >> (63 - q)));
}

std::vector<std::uint32_t> bucket_counts() {
  std::vector<std::uint32_t> counts;
  for (std::uint32_t n = 1; n <= 300; ++n) counts.push_back(n);
  for (std::uint32_t n : {511U, 512U, 513U, 1000U, 1023U, 1024U, 1025U, 10'000U, 65'535U, 65'536U, 1'000'003U,
                          2'147'483'647U, 2'147'483'648U, 4'294'967'295U}) {
    counts.push_back(n);
  }
  return counts;
}

TEST(ring_jumpback_reference, back_bucket_matches_the_reference_for_every_key_and_size) {
  for (std::uint32_t n : bucket_counts()) {
    for (std::uint64_t i = 0; i < 20'000; ++i) {
      const std::uint64_t key = mix64(i * 0x9e3779b97f4a7c15ULL + n);
      ASSERT_EQ(jump::back_bucket(key, n), reference_back_bucket(key, n)) << "n=" << n << " key=" << key;
    }
  }
}

TEST(ring_jumpback_reference, snapshot_lookups_match_the_reference) {
  const auto keys = make_keys(20'000);
  for (std::size_t n : {1U, 2U, 3U, 10U, 64U, 100U, 1000U}) {
    auto jumpback = jump::make(equal_nodes(n), {}, jump_variant::back);
    auto fresh = memento::make(equal_nodes(n));
    ASSERT_TRUE(jumpback);
    ASSERT_TRUE(fresh);
    for (const auto& key : keys) {
      const std::uint32_t expected = reference_back_bucket(XXH3_64bits(key.data(), key.size()), static_cast<std::uint32_t>(n));
      ASSERT_EQ((*jumpback)->locate_index(key), expected) << key;
      ASSERT_EQ((*fresh)->locate_index(key), expected) << key;
    }
  }
}

TEST(ring_jumpback_reference, memento_after_removals_matches_the_reference_redraws) {
  constexpr std::uint32_t buckets = 40;
  auto built = memento::make(equal_nodes(buckets));
  ASSERT_TRUE(built);
  std::shared_ptr<const snapshot> ring = *built;
  std::vector<bool> removed(buckets, false);
  for (std::uint32_t bucket : {3U, 17U, 0U, 25U, 38U}) {
    auto next = ring->without_node(equal_nodes(buckets)[bucket].name);
    ASSERT_TRUE(next);
    ring = *next;
    removed[bucket] = true;
  }
  for (const auto& key : make_keys(50'000)) {
    std::uint64_t hash = XXH3_64bits(key.data(), key.size());
    std::uint32_t bucket = reference_back_bucket(hash, buckets);
    while (removed[bucket]) {
      hash = mix64(hash + 0x9e3779b97f4a7c15ULL);
      bucket = reference_back_bucket(hash, buckets);
    }
    ASSERT_EQ(ring->locate(key).name, equal_nodes(buckets)[bucket].name) << key;
  }
}

}  // namespace
