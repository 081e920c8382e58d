// Thousands of tasks doing random send, recv, select (with timers, default
// and context cases), try_send/try_recv, close and context cancel on shared
// channels across worker threads. Checks that every value sent is received
// exactly once or was reported unsent, and that no task is left hanging.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <vector>

#include "weft/chan.hpp"
#include "weft/context.hpp"
#include "weft/go.hpp"
#include "weft/runtime.hpp"
#include "weft/select.hpp"
#include "weft/sleep.hpp"
#include "weft/task.hpp"
#include "weft/wait_group.hpp"

namespace weft {
namespace {

using namespace std::chrono_literals;
using value = std::uint64_t;

constexpr int task_count = 4000;
constexpr int ops_per_task = 300;
constexpr int slot_count = 8;
constexpr int context_count = 4;

enum outcome : int { not_tried = 0, sent = 1, unsent = 2 };

struct world {
  std::mutex registry;  // guards the slots and the list of every channel
  std::vector<chan<value>> slots;
  std::vector<chan<value>> every_channel;
  std::vector<context> contexts;
  std::vector<cancel_func> cancels;
  bool closing = false;  // guarded by registry: no new channels once set
  context root;
  cancel_func cancel_root;

  std::vector<std::atomic<int>> outcomes;
  std::vector<std::atomic<int>> received;
  std::atomic<int> bad_handback{0};
  std::atomic<long> ops_done{0};

  world() : outcomes(task_count * ops_per_task), received(task_count * ops_per_task) {
    auto [r, c] = with_cancel(context::background());
    root = r;
    cancel_root = c;
    for (int i = 0; i < slot_count; ++i) {
      chan<value> ch(static_cast<std::size_t>(i % 4 == 0 ? 0 : 1 << (i % 4)));  // 0, 2, 4, 8
      slots.push_back(ch);
      every_channel.push_back(ch);
    }
    for (int i = 0; i < context_count; ++i) {
      auto [ctx, cancel] = with_cancel(root);
      contexts.push_back(ctx);
      cancels.push_back(cancel);
    }
  }

  chan<value> channel(std::uint64_t r) {
    std::lock_guard lock(registry);
    return slots[r % slot_count];
  }
  context ctx(std::uint64_t r) {
    std::lock_guard lock(registry);
    return contexts[r % context_count];
  }
  void close_and_replace(std::uint64_t r) {
    std::lock_guard lock(registry);
    auto& slot = slots[r % slot_count];
    slot.close();
    if (closing) return;
    chan<value> fresh(slot.capacity());
    slot = fresh;
    every_channel.push_back(fresh);
  }
  void cancel_and_replace(std::uint64_t r) {
    std::size_t i = r % context_count;
    cancel_func old;
    {
      std::lock_guard lock(registry);
      old = cancels[i];
      if (r % 2 == 0) {
        auto [ctx, cancel] = with_cancel(root);
        contexts[i] = ctx;
        cancels[i] = cancel;
      } else {
        auto [ctx, cancel] = with_timeout(root, std::chrono::microseconds(100 + r % 3000));
        contexts[i] = ctx;
        cancels[i] = cancel;
      }
    }
    old();
  }

  void record_send(value id, bool ok) {
    int previous = outcomes[id].exchange(ok ? sent : unsent);
    EXPECT_EQ(previous, not_tried) << "value " << id << " was offered twice";
  }
  void record_receive(value id) { received[id].fetch_add(1, std::memory_order_relaxed); }
};

struct xorshift {
  std::uint64_t state;
  std::uint64_t operator()() {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
  }
};

task<> worker(world& w, int index, wait_group& wg) {
  xorshift rng{0x9E3779B97F4A7C15ull * static_cast<std::uint64_t>(index + 1)};
  for (int op = 0; op < ops_per_task; ++op) {
    value id = static_cast<value>(index) * ops_per_task + static_cast<value>(op);
    std::uint64_t r = rng();
    auto pause = std::chrono::microseconds(r % 2000);
    switch (r % 100) {
      case 0: {  // rare: close a shared channel (and put a new one in its slot)
        w.close_and_replace(r >> 8);
        break;
      }
      case 1:
      case 2: {  // cancel a shared context (and put a new one in its place)
        w.cancel_and_replace(r >> 8);
        break;
      }
      default: {
        chan<value> a = w.channel(r >> 8);
        chan<value> b = w.channel(r >> 16);
        context ctx = w.ctx(r >> 24);
        switch ((r >> 32) % 9) {
          case 0: {  // plain send
            auto result = co_await a.send(id);
            w.record_send(id, static_cast<bool>(result));
            break;
          }
          case 1: {  // plain receive
            if (auto v = co_await a.recv()) w.record_receive(*v);
            break;
          }
          case 2: {  // receive or send, bounded by a timer
            value v = id;
            auto s = co_await select(recv(a), send(b, v), after(pause));
            if (s.index() == 0 && s.get<0>()) w.record_receive(*s.get<0>());
            bool ok = s.index() == 1 && static_cast<bool>(s.get<1>());
            if (!ok && v != id) w.bad_handback.fetch_add(1);
            w.record_send(id, ok);
            break;
          }
          case 3: {  // two receives and a send, with a default
            value v = id;
            auto s = co_await select(recv(a), recv(b), send(a, v), otherwise());
            if (s.index() == 0 && s.get<0>()) w.record_receive(*s.get<0>());
            if (s.index() == 1 && s.get<1>()) w.record_receive(*s.get<1>());
            w.record_send(id, s.index() == 2 && static_cast<bool>(s.get<2>()));
            break;
          }
          case 4: {  // send bounded by a context and a timer (owned value)
            auto s = co_await select(send(a, value{id}), done(ctx), after(pause));
            w.record_send(id, s.index() == 0 && static_cast<bool>(s.get<0>()));
            break;
          }
          case 5: {  // receive bounded by a context (and a long timer)
            auto s = co_await select(done(ctx), recv(a), after(20ms));
            if (s.index() == 1 && s.get<1>()) w.record_receive(*s.get<1>());
            break;
          }
          case 6: {  // non-blocking send
            auto t = a.try_send(id);
            if (!t.ok() && t.value != std::optional<value>(id)) w.bad_handback.fetch_add(1);
            w.record_send(id, t.ok());
            break;
          }
          case 7: {  // non-blocking receive
            if (auto v = a.try_recv()) w.record_receive(*v);
            break;
          }
          default: {  // receive from either, or wait on the context
            auto s = co_await select(recv(a), recv(b), done(ctx), after(pause));
            if (s.index() == 0 && s.get<0>()) w.record_receive(*s.get<0>());
            if (s.index() == 1 && s.get<1>()) w.record_receive(*s.get<1>());
            break;
          }
        }
      }
    }
    w.ops_done.fetch_add(1, std::memory_order_relaxed);
  }
  wg.done();
}

TEST(chan_stress, every_value_is_received_once_or_reported_unsent_and_no_task_hangs) {
  runtime_options options;
  options.workers = 2;
  runtime rt(options);
  world shared;
  rt.block_on([](world& state) -> task<> {
    world& w = state;
    wait_group wg;
    wg.add(task_count);
    for (int i = 0; i < task_count; ++i) go(worker(w, i, wg));

    // Let the tasks run. Plain sends and receives may end up waiting for
    // peers that will never come, so once progress stops (or after a bound)
    // close every channel, which completes them: sends report unsent,
    // receives get nullopt.
    auto start = clock::now();
    long last_ops = -1;
    while (wg.count() > 0 && clock::now() - start < 30s) {
      co_await sleep_for(50ms);
      long ops = w.ops_done.load();
      if (ops == last_ops) break;  // stalled
      last_ops = ops;
    }
    std::printf("%ld of %ld operations done before closing everything\n", w.ops_done.load(),
                long{task_count} * ops_per_task);
    {
      std::lock_guard lock(w.registry);
      w.closing = true;
      for (auto& ch : w.every_channel) ch.close();
    }
    w.cancel_root();

    // Join every task, bounded: a task left hanging fails the test.
    chan<int> all_done;
    go([](wait_group& group, chan<int> finished) -> task<> {
      co_await group.wait();
      finished.close();
    }(wg, all_done));
    auto joined = co_await select(recv(all_done), after(60s));
    EXPECT_EQ(joined.index(), 0u) << wg.count() << " tasks still hang after every channel closed";
    if (joined.index() != 0) co_return;

    // Drain whatever is still buffered.
    std::vector<chan<value>> channels;
    {
      std::lock_guard lock(w.registry);
      channels = w.every_channel;
    }
    for (auto& ch : channels) {
      EXPECT_TRUE(ch.is_closed());
      while (auto v = ch.try_recv()) w.record_receive(*v);
    }
  }(shared));

  EXPECT_EQ(shared.ops_done.load(), long{task_count} * ops_per_task);
  EXPECT_EQ(shared.bad_handback.load(), 0) << "a send that did not happen changed its value";
  long sent_count = 0;
  long unsent_count = 0;
  int errors = 0;
  for (std::size_t id = 0; id < shared.outcomes.size(); ++id) {
    int outcome = shared.outcomes[id].load();
    int got = shared.received[id].load();
    int expected = outcome == sent ? 1 : 0;
    if (outcome == sent) ++sent_count;
    if (outcome == unsent) ++unsent_count;
    if (got != expected && ++errors <= 10) {
      ADD_FAILURE() << "value " << id << ": outcome " << outcome << ", received " << got
                    << " times";
    }
  }
  EXPECT_EQ(errors, 0);
  // The mix must actually exercise both paths.
  EXPECT_GT(sent_count, task_count);
  EXPECT_GT(unsent_count, task_count);
  std::printf("sent %ld, unsent %ld, channels %zu\n", sent_count, unsent_count,
              shared.every_channel.size());
}

}  // namespace
}  // namespace weft
