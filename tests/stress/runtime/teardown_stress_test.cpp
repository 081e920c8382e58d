// Tearing a runtime down while another thread is still inside schedule().
// Run under the tsan preset: without the runtime waiting for in-flight
// external wake-ups, ThreadSanitizer reports the destructor freeing the
// scheduler that the waking thread is still reading.
#include <gtest/gtest.h>

#include <atomic>
#include <coroutine>
#include <thread>

#include "weft/detail/scheduler.hpp"
#include "weft/runtime.hpp"

namespace weft {
namespace {

// Where a parked task leaves its handle for a thread outside the runtime.
struct parking_spot {
  std::atomic<detail::scheduler*> owner{nullptr};
  std::atomic<void*> handle{nullptr};
};

struct park_until_woken_from_outside {
  parking_spot& spot;
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> task) noexcept {
    spot.owner.store(detail::current_scheduler(), std::memory_order_relaxed);
    spot.handle.store(task.address(), std::memory_order_release);  // last touch of the frame
  }
  void await_resume() const noexcept {}
};

task<int> park_then_finish(parking_spot& spot) {
  co_await park_until_woken_from_outside{spot};
  co_return 1;
}

void wake_from_outside(parking_spot& spot) {
  void* handle = nullptr;
  while ((handle = spot.handle.load(std::memory_order_acquire)) == nullptr)
    std::this_thread::yield();
  detail::schedule(spot.owner.load(std::memory_order_relaxed),
                   std::coroutine_handle<>::from_address(handle));
}

TEST(runtime_teardown, destroying_the_runtime_waits_for_an_outside_thread_still_in_schedule) {
  int finished = 0;
  for (int round = 0; round < 300; ++round) {
    parking_spot spot;
    std::thread waker([&spot] { wake_from_outside(spot); });
    {
      runtime rt({.workers = 2});
      finished += rt.block_on(park_then_finish(spot));
    }  // ~runtime while the waker may still be inside schedule()
    waker.join();
  }
  EXPECT_EQ(finished, 300);
}

TEST(runtime_teardown, destroying_a_one_worker_runtime_waits_for_an_outside_thread_in_schedule) {
  int finished = 0;
  for (int round = 0; round < 300; ++round) {
    parking_spot spot;
    std::thread waker([&spot] { wake_from_outside(spot); });
    {
      runtime rt({.workers = 1});
      finished += rt.block_on(park_then_finish(spot));
    }
    waker.join();
  }
  EXPECT_EQ(finished, 300);
}

}  // namespace
}  // namespace weft
