// `weft elect NAME -- CMD...`: run a command only while this process leads.
// `weft elect --observe NAME [--json]`: print each change of leader.
#include <csignal>
#include <cstdio>
#include <memory>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "commands.hpp"
#include "held_command.hpp"
#include "lock_session.hpp"
#include "operator_support.hpp"
#include "supervisor.hpp"

namespace weft::cli {
namespace {

struct elect_options {
  std::string store;
  std::string value;
  std::string ttl = "10s";
  std::string grace = "5s";
  bool once = false;
  bool observe = false;
  bool json = false;
  std::string name;
  std::vector<std::string> command;
};

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) out += fmt::format("\\u{:04x}", c);
        else out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

int run_observe(const elect_options& o) {
  signal_guard signals;
  std::string uri;
  int code = 0;
  auto session = open_session_for("elect", o.store, uri, code);
  if (!session) return code;
  int signal = 0;
  auto watched = session->observe(o.name, signals, signal, [&](const leader_info& now) {
    if (o.json) {
      if (now.present) {
        fmt::print("{{\"name\":{},\"leader\":true,\"value\":{},\"token\":{}}}\n",
                   json_string(o.name), json_string(now.value), now.token);
      } else {
        fmt::print("{{\"name\":{},\"leader\":false}}\n", json_string(o.name));
      }
    } else if (now.present) {
      fmt::print("leader {} token {}\n", now.value.empty() ? "(no value)" : now.value, now.token);
    } else {
      fmt::print("no leader\n");
    }
    std::fflush(stdout);
  });
  if (!watched && signal == 0) {
    print_command_error("elect", watched.error().message(), "check that the store is reachable");
    return operator_exit_code(watched.error());
  }
  return 0;  // stopped by SIGINT/SIGTERM: the normal way to end an observer
}

int run_elect(const elect_options& o) {
  auto ttl = parse_duration_flag("--ttl", o.ttl, false);
  if (!ttl) {
    print_command_error("elect", ttl.error().message());
    return operator_exit::usage;
  }
  auto grace = parse_duration_flag("--grace", o.grace, true);
  if (!grace) {
    print_command_error("elect", grace.error().message());
    return operator_exit::usage;
  }
  if (o.command.empty() || o.command.front().empty()) {
    print_command_error("elect", "no command given", "usage: weft elect NAME -- CMD [ARG...]");
    return operator_exit::usage;
  }
  signal_guard signals;
  std::string uri;
  int code = 0;
  auto session = open_session_for("elect", o.store, uri, code);
  if (!session) return code;
  hold_request request;
  request.name = o.name;
  request.ttl = *ttl;
  request.value = o.value;
  for (;;) {
    int signal = 0;
    auto lead = session->campaign(request, signals, signal);
    if (!lead) {
      if (signal != 0) return 128 + signal;
      print_command_error("elect", lead.error().message(), "check that the store is reachable");
      return operator_exit_code(lead.error());
    }
    child_spec spec;
    spec.argv = o.command;
    spec.grace = *grace;
    spec.environment = {{"WEFT_LOCK_NAME", o.name},
                        {"WEFT_FENCING_TOKEN", std::to_string(lead->token())},
                        {"WEFT_STORE", strip_credentials(uri)},
                        {"WEFT_LEADER_VALUE", o.value}};
    auto outcome = run_child(spec, signals, lead->lost_fd());
    (void)lead->release();
    if (!outcome) {
      print_command_error("elect", outcome.error().message(), "check the command name and PATH");
      return outcome.error().code() == errc::permission_denied ? operator_exit::cannot_execute
                                                               : operator_exit::command_not_found;
    }
    if (!outcome->stopped) return outcome->status;
    print_command_error("elect",
                fmt::format("leadership of '{}' was lost; the command was stopped with {}", o.name,
                            outcome->stop_signal == SIGKILL ? "SIGKILL" : "SIGTERM"),
                o.once ? "exiting (--once)" : "campaigning again");
    if (o.once) return operator_exit::lease_lost;
  }
}

}  // namespace

void register_elect_command(CLI::App& app) {
  auto o = std::make_shared<elect_options>();
  auto* sub = app.add_subcommand("elect", "Run a command only while this process is the leader");
  sub->footer(
      "The command gets WEFT_LOCK_NAME, WEFT_FENCING_TOKEN (orders leaders), WEFT_STORE and\n"
      "WEFT_LEADER_VALUE. If leadership is lost it is stopped (SIGTERM, then SIGKILL after\n"
      "--grace) and weft campaigns again, or exits 76 with --once. Exit codes as for weft lock.\n"
      "Examples: weft elect --value $(hostname) scheduler -- ./run-scheduler\n"
      "          weft elect --observe scheduler --json");
  sub->add_option("--store", o->store, "Store URI; default $WEFT_STORE, else the embedded file store");
  sub->add_option("--value", o->value, "Value published while leading (e.g. this host's address)");
  sub->add_option("--ttl", o->ttl, "Lease time to live; renewed while leading")->capture_default_str();
  sub->add_option("--grace", o->grace, "Time between SIGTERM and SIGKILL when leadership is lost")
      ->capture_default_str();
  sub->add_flag("--once", o->once, "Exit (76) when leadership is lost instead of campaigning again");
  auto* observe = sub->add_flag("--observe", o->observe, "Print each change of leader, one line each");
  sub->add_flag("--json", o->json, "With --observe: one JSON object per line")->needs(observe);
  sub->add_option("name", o->name, "Election name")->required();
  sub->add_option("command", o->command, "Command to run while leader (after --)");
  sub->callback([o] {
    if (auto ok = check_name(o->name); !ok) {
      print_command_error("elect", ok.error().message(), "see: weft elect --help");
      set_exit_code(operator_exit::usage);
      return;
    }
    if (o->observe) {
      if (!o->command.empty()) {
        print_command_error("elect", "--observe takes no command", "usage: weft elect --observe NAME");
        set_exit_code(operator_exit::usage);
        return;
      }
      set_exit_code(run_observe(*o));
      return;
    }
    set_exit_code(run_elect(*o));
  });
}

}  // namespace weft::cli
