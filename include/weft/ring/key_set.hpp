// weft::ring::key_set: the keys that load statistics and migration plans
// count, either given or synthetic ("key:0", "key:1", ...).
//
// Synthetic keys are generated on the fly into a small buffer, so a million
// of them cost no memory. Given keys are viewed, not copied: they must
// outlive the key_set.
//
// Thread-safety: const members may be called concurrently.
#pragma once

#include <array>
#include <charconv>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace weft::ring {

class key_set {
 public:
  static key_set synthetic(std::size_t count) noexcept { return key_set(count); }
  static key_set of(std::span<const std::string_view> keys) noexcept { return key_set(keys); }

  std::size_t size() const noexcept { return given_.empty() ? synthetic_count_ : given_.size(); }

  // Calls visit(key) for every key in order.
  template <typename Visit>
  void for_each(Visit&& visit) const {
    if (!given_.empty()) {
      for (std::string_view key : given_) visit(key);
      return;
    }
    std::array<char, 32> buffer{'k', 'e', 'y', ':'};
    for (std::size_t i = 0; i < synthetic_count_; ++i) {
      auto [end, error] = std::to_chars(buffer.data() + 4, buffer.data() + buffer.size(), i);
      (void)error;
      visit(std::string_view(buffer.data(), static_cast<std::size_t>(end - buffer.data())));
    }
  }

 private:
  explicit key_set(std::size_t count) noexcept : synthetic_count_(count) {}
  explicit key_set(std::span<const std::string_view> keys) noexcept : given_(keys) {}

  std::size_t synthetic_count_ = 0;
  std::span<const std::string_view> given_;
};

}  // namespace weft::ring
