#include "held_command.hpp"

#include <algorithm>
#include <csignal>
#include <cstring>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "lock_session.hpp"
#include "operator_support.hpp"
#include "supervisor.hpp"

namespace weft::cli {

void add_held_flags(CLI::App& sub, held_command_options& options) {
  sub.add_option("--store", options.store,
                 "Store URI (mem://, file:///dir, redis://...); default $WEFT_STORE, else the "
                 "embedded file store in $XDG_RUNTIME_DIR/weft (else ~/.local/state/weft)");
  sub.add_option("--ttl", options.ttl, "Lease time to live; renewed while held (e.g. 500ms, 10s)")
      ->capture_default_str();
  auto* wait = sub.add_option("--wait", options.wait,
                              "Give up if not acquired within this time (default: wait forever)");
  auto* no_wait = sub.add_flag("--no-wait", options.no_wait, "Give up at once if the lock is held");
  wait->excludes(no_wait);
  sub.add_option("--grace", options.grace,
                 "After the lease is lost: time between SIGTERM and SIGKILL to the command")
      ->capture_default_str();
  sub.add_option("name", options.name, "Lock name")->required();
  sub.add_option("command", options.command, "Command to run while holding it (after --)")
      ->required();
}

int run_held_command(const held_command_options& options, const char* command_name) {
  const std::string cmd(command_name);
  auto usage = [&](std::string_view message, std::string_view hint = {}) {
    print_command_error(cmd, message, hint.empty() ? fmt::format("see: weft {} --help", cmd) : hint);
    return operator_exit::usage;
  };

  if (auto ok = check_name(options.name); !ok) return usage(ok.error().message());
  auto ttl = parse_duration_flag("--ttl", options.ttl, false);
  if (!ttl) return usage(ttl.error().message());
  auto grace = parse_duration_flag("--grace", options.grace, true);
  if (!grace) return usage(grace.error().message());
  hold_request request;
  request.name = options.name;
  request.ttl = *ttl;
  request.permits = options.permits;
  request.defer_upkeep = true;  // started by run_child below, if the command outlives upkeep_after
  if (options.no_wait) {
    request.wait = std::chrono::milliseconds(0);
  } else if (!options.wait.empty()) {
    auto wait = parse_duration_flag("--wait", options.wait, true);
    if (!wait) return usage(wait.error().message());
    request.wait = *wait;
  }
  if (options.command.empty() || options.command.front().empty()) {
    return usage("no command given", fmt::format("usage: weft {} NAME -- CMD [ARG...]", cmd));
  }

  // Before any thread starts, so every thread blocks the signals we read.
  signal_guard signals;
  auto resolved = resolve_store_uri(options.store);
  if (!resolved) {
    print_command_error(cmd, resolved.error().message(), "give --store URI, e.g. --store file:///tmp/weft");
    return operator_exit::usage;
  }
  const std::string store_uri = *resolved;
  auto session = lock_session::open(store_uri);
  if (!session) {
    int code = operator_exit_code(session.error());
    print_command_error(cmd, session.error().message(),
                code == operator_exit::usage
                    ? "give a URI such as file:///var/lib/weft or mem://"
                    : "check that the store is running and reachable, then retry");
    return code;
  }

  int signal = 0;
  auto lease = (*session)->acquire(request, signals, signal);
  if (!lease) {
    const auto& e = lease.error();
    if (signal != 0) return 128 + signal;
    if (e.code() == errc::timeout || e.code() == errc::contended ||
        e.code() == errc::deadline_exceeded) {
      print_command_error(cmd,
                  options.no_wait ? fmt::format("'{}' is held by another process", options.name)
                                  : fmt::format("'{}' was not acquired within {}", options.name,
                                                options.wait),
                  fmt::format("see who holds it: weft status {}", options.name));
      return operator_exit::not_acquired;
    }
    int code = operator_exit_code(e);
    print_command_error(cmd, e.message(),
                code == operator_exit::usage ? fmt::format("see: weft {} --help", cmd)
                                             : "check that the store is reachable, then retry");
    return code;
  }

  child_spec spec;
  spec.argv = options.command;
  spec.grace = *grace;
  // The renewal is first due at ttl/3: start it long before, but not for a
  // command that is over within milliseconds.
  spec.upkeep = [&lease] { lease->start_upkeep(); };
  spec.upkeep_after = std::min<std::chrono::milliseconds>(*ttl / 10, std::chrono::milliseconds(50));
  spec.environment = {{"WEFT_LOCK_NAME", options.name},
                      {"WEFT_FENCING_TOKEN", std::to_string(lease->token())},
                      {"WEFT_STORE", strip_credentials(store_uri)}};
  if (options.permits > 0) spec.environment.emplace_back("WEFT_PERMITS", std::to_string(options.permits));

  auto outcome = run_child(spec, signals, lease->lost_fd());
  (void)lease->release();
  // The lock is released and the child reaped: nothing is left to do but
  // exit. Skipping the teardown of the runtime and store threads (joins and
  // wake-ups) takes it off the cost of every guarded command.
  // Sanitizer builds return normally, so LeakSanitizer still checks the run.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  auto finish = [](int code) { return code; };
#else
  auto finish = [](int code) -> int { exit_now(code); };
#endif
  if (!outcome) {
    const auto& e = outcome.error();
    print_command_error(cmd, e.message(), "check the command name and PATH");
    if (e.code() == errc::not_found) return operator_exit::command_not_found;
    if (e.code() == errc::permission_denied) return operator_exit::cannot_execute;
    return operator_exit::software;
  }
  if (outcome->stopped) {
    print_command_error(cmd,
                fmt::format("the lease on '{}' was lost; the command was stopped with {}",
                            options.name, outcome->stop_signal == SIGKILL ? "SIGKILL" : "SIGTERM"),
                "the store could not be reached or the lease expired (was weft paused?)");
    return finish(operator_exit::lease_lost);
  }
  return finish(outcome->status);
}

}  // namespace weft::cli
