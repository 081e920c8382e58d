// Helpers shared by the chan/select/sync/context unit tests.
#pragma once

#include <chrono>
#include <cstddef>
#include <utility>

#include "weft/go.hpp"
#include "weft/runtime.hpp"
#include "weft/sleep.hpp"
#include "weft/task.hpp"
#include "weft/yield.hpp"

namespace weft::testing {

using namespace std::chrono_literals;

// A multi-threaded runtime: cross-worker wake-ups are exercised.
inline runtime_options threaded(std::size_t workers = 2) {
  runtime_options o;
  o.workers = workers;
  return o;
}

// Single-threaded and deterministic, with a virtual clock.
inline runtime_options virtual_clock() {
  runtime_options o;
  o.workers = 1;
  o.virtual_time = true;
  return o;
}

// Runs body() (a callable returning task<T>) to completion on a fresh runtime.
template <typename F>
auto run(runtime_options options, F body) {
  runtime rt(options);
  return rt.block_on(body());
}

// Under virtual time: lets every other runnable task run until it parks.
inline auto settle() { return sleep_for(1ms); }

}  // namespace weft::testing

// ASSERT_* returns, which a coroutine cannot do: this co_returns instead.
#define WEFT_CO_ASSERT(cond)                                  \
  do {                                                        \
    if (!(cond)) {                                            \
      ADD_FAILURE() << "assertion failed: " #cond;            \
      co_return;                                              \
    }                                                         \
  } while (0)
