#include "demo_processes.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/core.h>

#include "weft/lock/fence.hpp"

extern char** environ;

namespace weft::cli::demo {

std::string self_path() {
  char buffer[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buffer, sizeof buffer - 1);
  if (n <= 0) return "/proc/self/exe";
  return std::string(buffer, static_cast<std::size_t>(n));
}

std::optional<process> process::start(const std::vector<std::string>& argv,
                                      const std::string& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  if (!log.empty()) {
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND,
                                     0600);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
  }
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, argv.front().c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return std::nullopt;
  return process(pid);
}

process& process::operator=(process&& other) noexcept {
  if (this != &other) {
    this->~process();
    pid_ = other.pid_;
    status_ = other.status_;
    other.pid_ = -1;
  }
  return *this;
}

process::~process() {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

void process::signal(int sig) const noexcept {
  if (pid_ > 0 && !status_) ::kill(pid_, sig);
}

std::optional<int> process::poll() {
  if (status_ || pid_ <= 0) return status_;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  return status_;
}

std::optional<int> process::wait_for(std::chrono::milliseconds timeout) {
  wait_until([&] { return poll().has_value(); }, timeout);
  return status_;
}

int process::wait() {
  if (status_ || pid_ <= 0) return status_.value_or(-1);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return *status_;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool file_exists(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0;
}

bool write_file_atomic(const std::string& path, const std::string& contents) {
  std::string temporary = path + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(temporary, std::ios::trunc);
    if (!out) return false;
    out << contents;
    if (!out.flush()) return false;
  }
  return std::rename(temporary.c_str(), path.c_str()) == 0;
}

namespace {

std::uint64_t token_from_environment() {
  const char* t = std::getenv("WEFT_FENCING_TOKEN");
  return t != nullptr ? std::strtoull(t, nullptr, 10) : 0;
}

long long monotonic_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void append_line(const std::string& path, const std::string& line) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return;
  std::string text = line + "\n";
  [[maybe_unused]] ssize_t n = ::write(fd, text.data(), text.size());
  ::close(fd);
}

int usage() {
  std::fputs("weft demo-worker: internal helper of weft demo\n", stderr);
  return 64;
}

}  // namespace

int run_worker(const std::vector<std::string>& args) {
  if (args.empty()) return usage();
  const std::string& mode = args[0];
  if (mode == "increment" && args.size() == 3) {
    // Read-modify-write with a pause in the middle: without a lock, two
    // workers read the same value and one update is lost.
    const std::string& counter = args[1];
    long long value = std::atoll(read_file(counter).c_str());
    ::usleep(static_cast<useconds_t>(std::atoi(args[2].c_str())));
    if (!write_file_atomic(counter, std::to_string(value + 1))) return 1;
    if (std::uint64_t token = token_from_environment(); token != 0) {
      append_line(counter + ".tokens", std::to_string(token));
    }
    return 0;
  }
  if (mode == "hold" && args.size() == 3) {
    write_file_atomic(args[1], fmt::format("{} {} {}", ::getpid(), token_from_environment(),
                                           monotonic_ns()));
    ::sleep(static_cast<unsigned>(std::atoi(args[2].c_str())));
    return 0;
  }
  if (mode == "fenced-write" && (args.size() == 4 || args.size() == 5)) {
    const std::string& fence_path = args[1];
    const std::string& resource = args[2];
    const std::string& value = args[3];
    const std::uint64_t token = token_from_environment();
    if (args.size() == 5 && args[4] == "pause") {
      // Simulate a holder frozen mid-write (GC pause, SIGSTOP): the demo
      // resumes us after another holder took the lock over.
      write_file_atomic(resource + ".paused", std::to_string(::getpid()));
      ::raise(SIGSTOP);
    }
    auto fence = weft::lock::file_fence::open(fence_path);
    if (!fence) {
      std::fprintf(stderr, "fence: %s\n", std::string(fence.error().message()).c_str());
      return 1;
    }
    auto written = fence->guarded(token, [&]() -> weft::result<void> {
      if (!write_file_atomic(resource, fmt::format("{} {}", value, token))) {
        return weft::fail(weft::errc::io, "cannot write " + resource);
      }
      return {};
    });
    if (!written) {
      append_line(resource + ".rejected", fmt::format("{} {}", value, token));
      return 3;
    }
    return 0;
  }
  if (mode == "lead" && args.size() == 3) {
    write_file_atomic(args[1], fmt::format("{} {} {}", args[2], token_from_environment(),
                                           monotonic_ns()));
    for (;;) ::pause();
  }
  return usage();
}

}  // namespace weft::cli::demo
