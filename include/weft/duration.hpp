// weft::parse_duration: human durations such as "500ms", "10s", "2m", "1h30m".
//
// Used by the CLI (--ttl, --wait, --grace) and by store URIs (?ttl=10s).
// Accepted units: ns, us (or µs), ms, s, m, h; a value is one or more
// <integer><unit> parts ("1m30s"), or a bare "0". Fractions ("1.5s") are
// accepted and truncated to whole nanoseconds. Negative values, missing units,
// unknown units, empty text and values above ~292 years (int64 nanoseconds)
// are errors (errc::invalid_argument) whose message quotes the input and
// shows a valid example.
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "weft/result.hpp"

namespace weft {

// Parses `text`; zero ("0", "0s") is allowed.
result<std::chrono::nanoseconds> parse_duration(std::string_view text);

// As parse_duration, but zero is an error too: for TTLs and intervals.
result<std::chrono::nanoseconds> parse_positive_duration(std::string_view text);

// Shortest exact rendering in the same syntax: 1500ms -> "1.5s", 90s -> "1m30s".
std::string format_duration(std::chrono::nanoseconds value);

}  // namespace weft
