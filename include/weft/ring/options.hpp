// weft::ring::options: the tuning knobs of every algorithm, with defaults.
//
// One struct for all algorithms so the factory and the CLI can pass them
// through; each algorithm reads only its own fields. Defaults are chosen from
// the measurements in docs/RING.md.
//
// Thread-safety: plain value type.
#pragma once

#include <cstdint>
#include <string_view>

#include "weft/result.hpp"

namespace weft::ring {

// The 64-bit key hash of the non-ketama algorithms. ketama always uses MD5.
enum class hash_function : std::uint8_t {
  xxh3,  // XXH3 64-bit: fast and well mixed (default)
  md5,   // the first 8 bytes of MD5, little-endian: slow, for interoperability
};

result<hash_function> parse_hash_function(std::string_view name);
std::string_view to_string(hash_function hash) noexcept;

struct options {
  // ring and bounded: virtual nodes per unit of weight (a node gets at least 1).
  // 4000 keeps every node's share, and so every single add or remove, within
  // about 5% of the ideal at 100 nodes (1000 gives ~10%); it costs ~64 KiB per
  // node: lower it for thousands of nodes, or use jumpback or maglev there.
  std::uint32_t vnodes = 4000;
  // maglev: lookup table size; must be prime and >= the node count.
  std::uint32_t table_size = 65537;
  // bounded: capacity is ceil((1 + epsilon) * mean load); must be > 0. The
  // default holds every node within 2% of its share; a larger epsilon (0.25
  // is common) moves fewer keys on membership changes (docs/RING.md).
  double epsilon = 0.02;
  // key hash of ring, jump, jumpback, rendezvous, maglev, bounded, memento.
  hash_function hash = hash_function::xxh3;
};

// Checks the ranges above; the message names the bad field.
result<void> validate(const options& opts);

}  // namespace weft::ring
