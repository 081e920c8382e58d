// A misbehaving server on loopback, for the hostile-server fault tests: it
// accepts TCP connections and then stalls, resets, or answers with garbage in
// place of the real protocol. With an upstream it first forwards faithfully
// (a proxy in front of a real Redis or ZooKeeper), so a test can take a lock
// through it and then switch it to misbehave mid-session.
//
// Thread-safety: set_mode() and the accessors may be called from any thread;
// one thread accepts, one thread serves each connection. The destructor stops
// and joins them all and closes every socket.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <list>
#include <mutex>
#include <random>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace weft::test {

class hostile_server {
 public:
  enum class mode {
    forward,         // proxy to the upstream (needs one)
    stall,           // keep the connection open, never read or answer
    reset,           // close with RST (SO_LINGER 0) as soon as possible
    garbage_text,    // answer every request with an HTTP error page
    garbage_binary,  // answer every request with a negative frame length and random bytes
    wrong_type,      // answer every request with the RESP integer 42
    endless_line,    // answer with a 1 MiB line that never ends, then stall
  };

  explicit hostile_server(mode initial, int upstream_port = 0) : mode_(initial), upstream_port_(upstream_port) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(listener_, 64) != 0)
      std::abort();  // a test fixture that cannot listen on loopback cannot test anything
    socklen_t size = sizeof address;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
    acceptor_ = std::thread([this] { accept_loop(); });
  }
  hostile_server(const hostile_server&) = delete;
  hostile_server& operator=(const hostile_server&) = delete;
  ~hostile_server() {
    stop_ = true;
    acceptor_.join();
    std::list<worker> workers;
    {
      std::lock_guard guard(mutex_);
      workers.swap(workers_);
    }
    for (auto& w : workers) w.thread.join();
    ::close(listener_);
  }

  int port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  void set_mode(mode m) { mode_ = m; }
  int connections() const { return connections_; }
  // Bytes the clients sent that were not forwarded (what the misbehaving server swallowed).
  long swallowed() const { return swallowed_; }

 private:
  void accept_loop() {
    while (!stop_) {
      pollfd p{listener_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      ++connections_;
      std::lock_guard guard(mutex_);
      reap_finished_workers();
      worker& w = workers_.emplace_back();
      try {
        w.thread = std::thread([this, client, &w] {
          serve(client);
          w.finished = true;
        });
      } catch (const std::system_error&) {
        // Out of threads: turn this one away (a misbehaviour like any other).
        workers_.pop_back();
        ::close(client);
      }
    }
  }

  // A client that reconnects after every garbage answer opens thousands of
  // connections in a test; unjoined threads keep their stacks until the
  // process runs out and thread creation fails.
  void reap_finished_workers() {
    for (auto it = workers_.begin(); it != workers_.end();) {
      if (!it->finished) {
        ++it;
        continue;
      }
      it->thread.join();
      it = workers_.erase(it);
    }
  }

  static int connect_upstream(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  }

  static bool write_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
      ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
      if (n <= 0) return false;
      data += n;
      size -= static_cast<std::size_t>(n);
    }
    return true;
  }

  void serve(int client) {
    int upstream = -1;
    std::mt19937 random(static_cast<unsigned>(client));
    bool endless_sent = false;
    char buffer[16384];
    while (!stop_) {
      const mode m = mode_;
      if (m == mode::forward) {
        if (upstream < 0 && (upstream_port_ == 0 || (upstream = connect_upstream(upstream_port_)) < 0)) break;
        pollfd p[2] = {{client, POLLIN, 0}, {upstream, POLLIN, 0}};
        if (::poll(p, 2, 20) <= 0) continue;
        bool open = true;
        for (int i = 0; i < 2 && open; ++i) {
          if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
          ssize_t n = ::recv(p[i].fd, buffer, sizeof buffer, 0);
          open = n > 0 && write_all(p[1 - i].fd, buffer, static_cast<std::size_t>(n));
        }
        if (!open) break;
      } else if (m == mode::stall) {
        // Never read; only notice the client hanging up, so its thread ends.
        pollfd p{client, POLLRDHUP, 0};
        if (::poll(&p, 1, 20) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) break;
      } else if (m == mode::reset) {
        linger hard{1, 0};
        ::setsockopt(client, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
        break;
      } else {
        if (m == mode::endless_line && endless_sent) {
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          continue;
        }
        pollfd p{client, POLLIN, 0};
        if (::poll(&p, 1, 20) <= 0) continue;
        ssize_t n = ::recv(client, buffer, sizeof buffer, 0);
        if (n <= 0) break;
        swallowed_ += n;
        std::string answer;
        if (m == mode::garbage_text) {
          answer = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\nContent-Length: 11\r\n\r\nbad request";
        } else if (m == mode::garbage_binary) {
          // A negative 32-bit frame length first (ZooKeeper reads one), then noise.
          answer = std::string("\x99\xbf\x50\x5b", 4);
          for (int i = 0; i < 60; ++i) answer.push_back(static_cast<char>(random()));
        } else if (m == mode::wrong_type) {
          answer = ":42\r\n";
        } else {
          answer = "+" + std::string(1 << 20, 'A');
          endless_sent = true;
        }
        if (!write_all(client, answer.data(), answer.size())) break;
      }
    }
    if (upstream >= 0) ::close(upstream);
    ::close(client);
  }

  std::atomic<mode> mode_;
  const int upstream_port_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::atomic<long> swallowed_{0};
  std::mutex mutex_;
  std::thread acceptor_;
  struct worker {
    std::thread thread;
    std::atomic<bool> finished{false};
  };
  std::list<worker> workers_;  // a list: a running worker's flag must not move
};

}  // namespace weft::test
