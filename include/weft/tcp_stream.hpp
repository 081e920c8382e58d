// weft::tcp_stream: an asynchronous TCP connection for tasks.
//
//   auto conn = co_await weft::tcp_stream::connect("127.0.0.1", 6379, 2s);
//   if (!conn) return conn.error();             // errc::unreachable / timeout
//   co_await conn->write_all(as_bytes(request));
//   auto n = co_await conn->read(buffer);       // 0 = peer closed
//
// Non-blocking socket with TCP_NODELAY; operations park the task on the
// runtime's poller, never a thread. The socket is registered with the poller
// once (edge-triggered) on the first wait, so a wait is one epoll event. Errors are values: errc::unreachable
// (connect refused, no route, name not found), errc::timeout, errc::io
// (reset, broken pipe...). Host names that are not numeric are resolved on
// the blocking pool. The destructor closes the socket.
//
// Thread-safety: one task may read while another writes; two concurrent
// reads (or two writes) on one stream are not allowed.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "weft/clock.hpp"
#include "weft/detail/scheduler.hpp"
#include "weft/result.hpp"
#include "weft/task.hpp"

namespace weft {

class tcp_stream {
 public:
  tcp_stream() noexcept = default;
  // Adopts a connected socket (e.g. from accept); makes it non-blocking.
  explicit tcp_stream(int fd) noexcept;
  tcp_stream(tcp_stream&& other) noexcept;
  tcp_stream& operator=(tcp_stream&& other) noexcept;
  tcp_stream(const tcp_stream&) = delete;
  tcp_stream& operator=(const tcp_stream&) = delete;
  ~tcp_stream();

  static task<result<tcp_stream>> connect(std::string host, std::uint16_t port,
                                          clock::duration timeout);

  // Reads what is available, at least one byte; 0 means the peer closed.
  task<result<std::size_t>> read(std::span<std::byte> buffer);
  task<result<std::size_t>> read(std::span<std::byte> buffer, clock::duration timeout);
  // Writes every byte.
  task<result<void>> write_all(std::span<const std::byte> bytes);
  task<result<void>> write_all(std::span<const std::byte> bytes, clock::duration timeout);

  bool is_open() const noexcept { return fd_ >= 0; }
  int native_handle() const noexcept { return fd_; }
  void close() noexcept;

 private:
  task<result<std::size_t>> read_until(std::span<std::byte> buffer, clock::time_point deadline);
  task<result<void>> write_until(std::span<const std::byte> bytes, clock::time_point deadline);
  // The runtime holding this socket's persistent epoll registration, if any;
  // published (release) after source_runtime_ and source_token_ are set. A
  // reader and a writer may race to register: registering_ picks one.
  std::atomic<detail::scheduler*> source_{nullptr};
  std::atomic<bool> registering_{false};
  bool use_source() noexcept;
  int fd_ = -1;
  std::uint64_t source_runtime_ = 0;
  std::uint64_t source_token_ = 0;
  // The read-event count seen before the last read that drained the socket
  // (EAGAIN or a short read); while it has not moved, the socket is known
  // empty and a read parks without trying recv first.
  std::uint64_t drained_at_ = UINT64_MAX;
};

}  // namespace weft
