// tcp_stream: non-blocking sockets driven by readable/writable.
#include "weft/tcp_stream.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "runtime/scheduler.hpp"
#include "weft/io.hpp"
#include "weft/spawn_blocking.hpp"

namespace weft {
namespace {

struct address {
  sockaddr_storage storage{};
  socklen_t length = 0;
  int family = 0;
};

// getaddrinfo into plain values; `numeric_only` never touches DNS.
int resolve(const std::string& host, std::uint16_t port, bool numeric_only,
            std::vector<address>& out) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | (numeric_only ? AI_NUMERICHOST : 0);
  addrinfo* list = nullptr;
  const std::string service = std::to_string(port);
  const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &list);
  if (rc != 0) return rc;
  for (addrinfo* a = list; a != nullptr; a = a->ai_next) {
    address entry;
    std::memcpy(&entry.storage, a->ai_addr, a->ai_addrlen);
    entry.length = a->ai_addrlen;
    entry.family = a->ai_family;
    out.push_back(entry);
  }
  ::freeaddrinfo(list);
  return 0;
}

void set_nonblocking(int fd) noexcept {
  const int flags = ::fcntl(fd, F_GETFL, 0);
  if (flags >= 0) ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

std::string where(const std::string& host, std::uint16_t port) {
  return host + ":" + std::to_string(port);
}

}  // namespace

tcp_stream::tcp_stream(int fd) noexcept : fd_(fd) {
  if (fd_ >= 0) {
    set_nonblocking(fd_);
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
}

tcp_stream::tcp_stream(tcp_stream&& other) noexcept
    : source_(other.source_.exchange(nullptr)),
      registering_(other.registering_.exchange(false)),
      fd_(std::exchange(other.fd_, -1)),
      source_runtime_(std::exchange(other.source_runtime_, 0)),
      source_token_(std::exchange(other.source_token_, 0)),
      drained_at_(std::exchange(other.drained_at_, UINT64_MAX)) {}

tcp_stream& tcp_stream::operator=(tcp_stream&& other) noexcept {
  if (this != &other) {
    close();
    source_.store(other.source_.exchange(nullptr));
    registering_.store(other.registering_.exchange(false));
    fd_ = std::exchange(other.fd_, -1);
    source_runtime_ = std::exchange(other.source_runtime_, 0);
    source_token_ = std::exchange(other.source_token_, 0);
    drained_at_ = std::exchange(other.drained_at_, UINT64_MAX);
  }
  return *this;
}

tcp_stream::~tcp_stream() { close(); }

void tcp_stream::close() noexcept {
  if (source_.exchange(nullptr) != nullptr)
    detail::io_close_source_if_alive(source_runtime_, fd_, source_token_);
  registering_.store(false);
  drained_at_ = UINT64_MAX;
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
}

// True when the persistent registration can be used from this thread: it
// belongs to the current runtime (registering it on first use). False means
// "use a one-shot wait".
bool tcp_stream::use_source() noexcept {
  detail::scheduler* current = detail::current_scheduler();
  if (current == nullptr) return false;
  if (source_.load(std::memory_order_acquire) != nullptr) return current->id() == source_runtime_;
  bool expected = false;
  if (!registering_.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) return false;
  std::uint64_t token = 0;
  if (current->io_open_source(fd_, token) != 0) return false;  // stays one-shot
  source_runtime_ = current->id();
  source_token_ = token;
  source_.store(current, std::memory_order_release);
  return true;
}

task<result<tcp_stream>> tcp_stream::connect(std::string host, std::uint16_t port,
                                             clock::duration timeout) {
  const clock::time_point deadline = clock::now() + timeout;
  std::vector<address> addresses;
  int rc = resolve(host, port, true, addresses);
  if (rc != 0) {
    addresses.clear();
    rc = co_await spawn_blocking([&] { return resolve(host, port, false, addresses); });
  }
  if (rc != 0 || addresses.empty())
    co_return fail(errc::unreachable, "cannot resolve " + where(host, port) + ": " +
                                          ::gai_strerror(rc) + "; check the host name");
  std::string last_error = "no address";
  for (const address& a : addresses) {
    const int fd = ::socket(a.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    tcp_stream stream(fd);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&a.storage), a.length) == 0)
      co_return std::move(stream);
    if (errno != EINPROGRESS) {
      last_error = std::strerror(errno);
      continue;
    }
    auto ready = co_await writable(fd, deadline);
    if (!ready) {
      if (ready.error().code() == errc::timeout)
        co_return fail(errc::timeout, "connecting to " + where(host, port) +
                                          " timed out; is the server up and reachable?");
      last_error = std::string(ready.error().message());
      continue;
    }
    int error_number = 0;
    socklen_t length = sizeof error_number;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error_number, &length);
    if (error_number == 0) co_return std::move(stream);
    last_error = std::strerror(error_number);
  }
  co_return fail(errc::unreachable, "cannot connect to " + where(host, port) + ": " + last_error +
                                        "; check that the server is running and reachable");
}

task<result<std::size_t>> tcp_stream::read(std::span<std::byte> buffer) {
  return read_until(buffer, clock::time_point::max());
}
task<result<std::size_t>> tcp_stream::read(std::span<std::byte> buffer, clock::duration timeout) {
  return read_until(buffer, clock::now() + timeout);
}
task<result<void>> tcp_stream::write_all(std::span<const std::byte> bytes) {
  return write_until(bytes, clock::time_point::max());
}
task<result<void>> tcp_stream::write_all(std::span<const std::byte> bytes,
                                         clock::duration timeout) {
  return write_until(bytes, clock::now() + timeout);
}

task<result<std::size_t>> tcp_stream::read_until(std::span<std::byte> buffer,
                                                 clock::time_point deadline) {
  if (fd_ < 0) co_return fail(errc::closed, "read on a closed tcp_stream");
  for (;;) {
    // Read the event count before trying, so an event that lands between
    // EAGAIN and parking is not lost.
    const bool source = use_source();
    detail::scheduler* owner = source ? source_.load(std::memory_order_relaxed) : nullptr;
    const std::uint64_t observed = source ? owner->io_source_events(source_token_, false) : 0;
    // No event since a read found the socket empty: nothing came since (the
    // edge of anything that did is still pending and wakes the park below).
    // Saves a recv that would fail with EAGAIN on every request/reply turn.
    // After a hang-up the end of file waits behind whatever was read last.
    const bool known_empty =
        source && observed == drained_at_ && (observed & detail::scheduler::source_hung_up) == 0;
    if (!known_empty) {
      const ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), 0);
      if (n > 0) {
        // A short read emptied the receive queue.
        drained_at_ = static_cast<std::size_t>(n) < buffer.size() && source ? observed : UINT64_MAX;
        co_return static_cast<std::size_t>(n);
      }
      if (n == 0) co_return std::size_t{0};
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK)
        co_return fail(errc::io, std::string("tcp read failed: ") + std::strerror(errno));
      if (source) drained_at_ = observed;
    }
    // (Not a ?: of two co_awaits: GCC 12 miscompiles that.)
    result<void> ready;
    if (source) {
      ready = co_await detail::io_wait(owner, source_token_, fd_, detail::io_wait::direction::read,
                                       observed, deadline);
    } else {
      ready = co_await readable(fd_, deadline);
    }
    if (!ready) co_return fail(std::move(ready).error());
  }
}

task<result<void>> tcp_stream::write_until(std::span<const std::byte> bytes,
                                           clock::time_point deadline) {
  if (fd_ < 0) co_return fail(errc::closed, "write on a closed tcp_stream");
  while (!bytes.empty()) {
    const bool source = use_source();
    detail::scheduler* owner = source ? source_.load(std::memory_order_relaxed) : nullptr;
    const std::uint64_t observed = source ? owner->io_source_events(source_token_, true) : 0;
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n >= 0) {
      bytes = bytes.subspan(static_cast<std::size_t>(n));
      continue;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK)
      co_return fail(errc::io, std::string("tcp write failed: ") + std::strerror(errno));
    // (Not a ?: of two co_awaits: GCC 12 miscompiles that.)
    result<void> ready;
    if (source) {
      ready = co_await detail::io_wait(owner, source_token_, fd_, detail::io_wait::direction::write,
                                       observed, deadline);
    } else {
      ready = co_await writable(fd_, deadline);
    }
    if (!ready) co_return fail(std::move(ready).error());
  }
  co_return result<void>{};
}

}  // namespace weft
