// The file store's on-disk layout: names, records and their encoding.
// Internal to weft_lock_file; pure functions, tested on their own.
//
//   <root>/                      0700, owned by the user
//     <k>-<hex(name)>/           one directory per (recipe, name), 0700
//        (or <k>-<hex(first 48 bytes)>-<sha256/128 hex> for long names)
//       name                     the name as given (for weft status)
//       meta                     OFD-locked around every queue change
//       token                    the token ceiling, decimal, fsync'd: no
//                                token above it has been issued
//       state                    boot id, last token issued, the queue, "end";
//                                rewritten in place under the meta lock
//                                (not fsync'd)
//       p-<owner>                one per participant: OFD-locked by its owner
//                                while alive; holds its lease expiry
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "weft/lock/store.hpp"
#include "weft/result.hpp"

namespace weft::lock::file_detail {

// Directory entry for (kind, name): only [0-9a-z-], at most 160 bytes, never
// "." or "..", so no name can escape the store directory. Injective for
// names up to 64 bytes; longer names add a 128-bit SHA-256 prefix.
std::string encode_directory(recipe kind, std::string_view name);
// The recipe a directory entry belongs to, false for foreign entries.
bool decode_kind(std::string_view entry, recipe& kind);

std::string to_hex(std::string_view bytes);
bool from_hex(std::string_view hex, std::string& bytes);

struct state_entry {
  std::string owner;  // 32 hex digits: the participant's secret id
  access mode = access::exclusive;
  std::uint64_t limit = 1;
  bool held = false;
  std::uint64_t token = 0;  // set when granted
  std::int64_t pid = 0;
  std::string value;
};

// Written with the queue: the boot it was written in and the last token
// issued. Within one boot the page cache makes an unsynced state file
// authoritative for every process; after a reboot (another boot id) the last
// token is taken from the fsync'd ceiling instead.
struct state_header {
  std::string boot_id;
  std::uint64_t last_token = 0;  // 0: unknown (new lock or lost state)
};

// The queue, in FIFO order (holders first).
std::string format_state(const state_header& header, const std::vector<state_entry>& entries);
result<std::vector<state_entry>> parse_state(std::string_view text, state_header& header);

// A participant's expiry (CLOCK_BOOTTIME ns), written with a check value so
// a torn read is detected rather than misread.
std::string format_expiry(std::int64_t expiry);
bool parse_expiry(std::string_view text, std::int64_t& expiry);
inline constexpr std::size_t expiry_record_size = 42;

}  // namespace weft::lock::file_detail
