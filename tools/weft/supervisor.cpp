#include "supervisor.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>

extern char** environ;

namespace weft::cli {
namespace {

constexpr int forwarded_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

sigset_t handled_set() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : forwarded_signals) sigaddset(&set, s);
  sigaddset(&set, SIGCHLD);
  return set;
}

bool is_terminating(int sig) {
  return sig == SIGINT || sig == SIGTERM || sig == SIGHUP || sig == SIGQUIT;
}

// Resolves the command like execvp would, in the parent, so the child only
// has to call execve (async-signal-safe after vfork).
result<std::string> resolve_command(const std::string& name) {
  if (name.empty()) return fail(errc::invalid_argument, "the command is empty");
  auto executable = [](const std::string& path) -> int {
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0) return ENOENT;
    if (!S_ISREG(st.st_mode)) return EACCES;
    if (::access(path.c_str(), X_OK) != 0) return EACCES;
    return 0;
  };
  if (name.find('/') != std::string::npos) {
    int e = executable(name);
    if (e == 0) return name;
    if (e == ENOENT) return fail(errc::not_found, "command not found: " + name);
    return fail(errc::permission_denied, "command is not executable: " + name);
  }
  const char* path_env = std::getenv("PATH");
  std::string path = path_env != nullptr ? path_env : "/usr/local/bin:/usr/bin:/bin";
  bool saw_denied = false;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string_view dir = end > start ? std::string_view(path).substr(start, end - start)
                                       : std::string_view(".");
    std::string candidate;
    candidate.reserve(dir.size() + 1 + name.size());
    candidate.append(dir).append(1, '/').append(name);
    int e = executable(candidate);
    if (e == 0) return candidate;
    if (e == EACCES) saw_denied = true;
    start = end + 1;
  }
  if (saw_denied) return fail(errc::permission_denied, "command is not executable: " + name);
  return fail(errc::not_found, "command not found in PATH: " + name);
}

std::vector<std::string> build_environment(
    const std::vector<std::pair<std::string, std::string>>& extra) {
  std::vector<std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry(*e);
    bool replaced = false;
    for (const auto& [key, value] : extra) {
      if (entry.size() > key.size() && entry.substr(0, key.size()) == key &&
          entry[key.size()] == '=') {
        replaced = true;
        break;
      }
    }
    if (!replaced) out.emplace_back(entry);
  }
  for (const auto& [key, value] : extra) out.push_back(key + "=" + value);
  return out;
}

int shell_status(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 1;
}

// Starts the child with vfork + execve: cheap (no page-table copy) and lets
// the child set its process group and parent-death signal before exec.
result<pid_t> start_child(const std::string& path, char* const* argv, char* const* envp) {
  const pid_t parent = ::getpid();
  volatile int exec_errno = 0;
  sigset_t empty;
  sigemptyset(&empty);
  pid_t pid = ::vfork();
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::sigprocmask(SIG_SETMASK, &empty, nullptr);
    ::execve(path.c_str(), argv, envp);
    exec_errno = errno;
    ::_exit(127);
  }
  if (pid < 0) {
    return fail(errc::io, std::string("cannot start the command: ") + std::strerror(errno));
  }
  if (exec_errno != 0) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    int e = exec_errno;
    if (e == ENOENT) return fail(errc::not_found, "command not found: " + path);
    if (e == EACCES || e == ENOEXEC) {
      return fail(errc::permission_denied,
                  "cannot execute " + path + ": " + std::strerror(e));
    }
    return fail(errc::io, "cannot execute " + path + ": " + std::strerror(e));
  }
  return pid;
}

}  // namespace

signal_guard::signal_guard() {
  sigset_t set = handled_set();
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
  fd_ = ::signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

signal_guard::~signal_guard() {
  if (fd_ >= 0) ::close(fd_);
}

int signal_guard::take() noexcept {
  signalfd_siginfo info{};
  ssize_t n = ::read(fd_, &info, sizeof info);
  if (n != static_cast<ssize_t>(sizeof info)) return 0;
  return static_cast<int>(info.ssi_signo);
}

notifier::notifier() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

notifier::~notifier() {
  if (fd_ >= 0) ::close(fd_);
}

void notifier::notify() noexcept {
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(fd_, &one, sizeof one);
  // Last touch: once a waiter sees the flag it may destroy the notifier.
  flag_.store(true, std::memory_order_release);
}

result<child_outcome> run_child(const child_spec& spec, signal_guard& signals, int stop_fd) {
  if (spec.argv.empty()) return fail(errc::invalid_argument, "no command was given");
  auto path = resolve_command(spec.argv.front());
  if (!path) return fail(path.error());

  std::vector<std::string> env_strings = build_environment(spec.environment);
  std::vector<char*> envp;
  envp.reserve(env_strings.size() + 1);
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::vector<std::string> arg_strings = spec.argv;
  std::vector<char*> argv;
  argv.reserve(arg_strings.size() + 1);
  for (auto& s : arg_strings) argv.push_back(s.data());
  argv.push_back(nullptr);

  auto started = start_child(*path, argv.data(), envp.data());
  if (!started) return fail(started.error());
  const pid_t pid = *started;
  ::setpgid(pid, pid);  // also done by the child; whichever runs first wins

  child_outcome outcome;
  bool stopping = false;
  bool killed = false;
  std::chrono::steady_clock::time_point kill_at{};
  bool upkeep_pending = static_cast<bool>(spec.upkeep);
  const auto upkeep_at = std::chrono::steady_clock::now() + spec.upkeep_after;
  auto millis_until = [](std::chrono::steady_clock::time_point when) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(when - std::chrono::steady_clock::now());
    return left.count() < 0 ? 0 : static_cast<int>(left.count()) + 1;
  };

  for (;;) {
    // Has the child exited? Peek without reaping, so the group id cannot be
    // reused while we may still signal the group.
    siginfo_t info{};
    info.si_pid = 0;
    if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
        info.si_pid == pid) {
      if (stopping) ::kill(-pid, SIGKILL);  // no member of the group outlives a lost lease
      int status = 0;
      while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      outcome.status = shell_status(status);
      return outcome;
    }

    pollfd fds[2] = {{signals.fd(), POLLIN, 0}, {stop_fd, POLLIN, 0}};
    nfds_t count = (stop_fd >= 0 && !stopping) ? 2 : 1;
    if (upkeep_pending && std::chrono::steady_clock::now() >= upkeep_at) {
      upkeep_pending = false;
      spec.upkeep();
    }
    int timeout = -1;
    if (stopping && !killed) timeout = millis_until(kill_at);
    if (upkeep_pending) {
      int upkeep_timeout = millis_until(upkeep_at);
      timeout = timeout < 0 ? upkeep_timeout : std::min(timeout, upkeep_timeout);
    }
    int ready = ::poll(fds, count, timeout);
    if (ready < 0 && errno != EINTR) {
      return fail(errc::io, std::string("poll failed: ") + std::strerror(errno));
    }
    if (ready > 0 && (fds[0].revents & POLLIN) != 0) {
      while (int sig = signals.take()) {
        if (sig != SIGCHLD) ::kill(-pid, sig);
      }
    }
    if (count == 2 && ready > 0 && (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      stopping = true;
      outcome.stopped = true;
      outcome.stop_signal = SIGTERM;
      ::kill(-pid, SIGTERM);
      kill_at = std::chrono::steady_clock::now() + spec.grace;
    }
    if (stopping && !killed && std::chrono::steady_clock::now() >= kill_at) {
      killed = true;
      outcome.stop_signal = SIGKILL;
      ::kill(-pid, SIGKILL);
    }
  }
}

wait_outcome wait_readable_or_signal(int fd, signal_guard& signals, int& signal, int other_fd) {
  for (;;) {
    pollfd fds[3] = {{fd, POLLIN, 0}, {signals.fd(), POLLIN, 0}, {other_fd, POLLIN, 0}};
    int ready = ::poll(fds, other_fd >= 0 ? 3 : 2, -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      return wait_outcome::ready;
    }
    if ((fds[1].revents & POLLIN) != 0) {
      while (int sig = signals.take()) {
        if (is_terminating(sig)) {
          signal = sig;
          return wait_outcome::signalled;
        }
      }
    }
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) return wait_outcome::ready;
    if (other_fd >= 0 && (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      return wait_outcome::ready;
    }
  }
}

}  // namespace weft::cli
