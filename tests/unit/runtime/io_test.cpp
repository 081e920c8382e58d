#include "weft/io.hpp"

#include <gtest/gtest.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>

#include "weft/go.hpp"
#include "weft/runtime.hpp"
#include "weft/sleep.hpp"
#include "weft/tcp_stream.hpp"

namespace weft {
namespace {

using namespace std::chrono_literals;

struct pipe_pair {
  int read_end = -1;
  int write_end = -1;
  pipe_pair() {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_NONBLOCK | O_CLOEXEC), 0);
    read_end = fds[0];
    write_end = fds[1];
  }
  ~pipe_pair() {
    ::close(read_end);
    ::close(write_end);
  }
};

TEST(io, readable_times_out_on_an_empty_pipe) {
  runtime rt({.workers = 2});
  pipe_pair p;
  const auto r = rt.block_on([&]() -> task<result<void>> { co_return co_await readable(p.read_end, 20ms); }());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::timeout);
}

TEST(io, readable_wakes_when_data_arrives) {
  runtime rt({.workers = 2});
  pipe_pair p;
  const std::string got = rt.block_on([&]() -> task<std::string> {
    auto writer = go([&]() -> task<> {
      co_await sleep_for(10ms);
      EXPECT_EQ(::write(p.write_end, "hi", 2), 2);
    });
    auto ready = co_await readable(p.read_end, 5s);
    EXPECT_TRUE(ready);
    char buffer[8] = {};
    const auto n = ::read(p.read_end, buffer, sizeof buffer);
    co_await writer;
    co_return std::string(buffer, n > 0 ? static_cast<std::size_t>(n) : 0);
  }());
  EXPECT_EQ(got, "hi");
}

TEST(io, writable_is_ready_on_an_empty_pipe_and_times_out_on_a_full_one) {
  runtime rt({.workers = 2});
  pipe_pair p;
  rt.block_on([&]() -> task<> {
    EXPECT_TRUE(co_await writable(p.write_end, 1s));
    std::array<char, 4096> block{};
    while (::write(p.write_end, block.data(), block.size()) > 0) {
    }
    auto full = co_await writable(p.write_end, 20ms);
    EXPECT_FALSE(full);
    if (!full) {
      EXPECT_EQ(full.error().code(), errc::timeout);
    }
  }());
}

TEST(io, a_reader_and_a_writer_can_wait_on_one_fd_at_once) {
  runtime rt({.workers = 2});
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
  rt.block_on([&]() -> task<> {
    auto reader = go([&]() -> task<result<void>> { co_return co_await readable(fds[0], 5s); });
    auto writer = go([&]() -> task<result<void>> { co_return co_await writable(fds[0], 5s); });
    EXPECT_TRUE(co_await writer);
    co_await sleep_for(5ms);
    EXPECT_EQ(::write(fds[1], "x", 1), 1);
    EXPECT_TRUE(co_await reader);
  }());
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST(io, repeated_waits_on_one_fd_see_each_new_event) {
  runtime rt({.workers = 2});
  int fds[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
  constexpr int rounds = 500;
  const int echoed = rt.block_on([&]() -> task<int> {
    auto echo = go([&]() -> task<int> {
      int count = 0;
      for (int i = 0; i < rounds; ++i) {
        if (!co_await readable(fds[1], 10s)) co_return count;
        char c = 0;
        if (::read(fds[1], &c, 1) != 1) co_return count;
        if (!co_await writable(fds[1], 10s)) co_return count;
        if (::write(fds[1], &c, 1) != 1) co_return count;
        ++count;
      }
      co_return count;
    });
    for (int i = 0; i < rounds; ++i) {
      EXPECT_EQ(::write(fds[0], "x", 1), 1);
      EXPECT_TRUE(co_await readable(fds[0], 10s));
      char c = 0;
      EXPECT_EQ(::read(fds[0], &c, 1), 1);
    }
    co_return co_await echo;
  }());
  EXPECT_EQ(echoed, rounds);
  ::close(fds[0]);
  ::close(fds[1]);
}

TEST(io, a_reused_fd_number_does_not_see_events_of_the_file_it_had_before) {
  runtime rt({.workers = 2});
  rt.block_on([&]() -> task<> {
    int first[2];
    EXPECT_EQ(::pipe2(first, O_NONBLOCK | O_CLOEXEC), 0);
    // Leave a wait on the first pipe armed, then keep its file alive in a
    // duplicate while its fd number goes to a new pipe.
    EXPECT_EQ((co_await readable(first[0], 10ms)).error().code(), errc::timeout);
    const int keep = ::fcntl(first[0], F_DUPFD_CLOEXEC, 100);
    EXPECT_GE(keep, 0);
    const int number = first[0];
    ::close(first[0]);
    int second[2];
    EXPECT_EQ(::pipe2(second, O_NONBLOCK | O_CLOEXEC), 0);
    EXPECT_EQ(second[0], number);  // the number was reused
    EXPECT_EQ(::write(first[1], "x", 1), 1);  // the old file becomes readable
    auto idle = co_await readable(second[0], 100ms);
    EXPECT_FALSE(idle);
    if (!idle) {
      EXPECT_EQ(idle.error().code(), errc::timeout);
    }
    EXPECT_EQ(::write(second[1], "y", 1), 1);
    EXPECT_TRUE(co_await readable(second[0], 10s));
    // And the fd that held the old file's number still works too.
    EXPECT_TRUE(co_await readable(keep, 10s));
    ::close(keep);
    ::close(first[1]);
    ::close(second[0]);
    ::close(second[1]);
  }());
}

TEST(io, two_readers_on_one_fd_both_wake) {
  runtime rt({.workers = 2});
  pipe_pair p;
  rt.block_on([&]() -> task<> {
    auto a = go([&]() -> task<result<void>> { co_return co_await readable(p.read_end, 10s); });
    auto b = go([&]() -> task<result<void>> { co_return co_await readable(p.read_end, 10s); });
    co_await sleep_for(5ms);
    EXPECT_EQ(::write(p.write_end, "x", 1), 1);
    EXPECT_TRUE(co_await a);
    EXPECT_TRUE(co_await b);
  }());
}

TEST(io, readable_on_a_closed_fd_is_an_io_error) {
  runtime rt({.workers = 2});
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ::close(fds[0]);
  ::close(fds[1]);
  const auto r = rt.block_on([&]() -> task<result<void>> { co_return co_await readable(fds[0], 1s); }());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::io);
}

// A listening socket on an ephemeral loopback port.
struct loopback_listener {
  int fd = -1;
  std::uint16_t port = 0;
};
loopback_listener listen_on_loopback(int backlog) {
  loopback_listener out;
  out.fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::bind(out.fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  EXPECT_EQ(::listen(out.fd, backlog), 0);
  socklen_t length = sizeof address;
  ::getsockname(out.fd, reinterpret_cast<sockaddr*>(&address), &length);
  out.port = ntohs(address.sin_port);
  return out;
}

// A loopback listener on an ephemeral port, accepting on its own thread.
struct echo_server {
  int listener = -1;
  std::uint16_t port = 0;
  std::thread thread;
  echo_server() {
    const auto bound = listen_on_loopback(8);
    listener = bound.fd;
    port = bound.port;
    thread = std::thread([this] {
      const int connection = ::accept(listener, nullptr, nullptr);
      if (connection < 0) return;
      char buffer[4096];
      for (;;) {
        const auto n = ::read(connection, buffer, sizeof buffer);
        if (n <= 0) break;
        if (::write(connection, buffer, static_cast<std::size_t>(n)) != n) break;
      }
      ::close(connection);
    });
  }
  ~echo_server() {
    ::shutdown(listener, SHUT_RDWR);
    thread.join();
    ::close(listener);
  }
};

TEST(tcp_stream, connects_writes_and_reads_over_loopback) {
  runtime rt({.workers = 2});
  echo_server server;
  const std::string echoed = rt.block_on([&]() -> task<std::string> {
    auto connection = co_await tcp_stream::connect("127.0.0.1", server.port, 2s);
    EXPECT_TRUE(connection);
    if (!connection) co_return "";
    const std::string message(100'000, 'w');  // larger than one socket buffer round
    auto writer = go([&]() -> task<result<void>> {
      co_return co_await connection->write_all(std::as_bytes(std::span(message)));
    });
    std::string received;
    std::array<std::byte, 8192> buffer{};
    while (received.size() < message.size()) {
      auto n = co_await connection->read(buffer, 5s);
      EXPECT_TRUE(n);
      if (!n || *n == 0) break;
      received.append(reinterpret_cast<const char*>(buffer.data()), *n);
    }
    EXPECT_TRUE(co_await writer);
    co_return received;
  }());
  EXPECT_EQ(echoed, std::string(100'000, 'w'));
}

// After a read that empties the socket, the next read parks without trying
// recv: a reply that arrives before that read (its epoll edge seen or not yet
// seen by the poller) or after it must still be read, turn after turn.
TEST(tcp_stream, request_reply_turns_never_miss_a_reply_after_a_drained_read) {
  runtime rt({.workers = 1});
  echo_server server;
  const int turns = rt.block_on([&]() -> task<int> {
    auto connection = co_await tcp_stream::connect("127.0.0.1", server.port, 2s);
    EXPECT_TRUE(connection);
    if (!connection) co_return 0;
    std::array<std::byte, 64> buffer{};
    int done = 0;
    for (int i = 0; i < 600; ++i) {
      const std::string request = "turn " + std::to_string(i);
      auto wrote = co_await connection->write_all(std::as_bytes(std::span(request)), 5s);
      EXPECT_TRUE(wrote);
      if (!wrote) break;
      // Every third turn the reply lands (and the poller may see its edge)
      // before the read starts.
      if (i % 3 == 0) co_await sleep_for(200us);
      std::string reply;
      while (reply.size() < request.size()) {
        auto n = co_await connection->read(buffer, 5s);
        EXPECT_TRUE(n);
        if (!n || *n == 0) co_return done;
        reply.append(reinterpret_cast<const char*>(buffer.data()), *n);
      }
      EXPECT_EQ(reply, request);
      ++done;
    }
    co_return done;
  }());
  EXPECT_EQ(turns, 600);
}

TEST(tcp_stream, read_returns_zero_when_the_peer_closes) {
  runtime rt({.workers = 2});
  echo_server server;
  rt.block_on([&]() -> task<> {
    auto connection = co_await tcp_stream::connect("localhost", server.port, 2s);
    EXPECT_TRUE(connection);
    if (!connection) co_return;
    ::shutdown(connection->native_handle(), SHUT_WR);  // server sees EOF, closes
    std::array<std::byte, 16> buffer{};
    auto n = co_await connection->read(buffer, 5s);
    EXPECT_TRUE(n);
    if (n) {
      EXPECT_EQ(*n, 0u);
    }
  }());
}

// The last bytes and the peer's close can reach the socket before the poller
// looks, and then come as one edge-triggered event. The read that takes the
// bytes spends that event; the next read must still see the end of file, not
// count the socket as drained and park for good. (A Redis subscriber missed
// its server's restart this way.)
TEST(tcp_stream, read_sees_the_close_that_came_in_one_event_with_the_last_bytes) {
  runtime rt({.workers = 1});  // the only worker is busy while both arrive
  const auto listener = listen_on_loopback(1);
  rt.block_on([&]() -> task<> {
    auto connection = co_await tcp_stream::connect("127.0.0.1", listener.port, 2s);
    EXPECT_TRUE(connection);
    if (!connection) co_return;
    const int peer = ::accept4(listener.fd, nullptr, nullptr, SOCK_CLOEXEC);  // queued already
    EXPECT_GE(peer, 0);
    std::array<std::byte, 16> buffer{};
    auto nothing = co_await connection->read(buffer, 20ms);  // the socket is now known empty
    EXPECT_FALSE(nothing);
    // Without yielding: the poller cannot look before both are queued.
    EXPECT_EQ(::send(peer, "x", 1, MSG_NOSIGNAL), 1);
    ::close(peer);
    auto last = co_await connection->read(buffer, 2s);
    EXPECT_TRUE(last);
    if (last) {
      EXPECT_EQ(*last, 1u);
    }
    auto end = co_await connection->read(buffer, 2s);
    EXPECT_TRUE(end) << "the close was not seen: " << (end ? "" : std::string(end.error().message()));
    if (end) {
      EXPECT_EQ(*end, 0u);
    }
  }());
  ::close(listener.fd);
}

TEST(tcp_stream, connect_to_a_closed_port_is_unreachable) {
  runtime rt({.workers = 2});
  std::uint16_t port = 0;
  {
    echo_server server;  // find a free port, then close it
    port = server.port;
  }
  const auto r = rt.block_on([&]() -> task<result<tcp_stream>> {
    co_return co_await tcp_stream::connect("127.0.0.1", port, 2s);
  }());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), errc::unreachable);
}

TEST(tcp_stream, read_times_out_when_nothing_arrives) {
  runtime rt({.workers = 2});
  echo_server server;
  rt.block_on([&]() -> task<> {
    auto connection = co_await tcp_stream::connect("127.0.0.1", server.port, 2s);
    EXPECT_TRUE(connection);
    if (!connection) co_return;
    std::array<std::byte, 16> buffer{};
    auto n = co_await connection->read(buffer, 20ms);
    EXPECT_FALSE(n);
    if (!n) {
      EXPECT_EQ(n.error().code(), errc::timeout);
    }
  }());
}

TEST(tcp_stream, outlives_the_runtime_it_was_first_used_on) {
  echo_server server;
  tcp_stream kept;
  {
    runtime first({.workers = 2});
    kept = first.block_on([&]() -> task<tcp_stream> {
      auto connection = co_await tcp_stream::connect("127.0.0.1", server.port, 2s);
      EXPECT_TRUE(connection);
      if (!connection) co_return tcp_stream{};
      std::array<std::byte, 16> buffer{};
      auto n = co_await connection->read(buffer, 10ms);  // registers with `first`
      EXPECT_FALSE(n);
      co_return std::move(*connection);
    }());
  }
  runtime second({.workers = 2});
  const std::string echoed = second.block_on([&]() -> task<std::string> {
    const std::string message = "after the first runtime";
    EXPECT_TRUE(co_await kept.write_all(std::as_bytes(std::span(message)), 2s));
    std::string received;
    std::array<std::byte, 64> buffer{};
    while (received.size() < message.size()) {
      auto n = co_await kept.read(buffer, 5s);
      EXPECT_TRUE(n);
      if (!n || *n == 0) break;
      received.append(reinterpret_cast<const char*>(buffer.data()), *n);
    }
    co_return received;
  }());
  EXPECT_EQ(echoed, "after the first runtime");
  kept.close();
}

}  // namespace
}  // namespace weft
