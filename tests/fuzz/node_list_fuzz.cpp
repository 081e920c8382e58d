// Fuzzes weft::ring::parse_node_list and the ring options: never crashes;
// an accepted list is not empty, has unique names and positive weights, and
// format_node_list round-trips it. The first bytes also pick ring options,
// which validate() must judge without crashing; valid ones build a ring.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <set>
#include <string_view>

#include "fuzz_support.hpp"
#include "weft/ring/node_list.hpp"
#include "weft/ring/options.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  weft::ring::options options;
  if (size >= 16) {
    std::memcpy(&options.vnodes, data, 4);
    std::memcpy(&options.table_size, data + 4, 4);
    std::memcpy(&options.epsilon, data + 8, 8);
    auto valid = weft::ring::validate(options);
    if (valid) {
      WEFT_FUZZ_CHECK(options.epsilon > 0 && std::isfinite(options.epsilon), "valid epsilon is finite and > 0");
    } else {
      WEFT_FUZZ_CHECK(!valid.error().message().empty(), "option errors have a message");
    }
  }
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)weft::ring::parse_hash_function(text);
  auto nodes = weft::ring::parse_node_list(text);
  if (!nodes) {
    WEFT_FUZZ_CHECK(nodes.error().code() == weft::errc::invalid_argument, "errors are invalid_argument");
    return 0;
  }
  WEFT_FUZZ_CHECK(!nodes->empty(), "an accepted list is not empty");
  std::set<std::string> names;
  for (const auto& n : *nodes) {
    WEFT_FUZZ_CHECK(names.insert(n.name).second, "node names are unique");
    WEFT_FUZZ_CHECK(n.weight > 0 && std::isfinite(n.weight), "weights are finite and > 0");
  }
  auto again = weft::ring::parse_node_list(weft::ring::format_node_list(*nodes));
  WEFT_FUZZ_CHECK(again.has_value(), "format_node_list output parses");
  WEFT_FUZZ_CHECK(again->size() == nodes->size(), "round trip keeps the count");
  for (std::size_t i = 0; i < nodes->size(); ++i)
    WEFT_FUZZ_CHECK((*again)[i].name == (*nodes)[i].name, "round trip keeps names");
  return 0;
}
