#include "operator_support.hpp"

#include <cstdio>
#include <cstdlib>

#include <unistd.h>

#include <fmt/core.h>

namespace weft::cli {

std::string default_store_uri() {
  auto env = [](const char* name) -> std::string {
    const char* v = std::getenv(name);
    return v != nullptr && *v == '/' ? std::string(v) : std::string();
  };
  if (auto dir = env("XDG_RUNTIME_DIR"); !dir.empty()) return "file://" + dir + "/weft/locks";
  if (auto dir = env("XDG_STATE_HOME"); !dir.empty()) return "file://" + dir + "/weft/locks";
  if (auto home = env("HOME"); !home.empty()) return "file://" + home + "/.local/state/weft/locks";
  return "file:///tmp/weft-" + std::to_string(::getuid()) + "/locks";
}

std::string resolve_store_uri(const std::string& option) {
  if (!option.empty()) return option;
  if (const char* v = std::getenv("WEFT_STORE"); v != nullptr && *v != '\0') return v;
  return default_store_uri();
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
  if (name.empty()) return fail(errc::invalid_argument, "the name is empty; give a lock name such as 'backup'");
  if (name.size() > 512) {
    return fail(errc::invalid_argument,
                fmt::format("the name is {} bytes long; use at most 512", name.size()));
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) {
      return fail(errc::invalid_argument,
                  "the name contains a control character; use printable characters");
    }
  }
  return {};
}

result<std::chrono::milliseconds> parse_duration_flag(std::string_view flag, std::string_view text,
                                                      bool allow_zero) {
  auto bad = [&](std::string_view why) {
    return fail(errc::invalid_argument,
                fmt::format("{} '{}' is not a valid duration ({}); write it like 500ms, 10s or 2m",
                            flag, text, why));
  };
  if (text.empty()) return bad("empty");
  std::size_t i = 0;
  unsigned long long whole = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
    if (whole > 1'000'000'000ULL) return bad("too large");
    whole = whole * 10 + static_cast<unsigned>(text[i] - '0');
    ++i;
  }
  if (i == 0) return bad("it must start with a number");
  double fraction = 0;
  if (i < text.size() && text[i] == '.') {
    ++i;
    double scale = 0.1;
    std::size_t digits = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      fraction += scale * (text[i] - '0');
      scale /= 10;
      ++i;
      ++digits;
    }
    if (digits == 0) return bad("a digit must follow the point");
  }
  std::string_view unit = text.substr(i);
  double ms_per_unit = 0;
  if (unit == "us" || unit == "µs") ms_per_unit = 0.001;
  else if (unit == "ms") ms_per_unit = 1;
  else if (unit == "s") ms_per_unit = 1000;
  else if (unit == "m") ms_per_unit = 60'000;
  else if (unit == "h") ms_per_unit = 3'600'000;
  else if (unit.empty()) return bad("the unit is missing");
  else return bad("unknown unit; use us, ms, s, m or h");
  double total = (static_cast<double>(whole) + fraction) * ms_per_unit;
  if (total > 1e12) return bad("too large");
  auto ms = std::chrono::milliseconds(static_cast<long long>(total + 0.5));
  if (ms.count() == 0 && total > 0) ms = std::chrono::milliseconds(1);
  if (!allow_zero && ms.count() == 0) return bad("it must be greater than zero");
  return ms;
}

void print_error(std::string_view command, std::string_view message, std::string_view hint) {
  fmt::print(stderr, "weft {}: {}\n", command, message);
  if (!hint.empty()) fmt::print(stderr, "  {}\n", hint);
  std::fflush(stderr);
}

int exit_code_for(const weft::error& e) {
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
