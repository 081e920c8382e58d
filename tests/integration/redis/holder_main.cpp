// weft_redis_test_holder URI NAME TTL_MS FENCE_FILE
//
// A lock holder for the fault tests, run as a child process: takes the mutex
// NAME, prints "ACQUIRED <token>", then every 5 ms checks lost() and, while
// the lease holds, writes its token through the file fence ("work"). Prints
// "LOST <reason>" and exits 3 when lost() fires; prints "STALE <message>" and
// exits 4 if the fence ever rejects a write it attempted (that would be a
// stale holder doing work after losing its lease).
//
// One worker thread: the order in which overdue timers wake tasks after a
// SIGCONT is then fixed, and the test can check that the lease's own check
// runs before the holder's next piece of work.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "weft/context.hpp"
#include "weft/lock/fence.hpp"
#include "weft/lock/mutex.hpp"
#include "weft/runtime.hpp"
#include "weft/sleep.hpp"

using namespace std::chrono_literals;

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: weft_redis_test_holder URI NAME TTL_MS FENCE_FILE\n");
    return 64;
  }
  std::string uri = argv[1];
  std::string name = argv[2];
  auto ttl = std::chrono::milliseconds(std::atoi(argv[3]));
  auto fence = weft::lock::file_fence::open(argv[4]);
  if (!fence) {
    std::printf("ERROR %s\n", std::string(fence.error().message()).c_str());
    return 70;
  }
  auto store = weft::lock::open(uri);
  if (!store) {
    std::printf("ERROR %s\n", std::string(store.error().message()).c_str());
    return 69;
  }
  weft::runtime rt{weft::runtime_options{.workers = 1}};
  return rt.block_on([&]() -> weft::task<int> {
    auto m = weft::lock::mutex::make(*store, name, weft::lock::lease_options{.ttl = ttl});
    if (!m) {
      std::printf("ERROR %s\n", std::string(m.error().message()).c_str());
      co_return 64;
    }
    auto held = co_await m->lock(weft::context::background());
    if (!held) {
      std::printf("ERROR %s\n", std::string(held.error().message()).c_str());
      std::fflush(stdout);
      co_return 69;
    }
    std::printf("ACQUIRED %llu\n", static_cast<unsigned long long>(held->token()));
    std::fflush(stdout);
    for (;;) {
      co_await weft::sleep_for(5ms);
      if (held->is_lost()) {
        std::printf("LOST %s\n", held->lost_reason().c_str());
        std::fflush(stdout);
        (void)co_await held->release();  // says lease_lost; lets the lease's background work end
        co_return 3;
      }
      auto wrote = fence->admit(held->token());
      if (!wrote) {
        std::printf("STALE %s\n", std::string(wrote.error().message()).c_str());
        std::fflush(stdout);
        (void)co_await held->release();
        co_return 4;
      }
    }
  }());
}
