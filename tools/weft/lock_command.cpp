// `weft lock NAME -- CMD...`: run a command while holding a lock.
#include <memory>

#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "held_command.hpp"

namespace weft::cli {

void register_lock_command(CLI::App& app) {
  auto options = std::make_shared<held_command_options>();
  auto* sub = app.add_subcommand("lock", "Run a command while holding a lock");
  sub->footer(
      "The command gets WEFT_LOCK_NAME, WEFT_FENCING_TOKEN and WEFT_STORE, runs in its own\n"
      "process group, receives SIGINT/SIGTERM/SIGHUP/SIGQUIT/SIGUSR1/SIGUSR2 sent to weft, and\n"
      "is stopped (SIGTERM, then SIGKILL after --grace) if the lease is lost.\n"
      "Exit: the command's status (128+N if killed by signal N); otherwise 64 usage error,\n"
      "69 the store did not answer (or not usably), 75 held by another: not acquired within\n"
      "--wait, 76 lease lost, 77 permission denied, 126 command not executable, 127 command\n"
      "not found.\n"
      "Passwords: use WEFT_REDIS_PASSWORD, ?password_file=PATH or WEFT_ZK_AUTH; one written in\n"
      "--store is blanked from weft's argv after parsing, but is briefly visible in ps.\n"
      "Example: weft lock --wait 30s backup -- rsync -a /src /dst");
  add_held_flags(*sub, *options);
  sub->callback([options] { set_exit_code(run_held_command(*options, "lock")); });
}

}  // namespace weft::cli
