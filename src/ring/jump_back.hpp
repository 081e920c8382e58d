// Internal: the constant-time jump bucket (jumpback), inlined into jump and
// memento lookups. The per-size constants live in jump::back_parameters so a
// lookup does only the per-key work. jump.cpp documents the algorithm; the
// results are pinned by tests/unit/ring/jumpback_reference_test.cpp.
#pragma once

#include <array>
#include <bit>
#include <cstdint>

#include "ring/hash.hpp"
#include "weft/ring/jump.hpp"

namespace weft::ring::detail {

inline constexpr std::uint64_t fold_left = 0xa0761d6478bd642fULL;
inline constexpr std::uint64_t fold_right = 0xe7037ed1a0b428dbULL;
inline constexpr std::uint64_t jump_golden = 0x9e3779b97f4a7c15ULL;
inline constexpr std::uint64_t high_bit = std::uint64_t{1} << 63;

// One 64x64->128 multiply, halves xor-ed: a cheap, well-spread mix of a and b.
inline std::uint64_t fold(std::uint64_t a, std::uint64_t b) noexcept {
  __extension__ using wide = unsigned __int128;
  const wide product = static_cast<wide>(a ^ fold_left) * (b ^ fold_right);
  return static_cast<std::uint64_t>(product) ^ static_cast<std::uint64_t>(product >> 64);
}

// fold with both sides already xor-ed with their constants.
inline std::uint64_t fold_premixed(std::uint64_t a, std::uint64_t b) noexcept {
  __extension__ using wide = unsigned __int128;
  const wide product = static_cast<wide>(a) * b;
  return static_cast<std::uint64_t>(product) ^ static_cast<std::uint64_t>(product >> 64);
}

// A distinct odd constant per interval [2^q, 2^(q+1)).
constexpr std::uint64_t interval_constant(int q) noexcept {
  return (static_cast<std::uint64_t>(q) + 1) * 0x8ebc6af09c88c6e3ULL | 1U;
}

// interval_constant(63 - shift) ^ fold_right, indexed by the shift 63 - q
// (that is, by countl_zero of a value whose top bit is bit q).
inline constexpr std::array<std::uint64_t, 64> interval_by_shift = [] {
  std::array<std::uint64_t, 64> table{};
  for (int shift = 0; shift < 64; ++shift) table[static_cast<std::size_t>(shift)] = interval_constant(63 - shift) ^ fold_right;
  return table;
}();

// Makes the compiler compute x here, on every path. Without it gcc moves a
// draw behind a branch on a coin flip (which a predictor cannot learn) to
// skip it when unused; computing both sides and picking with a conditional
// move is cheaper.
inline void compute_now(std::uint64_t& x) noexcept { asm volatile("" : "+r"(x)); }

inline jump::back_parameters back_prepare(std::uint32_t buckets) noexcept {
  jump::back_parameters p;
  if (buckets <= 1) return p;
  p.last = buckets - 1;
  const int top = std::bit_width(p.last) - 1;
  p.top = static_cast<std::uint32_t>(top);
  p.top_shift = static_cast<std::uint32_t>(63 - top);
  p.low = std::uint64_t{1} << top;
  p.top_constant = interval_constant(top) ^ fold_right;
  return p;
}

// The same bucket as jump::back_bucket(key, buckets) for the buckets p was
// prepared for. A draw uniform over [2^q, 2^(q+1)) is 2^q plus the top q bits
// of a 63-bit value v: (2^63 | v) >> (63 - q) in one shift.
inline std::uint32_t back_bucket(std::uint64_t key, const jump::back_parameters& p) noexcept {
  const std::uint64_t key_mixed = key ^ fold_left;

  // The largest member of the highest non-empty interval below the top one.
  const std::uint64_t below = key & (p.low - 1);
  const int shift = std::countl_zero(below | 1U);  // 63 - q
  std::uint64_t lower = ((fold_premixed(key_mixed, interval_by_shift[static_cast<std::size_t>(shift)]) >> 1) | high_bit) >> shift;
  compute_now(lower);
  lower = below != 0 ? lower : 0;

  // The top interval's three largest members; the first one <= n - 1 is
  // its answer. The chain goes on past the third only when all three
  // exceed n - 1 (a few percent of keys at worst). The plain ternaries
  // below compile to conditional moves (see compute_now).
  std::uint64_t random = fold_premixed(key_mixed, p.top_constant);
  const std::uint64_t first = ((random >> 1) | high_bit) >> p.top_shift;
  random = fold_premixed(random ^ fold_left, jump_golden ^ fold_right);
  const std::uint64_t second = detail::scale(random, first);  // uniform on [0, first)
  random = fold_premixed(random ^ fold_left, jump_golden ^ fold_right);
  std::uint64_t third = detail::scale(random, second);  // uniform on [0, second)
  compute_now(third);
  if (third > p.last) [[unlikely]] {
    // third < second < first, so all three exceed n - 1. Also taken for
    // keys whose answer is not in the top interval: the extra draws are
    // then unused, and cheaper than testing for them.
    while (third > p.last) {
      random = fold_premixed(random ^ fold_left, jump_golden ^ fold_right);
      third = detail::scale(random, third);
    }
  }
  const std::uint64_t later = second <= p.last ? second : third;
  std::uint64_t top_member = first <= p.last ? first : later;
  top_member = ((key >> p.top) & 1U) != 0 ? top_member : 0;  // interval empty: no member
  const std::uint64_t chosen = top_member >= p.low ? top_member : lower;  // cmov
  return static_cast<std::uint32_t>(chosen);  // one bucket (last == 0): every path gives 0
}

}  // namespace weft::ring::detail
