// weft-lock-test-helper: a separate process for the multi-process lock tests.
//
//   hold  URI NAME TTL_MS FENCE_PATH
//       takes the mutex NAME, prints "held TOKEN", then every 50 ms tries a
//       write through the file fence and prints "wrote" or "rejected", with
//       " lost" appended once lost() has fired. Runs until killed (60 s cap).
//   wait  URI NAME
//       queues for the mutex NAME and prints "held TOKEN" once granted.
//   lead  URI NAME
//       campaigns for the election NAME (TTL 60 s), prints "held TOKEN".
//   count URI RECIPE NAME ITERATIONS COUNTER_PATH FENCE_PATH LOG_PATH
//       ITERATIONS times: acquire (mutex, rw_mutex, semaphore or election),
//       admit the token at the fence, increment the counter file, append the
//       token to the log, release. Exit 0 on success, 2 on a fence rejection,
//       3 on any other failure.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "weft/context.hpp"
#include "weft/lock/election.hpp"
#include "weft/lock/fence.hpp"
#include "weft/lock/mutex.hpp"
#include "weft/lock/rw_mutex.hpp"
#include "weft/lock/semaphore.hpp"
#include "weft/lock/store.hpp"
#include "weft/runtime.hpp"
#include "weft/sleep.hpp"

using namespace std::chrono_literals;
using weft::context;
using weft::task;
using namespace weft::lock;

namespace {

void say(const std::string& line) {
  std::string text = line + "\n";
  (void)!::write(1, text.data(), text.size());
}

task<int> hold(std::string uri, std::string name, long ttl_ms, std::string fence_path) {
  auto opened = open(uri);
  if (!opened) {
    say("error " + std::string(opened.error().message()));
    co_return 3;
  }
  lease_options options;
  options.ttl = std::chrono::milliseconds(ttl_ms);
  auto m = mutex::make(*opened, name, options);
  if (!m) co_return 3;
  auto held = co_await m->lock(context::background());
  if (!held) {
    say("error " + std::string(held.error().message()));
    co_return 3;
  }
  auto fence = file_fence::open(fence_path);
  if (!fence) co_return 3;
  say("held " + std::to_string(held->token()));
  auto lost = held->lost();
  for (int i = 0; i < 1200; ++i) {
    co_await weft::sleep_for(50ms);
    bool is_lost = lost.err() != weft::errc::ok;
    auto wrote = fence->admit(held->token());
    say(std::string(wrote ? "wrote" : "rejected") + (is_lost ? " lost" : ""));
  }
  co_return 0;
}

task<weft::result<lease>> acquire(const std::shared_ptr<store>& where, const std::string& recipe_name,
                                  const std::string& name) {
  if (recipe_name == "mutex") co_return co_await mutex::make(where, name).value().lock(context::background());
  if (recipe_name == "rw_mutex") co_return co_await rw_mutex::make(where, name).value().lock(context::background());
  if (recipe_name == "semaphore")
    co_return co_await semaphore::make(where, name, 1).value().acquire(context::background());
  co_return co_await election::make(where, name).value().campaign(context::background(),
                                                                    "pid " + std::to_string(::getpid()));
}

task<int> count(std::string uri, std::string recipe_name, std::string name, int iterations, std::string counter_path,
                std::string fence_path, std::string log_path) {
  auto opened = open(uri);
  if (!opened) co_return 3;
  auto fence = file_fence::open(fence_path);
  if (!fence) co_return 3;
  for (int i = 0; i < iterations; ++i) {
    auto held = co_await acquire(*opened, recipe_name, name);
    if (!held) {
      say("error " + std::string(held.error().message()));
      co_return 3;
    }
    auto admitted = fence->guarded(held->token(), [&]() -> weft::result<void> {
      // A read-modify-write that loses updates unless the lock excludes.
      long value = 0;
      if (FILE* f = std::fopen(counter_path.c_str(), "r")) {
        if (std::fscanf(f, "%ld", &value) != 1) value = 0;
        std::fclose(f);
      }
      if (FILE* f = std::fopen(counter_path.c_str(), "w")) {
        std::fprintf(f, "%ld\n", value + 1);
        std::fclose(f);
      }
      if (FILE* log = std::fopen(log_path.c_str(), "a")) {
        std::fprintf(log, "%llu\n", static_cast<unsigned long long>(held->token()));
        std::fclose(log);
      }
      return {};
    });
    if (!admitted) co_return 2;
    if (!co_await held->release()) co_return 3;
  }
  co_return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  weft::runtime_options options;
  options.workers = 1;
  weft::runtime rt(options);
  if (mode == "wait" && argc == 4) {
    // wait URI NAME: queue for the mutex, print "held TOKEN" once granted.
    return rt.block_on([](std::string uri, std::string name) -> task<int> {
      auto m = mutex::make(open(uri).value(), name).value();
      auto held = co_await m.lock(context::background());
      if (!held) co_return 3;
      say("held " + std::to_string(held->token()));
      co_await weft::sleep_for(60s);
      co_return 0;
    }(argv[2], argv[3]));
  }
  if (mode == "lead" && argc == 4) {
    // lead URI NAME: campaign (TTL 60 s), print "held TOKEN" once leading.
    return rt.block_on([](std::string uri, std::string name) -> task<int> {
      lease_options options;
      options.ttl = 60s;
      auto e = election::make(open(uri).value(), name, options).value();
      auto led = co_await e.campaign(context::background(), "helper");
      if (!led) co_return 3;
      say("held " + std::to_string(led->token()));
      co_await weft::sleep_for(60s);
      co_return 0;
    }(argv[2], argv[3]));
  }
  if (mode == "hold" && argc == 6) return rt.block_on(hold(argv[2], argv[3], std::atol(argv[4]), argv[5]));
  if (mode == "count" && argc == 9)
    return rt.block_on(count(argv[2], argv[3], argv[4], std::atoi(argv[5]), argv[6], argv[7], argv[8]));
  std::fprintf(stderr, "usage: weft-lock-test-helper hold|count ...\n");
  return 64;
}
