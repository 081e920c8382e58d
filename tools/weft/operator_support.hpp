// Helpers shared by the operator commands (lock, sem, elect, status, demo):
// store URI resolution, credential stripping, name and duration checks, and
// the exit codes those commands document.
//
// Thread-safety: free functions on values; no shared state.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "exit_codes.hpp"
#include "weft/result.hpp"

namespace weft::cli {

// Exit codes of lock, sem and elect when the child did not run (sysexits.h
// values, see exit_codes.hpp). When the child ran, its own status is returned
// (128 + N when it was killed by signal N). 76 means "lease lost" here: the
// command was stopped because the lock could no longer be trusted.
namespace operator_exit {
inline constexpr int usage = exit_usage;                   // 64: bad flag, name, URI, duration, permits
inline constexpr int unavailable = exit_unavailable;       // 69: the store cannot be reached
inline constexpr int software = exit_software;             // 70: a bug in weft
inline constexpr int not_acquired = exit_temporary_failure;  // 75: not acquired within --wait
inline constexpr int lease_lost = 76;                      // 76: lease lost, the child was stopped
inline constexpr int no_permission = exit_no_permission;   // 77: the store refused access
inline constexpr int cannot_execute = 126;                 // shell convention: not executable
inline constexpr int command_not_found = 127;              // shell convention: not found
}  // namespace operator_exit

// --store, else $WEFT_STORE, else the default embedded store
// (weft::lock::default_store_uri: $XDG_RUNTIME_DIR/weft, $XDG_STATE_HOME/weft
// or ~/.local/state/weft).
result<std::string> resolve_store_uri(const std::string& option);

// The URI without user:password@ and without password/token query parameters,
// safe to hand to a child or to print.
std::string strip_credentials(std::string_view uri);

// A lock or election name, as weft::lock::check_name: not empty, not too long.
result<void> check_name(std::string_view name);

// Parses `500ms`, `10s`, `2m`, `1m30s` (weft::parse_duration); zero allowed when
// allow_zero. Sub-millisecond values round up to 1ms.
result<std::chrono::milliseconds> parse_duration_flag(std::string_view flag, std::string_view text,
                                                      bool allow_zero);

// Prints "weft <command>: <message>; <hint>" to stderr.
void print_command_error(std::string_view command, std::string_view message, std::string_view hint = {});

// Maps an error from the lock library to an operator exit code.
int operator_exit_code(const weft::error& e);

// The text of an errc-carrying error for people.
std::string describe(const weft::error& e);

}  // namespace weft::cli
