// The in-process steps of `weft demo` (the pipeline and the ring) and the
// reporter every step prints through.
//
// Thread-safety: called from the demo's main thread only.
#pragma once

#include <chrono>
#include <cstdio>
#include <string_view>

#include <fmt/core.h>

namespace weft::cli::demo {

struct reporter {
  int failures = 0;
  int checks = 0;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  void section(int number, std::string_view title) {
    fmt::print("\n[{}] {}\n", number, title);
    std::fflush(stdout);
  }
  void progress(std::string_view what) {
    fmt::print("    ... {}\n", what);
    std::fflush(stdout);
  }
  void check(bool ok, std::string_view what) {
    ++checks;
    if (!ok) ++failures;
    fmt::print("    {} {}\n", ok ? "ok  " : "FAIL", what);
    std::fflush(stdout);
  }
  void note(std::string_view what) {
    fmt::print("         {}\n", what);
    std::fflush(stdout);
  }
};

// 1. Goroutines and channels: generator -> many workers -> collector.
void step_pipeline(reporter& r);
// 5. Resharding: a node leaves a ring; only its keys move.
void step_resharding(reporter& r);

}  // namespace weft::cli::demo
