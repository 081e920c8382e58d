#include <openssl/evp.h>

#include <array>
#include <string>

#include <gtest/gtest.h>

#include "ring/hash.hpp"
#include "weft/ring/jump.hpp"
#include "weft/ring/ketama.hpp"

namespace {

using weft::ring::jump;
namespace detail = weft::ring::detail;

std::array<std::uint8_t, 16> openssl_md5(const std::string& data) {
  std::array<std::uint8_t, 16> digest{};
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_md5(), nullptr);
  return digest;
}

std::string sample(std::size_t length) {
  std::string text;
  for (std::size_t i = 0; i < length; ++i) text += static_cast<char>('!' + (i * 7 + length) % 90);
  return text;
}

TEST(ring_md5, matches_openssl_for_every_length_up_to_200) {
  for (std::size_t length = 0; length <= 200; ++length) {
    const std::string text = sample(length);
    EXPECT_EQ(detail::md5(text), openssl_md5(text)) << "length " << length;
  }
}

TEST(ring_md5, sixteen_lane_short_path_matches_openssl) {
  std::array<std::string, 16> texts;
  std::array<std::string_view, 16> views;
  for (std::size_t base = 0; base < 56; base += 3) {
    for (std::size_t lane = 0; lane < 16; ++lane) {
      texts[lane] = sample((base + lane * 5) % 56);
      views[lane] = texts[lane];
    }
    std::array<std::uint32_t, 16> lanes{};
    detail::md5_short16_low32(views.data(), lanes.data());
    for (std::size_t lane = 0; lane < 16; ++lane) {
      const auto digest = openssl_md5(texts[lane]);
      const std::uint32_t expected = digest[0] | digest[1] << 8 | digest[2] << 16 | static_cast<std::uint32_t>(digest[3]) << 24;
      EXPECT_EQ(lanes[lane], expected) << "length " << texts[lane].size();
    }
  }
}

TEST(ring_md5, ketama_key_hash_is_first_four_digest_bytes_little_endian) {
  // MD5("hello") = 5d41402abc4b2a76b9719d911017c592
  EXPECT_EQ(weft::ring::ketama::key_hash("hello"), 0x2a40415dU);
}

TEST(ring_jump, classic_and_back_buckets_only_move_to_the_new_bucket) {
  for (std::uint64_t key = 0; key < 2000; ++key) {
    const std::uint64_t hash = detail::mix64(key);
    for (std::uint32_t n = 1; n < 300; ++n) {
      const auto classic_now = jump::classic_bucket(hash, n);
      const auto classic_next = jump::classic_bucket(hash, n + 1);
      ASSERT_TRUE(classic_next == classic_now || classic_next == n) << key << " " << n;
      const auto back_now = jump::back_bucket(hash, n);
      const auto back_next = jump::back_bucket(hash, n + 1);
      ASSERT_LT(back_now, n);
      ASSERT_TRUE(back_next == back_now || back_next == n) << key << " " << n;
    }
  }
}

TEST(ring_jump, back_buckets_are_uniform) {
  for (std::uint32_t n : {3U, 10U, 64U, 100U, 1000U}) {
    std::vector<std::uint64_t> counts(n, 0);
    const std::uint64_t keys = 400 * n;
    for (std::uint64_t key = 0; key < keys; ++key) ++counts[jump::back_bucket(detail::mix64(key * 31 + 7), n)];
    for (std::uint32_t b = 0; b < n; ++b) {
      // 400 expected per bucket: 8 standard deviations is 160.
      EXPECT_NEAR(static_cast<double>(counts[b]), 400.0, 160.0) << "n " << n << " bucket " << b;
    }
  }
}

}  // namespace
