// What ~runtime does with tasks it leaves behind (see runtime.hpp).
#include <gtest/gtest.h>

#include <thread>

#include "weft/chan.hpp"
#include "weft/go.hpp"
#include "weft/runtime.hpp"
#include "weft/select.hpp"
#include "weft/yield.hpp"

namespace weft {
namespace {

// A select woken through one channel, but destroyed by ~runtime before it ran
// again, must not stay listed on its other channels: they outlive the runtime
// here, and the next sender would touch the freed frame (ASan reports it).
TEST(runtime_teardown, a_woken_select_destroyed_in_the_queue_leaves_its_other_channels) {
  chan<int> first;
  chan<int> second;
  {
    runtime rt({.virtual_time = true});  // one thread: nothing runs behind our back
    rt.block_on([&]() -> task<> {
      go([&]() -> task<> {
        auto r = co_await select(recv(first), recv(second));
        (void)r;
      });
      co_await yield();  // the select parks on both channels
      // Wake it from outside the runtime: it goes to the injection queue, and
      // this body ends before it runs.
      std::thread outside([&] { EXPECT_TRUE(first.try_send(1).ok()); });
      outside.join();
    }());
  }
  // Nobody waits on `second` any more: a send finds no receiver.
  EXPECT_EQ(second.try_send(2).code, errc::full);
}

}  // namespace
}  // namespace weft
