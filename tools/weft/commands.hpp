// The weft CLI's subcommands. Each lives in its own <name>_command.cpp and
// adds itself to the app; its callback stores the exit code with
// set_exit_code. main.cpp calls every register function.
#pragma once

#include <CLI/CLI.hpp>

namespace weft::cli {

// The exit code the chosen subcommand wants main() to return.
void set_exit_code(int code) noexcept;
int exit_code() noexcept;

void register_ring_command(CLI::App& app);
void register_lock_command(CLI::App& app);
void register_sem_command(CLI::App& app);
void register_elect_command(CLI::App& app);
void register_status_command(CLI::App& app);
void register_demo_command(CLI::App& app);

}  // namespace weft::cli
