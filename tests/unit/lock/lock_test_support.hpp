// Helpers for the lock tests: store URIs to run the shared suite on, a
// runtime runner, and a temporary directory.
#pragma once

#include <stdlib.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "weft/go.hpp"
#include "weft/runtime.hpp"
#include "weft/sleep.hpp"
#include "weft/task.hpp"

namespace weft::lock::testing {

using namespace std::chrono_literals;

// A fresh directory under $TMPDIR, removed by the destructor.
class temp_dir {
 public:
  temp_dir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "weft-lock-XXXXXX").string();
    path_ = ::mkdtemp(pattern.data());
  }
  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The stores the shared suite runs on: a fresh mem:// instance and a fresh
// file:// directory per test, plus every URI in $WEFT_TEST_LOCK_STORES
// (comma-separated; later backends' CI sets it, e.g. redis://127.0.0.1:6390).
inline std::vector<std::string> suite_schemes() {
#ifdef WEFT_LOCK_SUITE_SCHEMES
  // A backend's own build of the suite (e.g. "redis,redlock"): only its schemes,
  // resolved to URIs from $WEFT_TEST_<SCHEME> by the suite.
  std::vector<std::string> own;
  std::string names = WEFT_LOCK_SUITE_SCHEMES;
  for (std::size_t start = 0; start < names.size();) {
    auto comma = std::min(names.find(',', start), names.size());
    own.push_back(names.substr(start, comma - start));
    start = comma + 1;
  }
  return own;
#endif
  std::vector<std::string> out = {"mem", "file"};
  if (const char* extra = std::getenv("WEFT_TEST_LOCK_STORES")) {
    std::string list = extra;
    std::size_t start = 0;
    while (start < list.size()) {
      auto comma = list.find(',', start);
      if (comma == std::string::npos) comma = list.size();
      if (comma > start) out.push_back(list.substr(start, comma - start));
      start = comma + 1;
    }
  }
  return out;
}

// Runs body() to completion on a fresh multi-threaded runtime.
template <typename F>
auto run(F body, std::size_t workers = 2) {
  runtime_options options;
  options.workers = workers;
  runtime rt(options);
  return rt.block_on(body());
}

}  // namespace weft::lock::testing

// ASSERT_* returns, which a coroutine cannot do: this co_returns instead.
#define LOCK_CO_ASSERT(cond)                       \
  do {                                             \
    if (!(cond)) {                                 \
      ADD_FAILURE() << "assertion failed: " #cond; \
      co_return;                                   \
    }                                              \
  } while (0)
