// Shared helpers for the ring unit tests.
#pragma once

#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "weft/ring/node.hpp"

namespace weft::ring::testing {

inline std::vector<node> equal_nodes(std::size_t count, std::size_t first = 0) {
  std::vector<node> nodes;
  for (std::size_t i = first; i < first + count; ++i) nodes.push_back({fmt::format("10.0.{}.{}:11211", i / 200, i % 200), 1.0});
  return nodes;
}

inline std::vector<std::string> make_keys(std::size_t count) {
  std::vector<std::string> keys;
  keys.reserve(count);
  for (std::size_t i = 0; i < count; ++i) keys.push_back(fmt::format("object/{}/v{}", i * 2654435761U % 1000003, i));
  return keys;
}

inline std::string param_name(const ::testing::TestParamInfo<std::string_view>& param) {
  return std::string(param.param);
}

}  // namespace weft::ring::testing
