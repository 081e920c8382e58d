// Shared by the libFuzzer targets: a failed invariant aborts with a message,
// which libFuzzer reports as a crash and saves the input.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

#define WEFT_FUZZ_CHECK(condition, what)                                                  \
  do {                                                                                    \
    if (!(condition)) {                                                                   \
      std::fprintf(stderr, "invariant failed: %s (%s:%d)\n", what, __FILE__, __LINE__); \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)

namespace weft::fuzz {

// True when `needle` occurs exactly once in `haystack`: only then can we say
// where a secret sits in the input, and demand it is gone from the output.
inline bool occurs_once(std::string_view haystack, std::string_view needle) {
  auto first = haystack.find(needle);
  return first != std::string_view::npos && haystack.find(needle, first + 1) == std::string_view::npos;
}

}  // namespace weft::fuzz
