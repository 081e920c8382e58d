#include "operator_support.hpp"

#include <cstdio>
#include <cstdlib>

#include <unistd.h>

#include <fmt/core.h>

#include "weft/duration.hpp"
#include "weft/lock/store.hpp"

namespace weft::cli {

result<std::string> resolve_store_uri(const std::string& option) {
  if (!option.empty()) return option;
  return lock::default_store_uri();
}

std::string strip_credentials(std::string_view uri) {
  std::string out(uri);
  auto scheme_end = out.find("://");
  if (scheme_end != std::string::npos) {
    auto authority_start = scheme_end + 3;
    auto authority_end = out.find_first_of("/?#", authority_start);
    if (authority_end == std::string::npos) authority_end = out.size();
    auto at = out.rfind('@', authority_end);
    if (at != std::string::npos && at >= authority_start) {
      out.erase(authority_start, at + 1 - authority_start);
    }
  }
  auto query = out.find('?');
  if (query == std::string::npos) return out;
  std::string kept;
  std::string_view rest = std::string_view(out).substr(query + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    std::string_view param = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    std::string_view key = param.substr(0, param.find('='));
    bool secret = key == "password" || key == "pass" || key == "token" || key == "auth" ||
                  key == "secret" || key == "user" || key == "username";
    if (secret || param.empty()) continue;
    kept += kept.empty() ? "" : "&";
    kept += param;
  }
  out.erase(query);
  if (!kept.empty()) out += "?" + kept;
  return out;
}

result<void> check_name(std::string_view name) {
  auto ok = lock::check_name(name);
  if (!ok) return ok;
  return {};
}

result<std::chrono::milliseconds> parse_duration_flag(std::string_view flag, std::string_view text,
                                                      bool allow_zero) {
  auto parsed = allow_zero ? parse_duration(text) : parse_positive_duration(text);
  if (!parsed) {
    return fail(errc::invalid_argument, fmt::format("{}: {}", flag, parsed.error().message()));
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(*parsed);
  if (ms.count() == 0 && parsed->count() > 0) ms = std::chrono::milliseconds(1);
  return ms;
}

void print_command_error(std::string_view command, std::string_view message,
                         std::string_view hint) {
  if (hint.empty()) fmt::print(stderr, "weft {}: {}\n", command, message);
  else fmt::print(stderr, "weft {}: {}; {}\n", command, message, hint);
  std::fflush(stderr);
}

int operator_exit_code(const weft::error& e) {
  switch (e.code()) {
    case errc::invalid_argument:
    case errc::unsupported:
      return operator_exit::usage;
    case errc::unreachable:
    case errc::closed:
    case errc::io:
    case errc::protocol:
      return operator_exit::unavailable;
    case errc::permission_denied:
      return operator_exit::no_permission;
    case errc::timeout:
    case errc::deadline_exceeded:
    case errc::contended:
      return operator_exit::not_acquired;
    case errc::lease_lost:
      return operator_exit::lease_lost;
    case errc::not_found:
      return operator_exit::command_not_found;
    default:
      return operator_exit::software;
  }
}

std::string describe(const weft::error& e) { return std::string(e.message()); }

}  // namespace weft::cli
