#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <cstring>

#include "ring/hash.hpp"


// The vector lanes never cross a non-inline call, so the ABI note does not apply.
#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

namespace weft::ring::detail {
namespace {

constexpr std::array<std::uint32_t, 64> sines = {
    0xd76aa478U, 0xe8c7b756U, 0x242070dbU, 0xc1bdceeeU, 0xf57c0fafU, 0x4787c62aU, 0xa8304613U, 0xfd469501U,
    0x698098d8U, 0x8b44f7afU, 0xffff5bb1U, 0x895cd7beU, 0x6b901122U, 0xfd987193U, 0xa679438eU, 0x49b40821U,
    0xf61e2562U, 0xc040b340U, 0x265e5a51U, 0xe9b6c7aaU, 0xd62f105dU, 0x02441453U, 0xd8a1e681U, 0xe7d3fbc8U,
    0x21e1cde6U, 0xc33707d6U, 0xf4d50d87U, 0x455a14edU, 0xa9e3e905U, 0xfcefa3f8U, 0x676f02d9U, 0x8d2a4c8aU,
    0xfffa3942U, 0x8771f681U, 0x6d9d6122U, 0xfde5380cU, 0xa4beea44U, 0x4bdecfa9U, 0xf6bb4b60U, 0xbebfbc70U,
    0x289b7ec6U, 0xeaa127faU, 0xd4ef3085U, 0x04881d05U, 0xd9d4d039U, 0xe6db99e5U, 0x1fa27cf8U, 0xc4ac5665U,
    0xf4292244U, 0x432aff97U, 0xab9423a7U, 0xfc93a039U, 0x655b59c3U, 0x8f0ccc92U, 0xffeff47dU, 0x85845dd1U,
    0x6fa87e4fU, 0xfe2ce6e0U, 0xa3014314U, 0x4e0811a1U, 0xf7537e82U, 0xbd3af235U, 0x2ad7d2bbU, 0xeb86d391U,
};
constexpr std::array<int, 16> shifts = {7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21};

template <typename Word>
__attribute__((always_inline)) inline Word rotate_left(Word x, int s) noexcept {
  return (x << s) | (x >> (32 - s));
}

// One MD5 block over Word lanes (std::uint32_t, or a vector of them).
template <typename Word>
__attribute__((always_inline)) inline void compress(Word state[4], const Word m[16]) noexcept {
  Word a = state[0], b = state[1], c = state[2], d = state[3];
#pragma GCC unroll 64
  for (int i = 0; i < 64; ++i) {
    Word f;
    int g;
    if (i < 16) {
      f = (b & c) | (~b & d);
      g = i;
    } else if (i < 32) {
      f = (d & b) | (~d & c);
      g = (5 * i + 1) % 16;
    } else if (i < 48) {
      f = b ^ c ^ d;
      g = (3 * i + 5) % 16;
    } else {
      f = c ^ (b | ~d);
      g = (7 * i) % 16;
    }
    const Word rotated = rotate_left<Word>(a + f + sines[static_cast<std::size_t>(i)] + m[g],
                                           shifts[static_cast<std::size_t>((i / 16) * 4 + i % 4)]);
    a = d;
    d = c;
    c = b;
    b = b + rotated;
  }
  state[0] += a;
  state[1] += b;
  state[2] += c;
  state[3] += d;
}

constexpr std::uint32_t initial[4] = {0x67452301U, 0xefcdab89U, 0x98badcfeU, 0x10325476U};

// The padded single block of a short input, as 16 little-endian words.
__attribute__((always_inline)) inline void pad_block(std::string_view data, std::uint32_t words[16]) noexcept {
  unsigned char block[64] = {};
  std::memcpy(block, data.data(), data.size());
  block[data.size()] = 0x80;
  const std::uint64_t bits = static_cast<std::uint64_t>(data.size()) * 8;
  for (int i = 0; i < 8; ++i) block[56 + i] = static_cast<unsigned char>(bits >> (8 * i));
  std::memcpy(words, block, 64);  // x86-64 and aarch64 are little-endian
}

// Sixteen keys at once: two AVX2 registers, one AVX-512 register or four SSE2
// registers per word; independent lanes hide MD5's long dependency chain.
typedef std::uint32_t lanes16 __attribute__((vector_size(64)));

__attribute__((always_inline)) inline void md5_lanes16(const std::string_view* data, std::uint32_t* out) noexcept {
  lanes16 m[16];
  for (int lane = 0; lane < 16; ++lane) {
    std::uint32_t words[16];
    pad_block(data[lane], words);
    for (int w = 0; w < 16; ++w) m[w][lane] = words[w];
  }
  lanes16 state[4];
  for (int w = 0; w < 4; ++w) state[w] = lanes16{} + initial[w];
  compress<lanes16>(state, m);
  for (int lane = 0; lane < 16; ++lane) out[lane] = state[0][lane];
}

#if defined(__x86_64__)
__attribute__((target("avx512f,avx512vl"))) void md5_lanes16_avx512(const std::string_view* data,
                                                                     std::uint32_t* out) noexcept {
  md5_lanes16(data, out);
}
__attribute__((target("avx2"))) void md5_lanes16_avx2(const std::string_view* data, std::uint32_t* out) noexcept {
  md5_lanes16(data, out);
}
#endif
void md5_lanes16_baseline(const std::string_view* data, std::uint32_t* out) noexcept { md5_lanes16(data, out); }

using lanes16_function = void (*)(const std::string_view*, std::uint32_t*) noexcept;

lanes16_function pick_lanes16() noexcept {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")) return md5_lanes16_avx512;
  if (__builtin_cpu_supports("avx2")) return md5_lanes16_avx2;
#endif
  return md5_lanes16_baseline;
}

const lanes16_function lanes16_implementation = pick_lanes16();

}  // namespace

std::array<std::uint32_t, 4> md5_short(std::string_view data) noexcept {
  std::uint32_t words[16];
  pad_block(data, words);
  std::uint32_t state[4] = {initial[0], initial[1], initial[2], initial[3]};
  compress<std::uint32_t>(state, words);
  return {state[0], state[1], state[2], state[3]};
}

void md5_short16_low32(const std::string_view* data, std::uint32_t* out) noexcept {
  lanes16_implementation(data, out);
}

std::array<std::uint8_t, 16> md5(std::string_view data) noexcept {
  std::array<std::uint8_t, 16> digest{};
  if (data.size() <= md5_short_max) {
    const auto state = md5_short(data);
    std::memcpy(digest.data(), state.data(), 16);
    return digest;
  }
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_md5(), nullptr);
  return digest;
}

std::uint32_t md5_low32(std::string_view data) noexcept {
  if (data.size() <= md5_short_max) return md5_short(data)[0];
  const auto digest = md5(data);
  return static_cast<std::uint32_t>(digest[0]) | static_cast<std::uint32_t>(digest[1]) << 8 |
         static_cast<std::uint32_t>(digest[2]) << 16 | static_cast<std::uint32_t>(digest[3]) << 24;
}

std::uint64_t md5_low64(std::string_view data) noexcept {
  const auto digest = md5(data);
  std::uint64_t value = 0;
  for (int i = 7; i >= 0; --i) value = value << 8 | digest[static_cast<std::size_t>(i)];
  return value;
}

}  // namespace weft::ring::detail
