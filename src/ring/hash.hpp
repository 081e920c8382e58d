// Internal hashing helpers of weft_ring: a fast MD5 for short keys (one
// 64-byte block, optionally eight keys at once), XXH3 and a 64-bit mixer.
// MD5 follows RFC 1321; results are checked against OpenSSL in the tests.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "weft/ring/options.hpp"

#ifndef XXH_INLINE_ALL
#define XXH_INLINE_ALL
#endif
#include <xxhash.h>

namespace weft::ring::detail {

// MD5 digest of any input (OpenSSL for long inputs, the fast path otherwise).
std::array<std::uint8_t, 16> md5(std::string_view data) noexcept;
// First four digest bytes, little-endian (libmemcached's key hash).
std::uint32_t md5_low32(std::string_view data) noexcept;
// First eight digest bytes, little-endian.
std::uint64_t md5_low64(std::string_view data) noexcept;

// Longest input handled by the one-block fast path.
inline constexpr std::size_t md5_short_max = 55;
// The four state words after hashing a short input (size <= md5_short_max).
std::array<std::uint32_t, 4> md5_short(std::string_view data) noexcept;
// Sixteen short inputs at once (SIMD lanes, AVX-512 / AVX2 / SSE2 chosen at
// run time); writes the first state word (digest bytes 0-3) of each.
void md5_short16_low32(const std::string_view* data, std::uint32_t* out) noexcept;

inline std::uint64_t xxh3(std::string_view data) noexcept { return XXH3_64bits(data.data(), data.size()); }
inline std::uint64_t xxh3(std::string_view data, std::uint64_t seed) noexcept {
  return XXH3_64bits_withSeed(data.data(), data.size(), seed);
}

// A bijective 64-bit finaliser (murmur3 fmix64): spreads every input bit.
constexpr std::uint64_t mix64(std::uint64_t x) noexcept {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

// floor(x * range / 2^64): maps a uniform 64-bit value onto [0, range).
inline std::uint64_t scale(std::uint64_t x, std::uint64_t range) noexcept {
  __extension__ using wide = unsigned __int128;
  return static_cast<std::uint64_t>((static_cast<wide>(x) * range) >> 64);
}

inline std::uint64_t key_hash(hash_function hash, std::string_view key) noexcept {
  return hash == hash_function::xxh3 ? xxh3(key) : md5_low64(key);
}

}  // namespace weft::ring::detail
