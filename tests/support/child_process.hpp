// Runs a program (the weft CLI, a test helper) as a child process for tests:
// fork and execv (no shell), the environment and stdin/stdout/stderr set per
// call, an optionally bounded wait that kills a hung child, and a scratch
// directory for the captured output. Not thread-safe: call from the test's
// own thread (fork copies only that thread).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

namespace weft::test {

// The whole content of a file; empty when it cannot be read.
inline std::string read_all(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

// A fresh directory under $TMPDIR, removed with its content by the destructor.
class scratch_dir {
 public:
  explicit scratch_dir(const std::string& prefix = "weft-test") {
    std::string pattern = (std::filesystem::temp_directory_path() / (prefix + ".XXXXXX")).string();
    if (::mkdtemp(pattern.data())) path_ = pattern;
  }
  ~scratch_dir() {
    std::error_code ignored;
    if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
  }
  scratch_dir(const scratch_dir&) = delete;
  scratch_dir& operator=(const scratch_dir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// What the child gets besides our own environment and file descriptors.
struct child_options {
  std::vector<std::string> unset_environment = {};
  std::map<std::string, std::string> set_environment = {};
  // Appended to the child's ASAN_OPTIONS (e.g. "allocator_may_return_null=1").
  std::string asan_options = {};
  // Files for stdin, stdout and stderr; empty keeps ours (run_child puts
  // stdout and stderr in its scratch directory instead).
  std::string stdin_path = {};
  std::string stdout_path = {};
  std::string stderr_path = {};
  // A descriptor to make the child's stdout (a pipe's write end); -1: none.
  int stdout_descriptor = -1;
};

// Starts `program` with `args` (argv[0] is `program`). The child exits 127
// when it cannot exec.
inline pid_t start_child(const std::string& program, const std::vector<std::string>& args,
                         const child_options& options = {}) {
  std::cout.flush();  // else the child's stdio would write our buffered output a second time
  std::fflush(nullptr);
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  for (const auto& name : options.unset_environment) ::unsetenv(name.c_str());
  for (const auto& [name, value] : options.set_environment) ::setenv(name.c_str(), value.c_str(), 1);
  if (!options.asan_options.empty()) {
    const char* asan = std::getenv("ASAN_OPTIONS");
    const std::string joined = std::string(asan ? asan : "") + (asan && *asan ? ":" : "") + options.asan_options;
    ::setenv("ASAN_OPTIONS", joined.c_str(), 1);
  }
  auto redirect = [](const std::string& path, int flags, int target) {
    if (path.empty()) return;
    const int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0600);
    if (fd < 0 || ::dup2(fd, target) < 0) ::_exit(127);
    ::close(fd);
  };
  redirect(options.stdin_path, O_RDONLY, 0);
  redirect(options.stdout_path, O_WRONLY | O_CREAT | O_TRUNC, 1);
  redirect(options.stderr_path, O_WRONLY | O_CREAT | O_TRUNC, 2);
  if (options.stdout_descriptor >= 0 && ::dup2(options.stdout_descriptor, 1) < 0) ::_exit(127);
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(program.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  ::execv(program.c_str(), argv.data());
  ::_exit(127);
}

struct wait_options {
  // Zero: wait as long as the child runs. Otherwise a child still running
  // after this long is killed with SIGKILL (its exit code is then -1).
  std::chrono::milliseconds kill_after{0};
  // With a bound: how often to look, calling `while_running` each time.
  std::chrono::milliseconds poll_every{10};
  std::function<void(pid_t)> while_running = {};
};

// The child's exit code, or -1 when a signal ended it.
inline int wait_child(pid_t pid, const wait_options& options = {}) {
  int status = 0;
  if (options.kill_after.count() == 0) {
    ::waitpid(pid, &status, 0);
  } else {
    const auto start = std::chrono::steady_clock::now();
    while (::waitpid(pid, &status, WNOHANG) == 0) {
      if (options.while_running) options.while_running(pid);
      if (std::chrono::steady_clock::now() - start > options.kill_after) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(options.poll_every);
    }
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

struct child_result {
  int exit_code = -1;
  std::string out;
  std::string err;
  std::chrono::milliseconds took{0};
};

// Runs `program` to its end with stdout and stderr in files of `scratch`
// (unless `options` names others) and returns what it wrote there.
inline child_result run_child(const std::string& program, const std::vector<std::string>& args,
                              const std::string& scratch, child_options options = {},
                              const wait_options& waiting = {}) {
  if (options.stdout_path.empty() && options.stdout_descriptor < 0) options.stdout_path = scratch + "/out";
  if (options.stderr_path.empty()) options.stderr_path = scratch + "/err";
  const auto start = std::chrono::steady_clock::now();
  const pid_t pid = start_child(program, args, options);
  child_result result;
  result.exit_code = wait_child(pid, waiting);
  result.took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  if (!options.stdout_path.empty()) result.out = read_all(options.stdout_path);
  result.err = read_all(options.stderr_path);
  return result;
}

}  // namespace weft::test
