// A tiny streaming JSON writer for the CLI's --json output.
//
// Thread-safety: one writer per thread.
#pragma once

#include <string>
#include <string_view>

namespace weft::cli {

// Quotes and escapes a string for JSON.
std::string json_quote(std::string_view text);

// Formats a double for JSON (finite numbers only; others become null).
std::string json_number(double value);

}  // namespace weft::cli
