// `weft status [PREFIX] [--json]`: the locks in a store, their holders,
// fencing tokens, lease time left and waiters.
#include <cstdio>
#include <memory>

#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include "commands.hpp"
#include "held_command.hpp"
#include "lock_session.hpp"
#include "operator_support.hpp"

namespace weft::cli {
namespace {

struct status_options {
  std::string store;
  std::string prefix;
  bool json = false;
};

std::string json_quote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      out += fmt::format("\\u{:04x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

// Names may hold any byte; show control characters escaped.
std::string printable(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) out += fmt::format("\\x{:02x}", c);
    else out += static_cast<char>(c);
  }
  return out;
}

std::string left(const std::optional<std::chrono::milliseconds>& t) {
  if (!t) return "-";
  return fmt::format("{:.1f}s", static_cast<double>(t->count()) / 1000.0);
}

int run_status(const status_options& o) {
  std::string uri;
  int code = 0;
  auto session = open_session_for("status", o.store, uri, code);
  if (!session) return code;
  auto listing = session->list(o.prefix);
  if (!listing) {
    print_command_error("status", listing.error().message(), "check that the store is reachable");
    return operator_exit_code(listing.error());
  }
  if (o.json) {
    std::string out = fmt::format("{{\"store\":{},\"locks\":[", json_quote(strip_credentials(uri)));
    bool first = true;
    for (const auto& l : *listing) {
      out += first ? "" : ",";
      first = false;
      out += fmt::format("{{\"name\":{},\"kind\":{},\"waiters\":{},\"holders\":[", json_quote(l.name),
                         json_quote(l.kind), l.waiters);
      bool first_holder = true;
      for (const auto& h : l.holders) {
        out += first_holder ? "" : ",";
        first_holder = false;
        out += fmt::format("{{\"holder\":{},\"token\":{},\"mode\":{},\"value\":{}", json_quote(h.id),
                           h.token, json_quote(h.mode), json_quote(h.value));
        if (h.time_left) out += fmt::format(",\"time_left_ms\":{}", h.time_left->count());
        out += "}";
      }
      out += "]}";
    }
    out += "]}\n";
    std::fputs(out.c_str(), stdout);
    return 0;
  }
  if (listing->empty()) {
    fmt::print("no locks{} in {}\n", o.prefix.empty() ? "" : fmt::format(" under '{}'", o.prefix),
               strip_credentials(uri));
    return 0;
  }
  fmt::print("{:<24} {:<10} {:<14} {:>8} {:>9} {:>7}\n", "NAME", "KIND", "HOLDER", "TOKEN",
             "TIME LEFT", "WAITERS");
  for (const auto& l : *listing) {
    if (l.holders.empty()) {
      fmt::print("{:<24} {:<10} {:<14} {:>8} {:>9} {:>7}\n", printable(l.name), l.kind, "(free)",
                 "-", "-", l.waiters);
      continue;
    }
    bool first = true;
    for (const auto& h : l.holders) {
      std::string who = h.id;
      if (!h.value.empty()) who += " " + printable(h.value);
      if (h.mode == "shared") who += " (shared)";
      fmt::print("{:<24} {:<10} {:<14} {:>8} {:>9} {:>7}\n", first ? printable(l.name) : "",
                 first ? l.kind : "", who, h.token, left(h.time_left),
                 first ? std::to_string(l.waiters) : "");
      first = false;
    }
  }
  return 0;
}

}  // namespace

void register_status_command(CLI::App& app) {
  auto o = std::make_shared<status_options>();
  auto* sub = app.add_subcommand("status", "List locks: holders, fencing tokens, time left, waiters");
  sub->footer("Examples: weft status\n          weft status --store file:///var/lib/weft deploy/ --json");
  sub->add_option("--store", o->store, "Store URI; default $WEFT_STORE, else the embedded file store");
  sub->add_flag("--json", o->json, "One JSON document instead of a table");
  sub->add_option("prefix", o->prefix, "Only names starting with this prefix");
  sub->callback([o] { set_exit_code(run_status(*o)); });
}

}  // namespace weft::cli
