#include "weft/duration.hpp"

#include <cstdint>
#include <limits>
#include <string>

namespace weft {
namespace {

constexpr std::string_view example = "use a number and a unit, e.g. 500ms, 10s, 2m or 1h30m";

failure bad(std::string_view text, std::string_view what) {
  std::string shown(text.substr(0, 64));
  if (text.size() > 64) shown += "...";
  return fail(errc::invalid_argument,
              "invalid duration \"" + shown + "\": " + std::string(what) + "; " + std::string(example));
}

// Nanoseconds per unit, or 0 for an unknown unit.
std::int64_t unit_scale(std::string_view unit) {
  if (unit == "ns") return 1;
  if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") return 1'000;
  if (unit == "ms") return 1'000'000;
  if (unit == "s") return 1'000'000'000;
  if (unit == "m") return 60LL * 1'000'000'000;
  if (unit == "h") return 3600LL * 1'000'000'000;
  return 0;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

result<std::chrono::nanoseconds> parse_duration(std::string_view text) {
  if (text.empty()) return bad(text, "it is empty");
  if (text.front() == '-') return bad(text, "durations cannot be negative");
  if (text.front() == '+') return bad(text, "a sign is not allowed");
  if (text == "0") return std::chrono::nanoseconds{0};
  constexpr std::int64_t max = std::numeric_limits<std::int64_t>::max();
  std::int64_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    // Integer part.
    std::size_t start = i;
    std::uint64_t whole = 0;
    bool whole_overflow = false;
    while (i < text.size() && is_digit(text[i])) {
      if (whole > (std::numeric_limits<std::uint64_t>::max() - 9) / 10) whole_overflow = true;
      else whole = whole * 10 + static_cast<std::uint64_t>(text[i] - '0');
      ++i;
    }
    bool has_whole = i > start;
    // Fraction part.
    std::uint64_t fraction = 0;
    std::uint64_t fraction_scale = 1;
    bool has_fraction = false;
    if (i < text.size() && text[i] == '.') {
      ++i;
      std::size_t fraction_start = i;
      while (i < text.size() && is_digit(text[i])) {
        if (fraction_scale <= 1'000'000'000'000'000ULL) {
          fraction = fraction * 10 + static_cast<std::uint64_t>(text[i] - '0');
          fraction_scale *= 10;
        }
        ++i;
      }
      has_fraction = i > fraction_start;
      if (!has_fraction) return bad(text, "a '.' must be followed by digits");
    }
    if (!has_whole && !has_fraction) {
      if (text[i] == '-') return bad(text, "durations cannot be negative");
      return bad(text, "expected a number at position " + std::to_string(i + 1));
    }
    // Unit.
    std::size_t unit_start = i;
    while (i < text.size() && !is_digit(text[i]) && text[i] != '.') ++i;
    std::string_view unit = text.substr(unit_start, i - unit_start);
    if (unit.empty()) return bad(text, "a unit is missing (ns, us, ms, s, m or h)");
    std::int64_t scale = unit_scale(unit);
    if (scale == 0) {
      std::string shown(unit.substr(0, 16));
      return bad(text, "unknown unit \"" + shown + "\" (use ns, us, ms, s, m or h)");
    }
    auto too_long = [&] { return bad(text, "it is too long (the limit is about 292 years)"); };
    if (whole_overflow || whole > static_cast<std::uint64_t>(max / scale)) return too_long();
    std::int64_t part = static_cast<std::int64_t>(whole) * scale;
    // fraction / fraction_scale * scale, computed without overflow.
    __extension__ using wide = unsigned __int128;  // exact: fraction < 1e18, scale < 4e12
    auto extra_ns = static_cast<std::int64_t>(static_cast<wide>(fraction) * static_cast<wide>(scale) /
                                              static_cast<wide>(fraction_scale));
    if (part > max - extra_ns) return too_long();
    part += extra_ns;
    if (total > max - part) return too_long();
    total += part;
  }
  return std::chrono::nanoseconds{total};
}

result<std::chrono::nanoseconds> parse_positive_duration(std::string_view text) {
  auto parsed = parse_duration(text);
  if (!parsed) return parsed;
  if (parsed->count() == 0) return bad(text, "it must be greater than zero");
  return parsed;
}

std::string format_duration(std::chrono::nanoseconds value) {
  std::int64_t ns = value.count();
  if (ns == 0) return "0s";
  std::string out;
  if (ns < 0) {
    out = "-";
    ns = ns == std::numeric_limits<std::int64_t>::min() ? std::numeric_limits<std::int64_t>::max() : -ns;
  }
  auto decimal = [](std::int64_t whole, std::int64_t rest, std::int64_t scale) {
    std::string s = std::to_string(whole);
    if (rest != 0) {
      std::string digits = std::to_string(rest + scale).substr(1);  // zero-padded
      while (!digits.empty() && digits.back() == '0') digits.pop_back();
      s += "." + digits;
    }
    return s;
  };
  constexpr std::int64_t second = 1'000'000'000;
  if (ns < 1'000) return out + std::to_string(ns) + "ns";
  if (ns < 1'000'000) return out + decimal(ns / 1'000, ns % 1'000, 1'000) + "us";
  if (ns < second) return out + decimal(ns / 1'000'000, ns % 1'000'000, 1'000'000) + "ms";
  std::int64_t hours = ns / (3600 * second);
  ns %= 3600 * second;
  std::int64_t minutes = ns / (60 * second);
  ns %= 60 * second;
  if (hours) out += std::to_string(hours) + "h";
  if (minutes) out += std::to_string(minutes) + "m";
  if (ns) out += decimal(ns / second, ns % second, second) + "s";
  return out;
}

}  // namespace weft
