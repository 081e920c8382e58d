// Fuzzes the file store's lock-name encoding and record parsers:
// - encode_directory gives one safe path component for any name: only
//   [0-9a-z-], not "." or "..", at most 160 bytes, and decode_kind gives the
//   recipe back;
// - it is injective: short names decode back exactly (hex); a long name and
//   the same name with one byte changed encode differently; names of
//   different recipes never collide;
// - parse_state and parse_expiry never crash on arbitrary bytes, and what
//   parse_state accepts formats back to text it accepts again.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_support.hpp"
#include "layout.hpp"
#include "weft/lock/store.hpp"

namespace fd = weft::lock::file_detail;
using weft::lock::recipe;

static void check_component(const std::string& entry, recipe kind) {
  WEFT_FUZZ_CHECK(!entry.empty() && entry.size() <= 160, "component length");
  WEFT_FUZZ_CHECK(entry != "." && entry != "..", "component is not . or ..");
  for (char c : entry)
    WEFT_FUZZ_CHECK((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-', "component charset");
  recipe back{};
  WEFT_FUZZ_CHECK(fd::decode_kind(entry, back) && back == kind, "decode_kind round-trips");
}

// Only names check_name accepts (1..4096 bytes) reach the encoding.
static void check_encoding(std::string_view name) {
  const std::size_t size = name.size();
  std::string encoded[4];
  const recipe kinds[] = {recipe::mutex, recipe::rw_mutex, recipe::semaphore, recipe::election};
  for (int i = 0; i < 4; ++i) {
    encoded[i] = fd::encode_directory(kinds[i], name);
    check_component(encoded[i], kinds[i]);
    for (int j = 0; j < i; ++j) WEFT_FUZZ_CHECK(encoded[i] != encoded[j], "recipes never collide");
  }
  if (size <= 64) {
    std::string decoded;
    WEFT_FUZZ_CHECK(fd::from_hex(std::string_view(encoded[0]).substr(2), decoded) && decoded == name,
                    "short names decode back exactly");
  } else {
    std::string other(name);
    other[size / 2] = static_cast<char>(other[size / 2] ^ 0x01);
    WEFT_FUZZ_CHECK(fd::encode_directory(recipe::mutex, other) != encoded[0], "long names: one byte changes the entry");
    std::string shorter(name.substr(0, 64));
    WEFT_FUZZ_CHECK(fd::encode_directory(recipe::mutex, shorter) != encoded[0], "long and short names never collide");
  }
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view name(reinterpret_cast<const char*>(data), size);
  if (weft::lock::check_name(name)) check_encoding(name);
  std::string hex = fd::to_hex(name);
  std::string back;
  WEFT_FUZZ_CHECK(fd::from_hex(hex, back) && back == name, "hex round-trips");
  std::string ignored;
  (void)fd::from_hex(name, ignored);

  fd::state_header header;
  auto entries = fd::parse_state(name, header);
  if (entries) {
    fd::state_header again_header;
    auto again = fd::parse_state(fd::format_state(header, *entries), again_header);
    WEFT_FUZZ_CHECK(again.has_value(), "format_state output parses");
    WEFT_FUZZ_CHECK(again->size() == entries->size(), "state round trip keeps the queue");
    WEFT_FUZZ_CHECK(again_header.last_token == header.last_token, "state round trip keeps the last token");
  }
  std::int64_t expiry = 0;
  if (fd::parse_expiry(name, expiry)) {
    std::int64_t again = 0;
    WEFT_FUZZ_CHECK(fd::parse_expiry(fd::format_expiry(expiry), again) && again == expiry, "expiry round-trips");
  }
  return 0;
}
