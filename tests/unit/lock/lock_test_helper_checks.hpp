// Checks of what weft-lock-test-helper's `count` mode leaves behind (see
// lock_test_helper.cpp), shared by the many-process tests of every store.
#pragma once

#include <cstddef>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace weft::lock::testing {

// Every increment of the shared counter happened under the lock (none was
// lost to a concurrent holder) and the logged fencing tokens strictly rose.
inline void expect_every_count_kept_with_rising_tokens(const std::string& counter, const std::string& log,
                                                       int expected) {
  std::ifstream counter_file(counter);
  long total = 0;
  counter_file >> total;
  EXPECT_EQ(total, expected);
  std::ifstream log_file(log);
  std::vector<unsigned long long> tokens;
  for (unsigned long long t; log_file >> t;) tokens.push_back(t);
  ASSERT_EQ(tokens.size(), static_cast<std::size_t>(expected));
  for (std::size_t i = 1; i < tokens.size(); ++i) EXPECT_LT(tokens[i - 1], tokens[i]) << "at " << i;
}

}  // namespace weft::lock::testing
