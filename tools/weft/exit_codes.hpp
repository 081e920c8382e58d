// Exit codes of the weft CLI (sysexits.h values) and the one way it reports
// errors: `weft: <what happened>; <what to do>` on stderr.
//
// Thread-safety: print_error writes to stderr; call it from one thread.
#pragma once

#include <string_view>

#include "weft/result.hpp"

namespace weft::cli {

inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;            // the command ran and the answer is "no"
inline constexpr int exit_usage = 64;             // EX_USAGE: bad flags or arguments
inline constexpr int exit_data_error = 65;        // EX_DATAERR: bad input data
inline constexpr int exit_no_input = 66;          // EX_NOINPUT: an input file is missing or unreadable
inline constexpr int exit_unavailable = 69;       // EX_UNAVAILABLE: a service or store is unavailable
inline constexpr int exit_software = 70;          // EX_SOFTWARE: a bug in weft
inline constexpr int exit_os_error = 71;          // EX_OSERR: the OS refused (fork, threads, ...)
inline constexpr int exit_cannot_create = 73;     // EX_CANTCREAT: an output file could not be created
inline constexpr int exit_io_error = 74;          // EX_IOERR: reading or writing failed
inline constexpr int exit_temporary_failure = 75; // EX_TEMPFAIL: try again (timeout, contended, lease lost)
inline constexpr int exit_protocol = 76;          // EX_PROTOCOL: the peer spoke something unexpected
inline constexpr int exit_no_permission = 77;     // EX_NOPERM
inline constexpr int exit_config = 78;            // EX_CONFIG: bad configuration

// The exit code for an expected failure of the library.
int exit_code_for(errc code) noexcept;

// Prints "weft: <what_happened>; <what_to_do>" (or just the first part when
// what_to_do is empty) to stderr.
void print_error(std::string_view what_happened, std::string_view what_to_do = {});
// Prints a library error (its message already says what to do) and returns
// exit_code_for(e.code()).
int report(const error& e);

}  // namespace weft::cli
