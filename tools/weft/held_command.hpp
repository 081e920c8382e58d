// The shared body of `weft lock` and `weft sem`: acquire, run the child under
// supervision, release, and map every outcome to a documented exit code.
//
// Thread-safety: runs on the main thread of the weft process.
#pragma once

#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace weft::cli {

struct held_command_options {
  std::string store;
  std::string ttl = "10s";
  std::string wait;
  bool no_wait = false;
  std::string grace = "5s";
  std::string name;
  unsigned permits = 0;  // 0: mutex (weft lock); N: semaphore (weft sem)
  std::vector<std::string> command;
};

// Adds the flags common to lock and sem to `sub`.
void add_held_flags(CLI::App& sub, held_command_options& options);

// Runs the command; returns the process exit code.
int run_held_command(const held_command_options& options, const char* command_name);

}  // namespace weft::cli
