// weft: the command line. Subcommands register themselves (commands.hpp).
#include <cstdio>
#include <cstring>
#include <string>

#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "exit_codes.hpp"

namespace weft::cli {
namespace {
int chosen_exit_code = exit_ok;
}  // namespace

void set_exit_code(int code) noexcept { chosen_exit_code = code; }
int exit_code() noexcept { return chosen_exit_code; }

}  // namespace weft::cli

int main(int argc, char** argv) {
  CLI::App app{"weft: Go's model of distributed programming, in C++20.\n"
               "Consistent hashing, distributed locks and a Go-style runtime."};
  app.name("weft");
  app.set_version_flag("--version", std::string("weft ") + WEFT_VERSION);
  app.require_subcommand(1);
  app.fallthrough(false);

  // Building every subcommand's options costs about a tenth of a whole
  // `weft lock` run, which guards every command it runs: when the first
  // argument names a subcommand, only that one is built. Help, --version and
  // unknown commands see them all.
  struct command_entry {
    const char* name;
    void (*add)(CLI::App&);
  };
  static constexpr command_entry commands[] = {
      {"ring", weft::cli::register_ring_command},     {"lock", weft::cli::register_lock_command},
      {"sem", weft::cli::register_sem_command},       {"elect", weft::cli::register_elect_command},
      {"status", weft::cli::register_status_command}, {"demo", weft::cli::register_demo_command},
      {"demo-worker", weft::cli::register_demo_command}};
  const command_entry* named = nullptr;
  for (const auto& command : commands)
    if (argc > 1 && std::strcmp(argv[1], command.name) == 0) named = &command;
  if (named != nullptr) {
    named->add(app);
  } else {
    for (const auto& command : commands)
      if (std::strcmp(command.name, "demo-worker") != 0) command.add(app);  // `demo` adds it
  }

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    weft::cli::print_error(e.what(), "run 'weft --help' or 'weft <command> --help' for usage");
    return weft::cli::exit_usage;
  }
  return weft::cli::exit_code();
}
