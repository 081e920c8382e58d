// Helpers shared by the Redis store tests: the servers scripts/services.sh
// started (WEFT_TEST_* variables; a missing one fails the test, never skips
// it), private redis-server processes for fault tests, and a runtime.
#pragma once

#include <gtest/gtest.h>
#include <signal.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "environment.hpp"
#include "weft/lock/store.hpp"

extern char** environ;

namespace weft::test {

inline int free_port() {
  // Bind port 0, read the port back, close: a small race is acceptable in tests.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t size = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &size);
  ::close(fd);
  return ntohs(a.sin_port);
}

inline bool run_quiet(const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()) == 0; }

// A redis-server of our own, for tests that kill, pause or restart it.
class private_redis {
 public:
  explicit private_redis(bool persistence = false) : persistence_(persistence) {
    server_ = env_or_fail("WEFT_TEST_REDIS_SERVER");
    cli_ = env_or_fail("WEFT_TEST_REDIS_CLI");
    port_ = free_port();
    dir_ = std::filesystem::temp_directory_path() / ("weft-redis-" + std::to_string(::getpid()) + "-" + std::to_string(port_));
    std::filesystem::create_directories(dir_);
    start();
  }
  ~private_redis() {
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  private_redis(const private_redis&) = delete;
  private_redis& operator=(const private_redis&) = delete;

  int port() const { return port_; }
  std::string uri() const { return "redis://127.0.0.1:" + std::to_string(port_); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  // Runs redis-server as our own child (not daemonized), so that stop() can
  // reap it at once.
  void start() {
    std::vector<std::string> args{server_, "--port", std::to_string(port_), "--bind", "127.0.0.1",
                                  "--save", "", "--appendonly", persistence_ ? "yes" : "no",
                                  "--appendfsync", "always", "--dir", dir_.string(),
                                  "--logfile", (dir_ / "redis.log").string()};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ASSERT_EQ(::posix_spawn(&pid_, server_.c_str(), nullptr, nullptr, argv.data(), environ), 0) << server_;
    for (int i = 0; i < 400; ++i) {
      if (ping()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    FAIL() << "redis-server on port " << port_ << " did not answer PING";
  }
  pid_t pid() const { return pid_; }
  // kill -9 and reap it.
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  void restart() {
    stop();
    start();
  }
  // PING over a raw socket: true on "+PONG".
  bool ping() const {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port_));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = false;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 && ::write(fd, "PING\r\n", 6) == 6) {
      char reply[16] = {0};
      ok = ::read(fd, reply, sizeof reply - 1) > 0 && std::string(reply).rfind("+PONG", 0) == 0;
    }
    ::close(fd);
    return ok;
  }
  std::string cli(const std::string& arguments) const {
    std::string command = cli_ + " -p " + std::to_string(port_) + " " + arguments;
    std::string out;
    if (FILE* f = ::popen(command.c_str(), "r")) {
      char buffer[4096];
      while (std::fgets(buffer, sizeof buffer, f)) out += buffer;
      ::pclose(f);
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    return out;
  }

 private:
  bool persistence_;
  std::string server_;
  std::string cli_;
  int port_ = 0;
  pid_t pid_ = -1;
  std::filesystem::path dir_;
};


// A lock name no other test run uses.
inline std::string unique_name(const std::string& base) {
  return base + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count());
}

inline lock::acquire_request mutex_request(const std::string& name, bool wait = true,
                                           std::chrono::nanoseconds ttl = std::chrono::seconds(10)) {
  lock::acquire_request r;
  r.kind = lock::recipe::mutex;
  r.name = name;
  r.wait = wait;
  r.options.ttl = ttl;
  return r;
}

inline std::shared_ptr<lock::store> open_or_fail(const std::string& uri) {
  auto s = lock::open(uri);
  EXPECT_TRUE(s) << (s ? "" : std::string(s.error().message()));
  return s ? *s : nullptr;
}

}  // namespace weft::test
