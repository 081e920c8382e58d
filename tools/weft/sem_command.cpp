// `weft sem --permits N NAME -- CMD...`: run a command while holding one of N permits.
#include <memory>

#include <CLI/CLI.hpp>

#include "commands.hpp"
#include "held_command.hpp"
#include "operator_support.hpp"

namespace weft::cli {

void register_sem_command(CLI::App& app) {
  auto options = std::make_shared<held_command_options>();
  auto* sub = app.add_subcommand("sem", "Run a command while holding one of N permits");
  sub->footer(
      "At most --permits commands run at once under NAME; each permit is its own lease with\n"
      "its own fencing token. Environment, signals and exit codes as for weft lock\n"
      "(plus WEFT_PERMITS). Example: weft sem --permits 4 encoders -- ffmpeg ...");
  sub->add_option("--permits,-n", options->permits, "Number of permits (at least 1)")->required();
  add_held_flags(*sub, *options);
  sub->callback([options] {
    if (options->permits == 0) {
      print_command_error("sem", "--permits must be at least 1", "example: weft sem --permits 4 NAME -- CMD");
      set_exit_code(operator_exit::usage);
      return;
    }
    set_exit_code(run_held_command(*options, "sem"));
  });
}

}  // namespace weft::cli
