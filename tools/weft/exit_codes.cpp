#include "exit_codes.hpp"

#include <cstdio>

#include <fmt/format.h>

namespace weft::cli {

int exit_code_for(errc code) noexcept {
  switch (code) {
    case errc::ok: return exit_ok;
    case errc::invalid_argument: return exit_usage;
    case errc::not_found: return exit_data_error;
    case errc::io: return exit_io_error;
    case errc::unreachable:
    case errc::unsupported:
    case errc::closed: return exit_unavailable;
    case errc::timeout:
    case errc::deadline_exceeded:
    case errc::contended:
    case errc::lease_lost:
    case errc::canceled:
    case errc::full:
    case errc::empty: return exit_temporary_failure;
    case errc::protocol: return exit_protocol;
    case errc::permission_denied: return exit_no_permission;
    case errc::internal: return exit_software;
  }
  return exit_software;
}

void print_error(std::string_view what_happened, std::string_view what_to_do) {
  if (what_to_do.empty()) {
    fmt::print(stderr, "weft: {}\n", what_happened);
  } else {
    fmt::print(stderr, "weft: {}; {}\n", what_happened, what_to_do);
  }
  std::fflush(stderr);
}

int report(const error& e) {
  print_error(e.message());
  return exit_code_for(e.code());
}

}  // namespace weft::cli
