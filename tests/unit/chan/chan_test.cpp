#include "weft/chan.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"

namespace weft {
namespace {

using namespace weft::testing;

TEST(chan, unbuffered_try_send_without_receiver_reports_full_and_hands_value_back) {
  chan<std::string> ch;
  auto r = ch.try_send("hello");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.code, errc::full);
  ASSERT_TRUE(r.value.has_value());
  EXPECT_EQ(*r.value, "hello");
  EXPECT_EQ(ch.capacity(), 0u);
  EXPECT_EQ(ch.size(), 0u);
}

TEST(chan, unbuffered_send_completes_only_after_a_receive) {
  run(virtual_clock(), []() -> task<> {
    chan<int> ch;
    bool sent = false;
    auto sender = go([&]() -> task<> {
      EXPECT_TRUE(co_await ch.send(7));
      sent = true;
    });
    co_await settle();
    EXPECT_FALSE(sent) << "an unbuffered send must wait for a receiver";
    EXPECT_EQ(ch.size(), 0u);
    auto v = co_await ch.recv();
    WEFT_CO_ASSERT(v.has_value());
    EXPECT_EQ(*v, 7);
    co_await sender;
    EXPECT_TRUE(sent);
  });
}

TEST(chan, unbuffered_recv_waits_for_a_sender) {
  run(virtual_clock(), []() -> task<> {
    chan<int> ch;
    bool received = false;
    auto receiver = go([&]() -> task<> {
      auto v = co_await ch.recv();
      EXPECT_EQ(v, std::optional<int>(3));
      received = true;
    });
    co_await settle();
    EXPECT_FALSE(received);
    EXPECT_TRUE(ch.try_send(3).ok()) << "a parked receiver takes a try_send directly";
    co_await receiver;
    EXPECT_TRUE(received);
  });
}

TEST(chan, unbuffered_rendezvous_delivers_values_in_send_order_across_workers) {
  run(threaded(), []() -> task<> {
    chan<int> ch;
    constexpr int count = 5000;
    auto producer = go([ch]() mutable -> task<> {
      for (int i = 0; i < count; ++i) EXPECT_TRUE(co_await ch.send(i));
      ch.close();
    });
    int expected = 0;
    while (auto v = co_await ch.recv()) {
      EXPECT_EQ(*v, expected);
      ++expected;
    }
    EXPECT_EQ(expected, count);
    co_await producer;
  });
}

TEST(chan, buffered_send_does_not_wait_until_the_buffer_is_full) {
  chan<int> ch(3);
  EXPECT_EQ(ch.capacity(), 3u);
  EXPECT_TRUE(ch.try_send(1).ok());
  EXPECT_TRUE(ch.try_send(2).ok());
  EXPECT_TRUE(ch.try_send(3).ok());
  EXPECT_EQ(ch.size(), 3u);
  auto full = ch.try_send(4);
  EXPECT_EQ(full.code, errc::full);
  EXPECT_EQ(full.value, std::optional<int>(4));
  EXPECT_EQ(ch.size(), 3u);
}

TEST(chan, buffered_values_come_out_in_fifo_order) {
  chan<int> ch(4);
  for (int round = 0; round < 3; ++round) {  // wraps around the ring buffer
    for (int i = 0; i < 4; ++i) ASSERT_TRUE(ch.try_send(round * 10 + i).ok());
    for (int i = 0; i < 4; ++i) {
      auto v = ch.try_recv();
      ASSERT_TRUE(v.has_value());
      EXPECT_EQ(*v, round * 10 + i);
    }
  }
}

TEST(chan, parked_sender_refills_the_buffer_in_order) {
  run(virtual_clock(), []() -> task<> {
    chan<int> ch(1);
    EXPECT_TRUE(co_await ch.send(1));
    auto sender = go([&]() -> task<> { EXPECT_TRUE(co_await ch.send(2)); });
    co_await settle();
    EXPECT_FALSE(sender.is_finished()) << "the buffer is full, so the sender parks";
    EXPECT_EQ(co_await ch.recv(), std::optional<int>(1));
    co_await sender;
    EXPECT_EQ(ch.size(), 1u);
    EXPECT_EQ(co_await ch.recv(), std::optional<int>(2));
  });
}

TEST(chan, recv_drains_the_buffer_then_returns_nullopt_after_close) {
  run(virtual_clock(), []() -> task<> {
    chan<int> ch(4);
    EXPECT_TRUE(co_await ch.send(1));
    EXPECT_TRUE(co_await ch.send(2));
    ch.close();
    EXPECT_EQ(co_await ch.recv(), std::optional<int>(1));
    EXPECT_EQ(co_await ch.recv(), std::optional<int>(2));
    EXPECT_EQ(co_await ch.recv(), std::nullopt);
    EXPECT_EQ(co_await ch.recv(), std::nullopt);
  });
}

TEST(chan, send_on_a_closed_channel_returns_closed) {
  run(virtual_clock(), []() -> task<> {
    chan<int> ch(1);
    ch.close();
    auto r = co_await ch.send(1);
    WEFT_CO_ASSERT(!r);
    EXPECT_EQ(r.error().code(), errc::closed);
    EXPECT_EQ(ch.size(), 0u);
  });
}

TEST(chan, try_send_on_a_closed_channel_hands_the_value_back) {
  chan<std::unique_ptr<int>> ch(2);
  ch.close();
  auto r = ch.try_send(std::make_unique<int>(42));
  EXPECT_EQ(r.code, errc::closed);
  ASSERT_TRUE(r.value.has_value());
  ASSERT_NE(*r.value, nullptr);
  EXPECT_EQ(**r.value, 42);
}

TEST(chan, try_recv_reports_empty_then_value_then_closed) {
  chan<int> ch(1);
  auto empty = ch.try_recv();
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().code(), errc::empty);
  ASSERT_TRUE(ch.try_send(5).ok());
  ch.close();
  auto v = ch.try_recv();
  ASSERT_TRUE(v);
  EXPECT_EQ(*v, 5);
  auto closed = ch.try_recv();
  ASSERT_FALSE(closed);
  EXPECT_EQ(closed.error().code(), errc::closed);
}

TEST(chan, close_is_idempotent) {
  chan<int> ch;
  EXPECT_FALSE(ch.is_closed());
  ch.close();
  ch.close();
  EXPECT_TRUE(ch.is_closed());
  EXPECT_EQ(ch.try_recv().error().code(), errc::closed);
}

TEST(chan, close_wakes_every_parked_receiver_with_nullopt) {
  run(virtual_clock(), []() -> task<> {
    chan<int> ch;
    int woken = 0;
    std::vector<join_handle<void>> receivers;
    for (int i = 0; i < 3; ++i) {
      receivers.push_back(go([&]() -> task<> {
        EXPECT_EQ(co_await ch.recv(), std::nullopt);
        ++woken;
      }));
    }
    co_await settle();
    EXPECT_EQ(woken, 0);
    ch.close();
    for (auto& r : receivers) co_await r;
    EXPECT_EQ(woken, 3);
  });
}

TEST(chan, close_fails_every_parked_sender) {
  run(virtual_clock(), []() -> task<> {
    chan<int> ch;
    int failed = 0;
    std::vector<join_handle<void>> senders;
    for (int i = 0; i < 3; ++i) {
      senders.push_back(go([&, i]() -> task<> {
        auto r = co_await ch.send(i);
        if (!r && r.error().code() == errc::closed) ++failed;
      }));
    }
    co_await settle();
    ch.close();
    for (auto& s : senders) co_await s;
    EXPECT_EQ(failed, 3);
    EXPECT_EQ(co_await ch.recv(), std::nullopt) << "values of failed senders are dropped";
  });
}

TEST(chan, close_from_a_plain_thread_wakes_a_parked_receiver) {
  run(threaded(), []() -> task<> {
    chan<int> ch;
    std::thread closer([ch]() mutable {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      ch.close();
    });
    auto v = co_await ch.recv();
    closer.join();
    EXPECT_EQ(v, std::nullopt);
  });
}

TEST(chan, move_only_values_pass_through) {
  run(threaded(), []() -> task<> {
    chan<std::unique_ptr<int>> ch;
    auto producer = go([&]() -> task<> {
      for (int i = 0; i < 100; ++i) EXPECT_TRUE(co_await ch.send(std::make_unique<int>(i)));
      ch.close();
    });
    int expected = 0;
    while (auto v = co_await ch.recv()) {
      WEFT_CO_ASSERT(*v != nullptr);
      EXPECT_EQ(**v, expected++);
    }
    EXPECT_EQ(expected, 100);
    co_await producer;
  });
}

TEST(chan, copies_share_one_channel) {
  chan<int> a(1);
  chan<int> b = a;
  chan<int> c(1);
  EXPECT_TRUE(a == b);
  EXPECT_FALSE(a == c);
  ASSERT_TRUE(a.try_send(9).ok());
  EXPECT_EQ(b.size(), 1u);
  EXPECT_EQ(*b.try_recv(), 9);
}

TEST(chan, buffered_values_left_at_destruction_are_destroyed) {
  auto counter = std::make_shared<int>(0);
  {
    chan<std::shared_ptr<int>> ch(3);
    ASSERT_TRUE(ch.try_send(counter).ok());
    ASSERT_TRUE(ch.try_send(counter).ok());
    EXPECT_EQ(counter.use_count(), 3);
  }
  EXPECT_EQ(counter.use_count(), 1);
}

TEST(chan, many_producers_and_consumers_deliver_every_value_exactly_once) {
  run(threaded(), []() -> task<> {
    constexpr int producers = 4;
    constexpr int consumers = 4;
    constexpr int per_producer = 5000;
    chan<int> ch(128);
    std::vector<std::atomic<int>> seen(producers * per_producer);
    std::vector<join_handle<void>> tasks;
    for (int p = 0; p < producers; ++p) {
      tasks.push_back(go([&, p]() -> task<> {
        for (int i = 0; i < per_producer; ++i) EXPECT_TRUE(co_await ch.send(p * per_producer + i));
      }));
    }
    for (int c = 0; c < consumers; ++c) {
      tasks.push_back(go([&]() -> task<> {
        while (auto v = co_await ch.recv()) seen[static_cast<std::size_t>(*v)].fetch_add(1);
      }));
    }
    for (int p = 0; p < producers; ++p) co_await tasks[static_cast<std::size_t>(p)];
    ch.close();
    for (std::size_t c = producers; c < tasks.size(); ++c) co_await tasks[c];
    for (auto& s : seen) EXPECT_EQ(s.load(), 1);
  });
}

}  // namespace
}  // namespace weft
