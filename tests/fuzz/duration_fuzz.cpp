// Fuzzes weft::parse_duration: never crashes; accepted values are >= 0 and
// format_duration gives text that parses back to the same value; errors are
// invalid_argument with a message.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_support.hpp"
#include "weft/duration.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = weft::parse_duration(text);
  auto positive = weft::parse_positive_duration(text);
  if (!parsed) {
    WEFT_FUZZ_CHECK(parsed.error().code() == weft::errc::invalid_argument, "errors are invalid_argument");
    WEFT_FUZZ_CHECK(!parsed.error().message().empty(), "errors have a message");
    WEFT_FUZZ_CHECK(!positive, "positive accepts only what parse accepts");
    return 0;
  }
  WEFT_FUZZ_CHECK(parsed->count() >= 0, "durations are never negative");
  WEFT_FUZZ_CHECK(static_cast<bool>(positive) == (parsed->count() > 0), "positive rejects exactly zero");
  auto again = weft::parse_duration(weft::format_duration(*parsed));
  WEFT_FUZZ_CHECK(again && *again == *parsed, "format_duration round-trips");
  return 0;
}
