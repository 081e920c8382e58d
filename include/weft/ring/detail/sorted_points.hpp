// weft::ring::detail::sorted_points: the points of a hash ring, sorted, with
// a prefix index so that "first point >= h" costs O(1) expected instead of a
// binary search over every point.
//
// Thread-safety: immutable after assign(); const members are safe to share.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace weft::ring::detail {

template <typename Value>
class sorted_points {
 public:
  // Sorts by (value, owner): equal values keep the lowest owner first, which
  // is libmemcached's tie rule.
  void assign(std::vector<std::pair<Value, std::uint32_t>> entries) {
    std::sort(entries.begin(), entries.end());
    values_.resize(entries.size());
    owners_.resize(entries.size());
    for (std::size_t i = 0; i < entries.size(); ++i) {
      values_[i] = entries[i].first;
      owners_[i] = entries[i].second;
    }
    // About one point per prefix bucket, at most 2^22 buckets.
    unsigned bits = entries.size() <= 1 ? 1U : static_cast<unsigned>(std::bit_width(entries.size() - 1));
    bits = std::clamp(bits, 1U, 22U);
    shift_ = static_cast<unsigned>(sizeof(Value) * 8) - bits;
    const std::size_t buckets = std::size_t{1} << bits;
    first_.assign(buckets + 1, static_cast<std::uint32_t>(values_.size()));
    std::size_t point = 0;
    for (std::size_t bucket = 0; bucket < buckets; ++bucket) {
      while (point < values_.size() && static_cast<std::size_t>(values_[point] >> shift_) < bucket) ++point;
      first_[bucket] = static_cast<std::uint32_t>(point);
    }
  }

  std::size_t size() const noexcept { return values_.size(); }
  Value value(std::size_t i) const noexcept { return values_[i]; }
  std::uint32_t owner(std::size_t i) const noexcept { return owners_[i]; }

  // Index of the first point with value >= h, wrapping to 0 past the last.
  std::size_t find(Value h) const noexcept {
    const std::size_t bucket = static_cast<std::size_t>(h >> shift_);
    std::size_t low = first_[bucket];
    std::size_t high = first_[bucket + 1];
    if (high - low > 8) {
      low = static_cast<std::size_t>(
          std::lower_bound(values_.begin() + static_cast<std::ptrdiff_t>(low),
                           values_.begin() + static_cast<std::ptrdiff_t>(high), h) -
          values_.begin());
    } else {
      while (low < high && values_[low] < h) ++low;
    }
    return low == values_.size() ? 0 : low;
  }

  std::size_t memory_bytes() const noexcept {
    return values_.capacity() * sizeof(Value) + owners_.capacity() * sizeof(std::uint32_t) +
           first_.capacity() * sizeof(std::uint32_t);
  }

 private:
  std::vector<Value> values_;
  std::vector<std::uint32_t> owners_;
  std::vector<std::uint32_t> first_;
  unsigned shift_ = 63;
};

}  // namespace weft::ring::detail
