#include "lock/file/layout.hpp"

#include <openssl/sha.h>

#include <charconv>
#include <cstdio>

namespace weft::lock::file_detail {

namespace {
constexpr char hex_digits[] = "0123456789abcdef";
constexpr std::size_t short_name_limit = 64;
constexpr std::size_t long_name_prefix = 48;

char kind_letter(recipe kind) {
  switch (kind) {
    case recipe::mutex: return 'm';
    case recipe::rw_mutex: return 'r';
    case recipe::semaphore: return 's';
    case recipe::election: return 'e';
  }
  return 'x';
}
}  // namespace

std::string to_hex(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) {
    auto u = static_cast<unsigned char>(c);
    out += hex_digits[u >> 4];
    out += hex_digits[u & 15];
  }
  return out;
}

bool from_hex(std::string_view hex, std::string& bytes) {
  if (hex.size() % 2) return false;
  bytes.clear();
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
  };
  for (std::size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]);
    int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    bytes += static_cast<char>(hi * 16 + lo);
  }
  return true;
}

std::string encode_directory(recipe kind, std::string_view name) {
  std::string out(1, kind_letter(kind));
  out += '-';
  if (name.size() <= short_name_limit) return out + to_hex(name);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(name.data()), name.size(), digest);
  out += to_hex(name.substr(0, long_name_prefix));
  out += '-';
  out += to_hex(std::string_view(reinterpret_cast<const char*>(digest), 16));
  return out;
}

bool decode_kind(std::string_view entry, recipe& kind) {
  if (entry.size() < 3 || entry[1] != '-') return false;
  switch (entry[0]) {
    case 'm': kind = recipe::mutex; return true;
    case 'r': kind = recipe::rw_mutex; return true;
    case 's': kind = recipe::semaphore; return true;
    case 'e': kind = recipe::election; return true;
    default: return false;
  }
}

std::string format_state(const state_header& header, const std::vector<state_entry>& entries) {
  std::string out = "weft-lock-state 2 " + (header.boot_id.empty() ? std::string("-") : header.boot_id) + " " +
                    std::to_string(header.last_token) + "\n";
  for (const auto& e : entries) {
    out += e.owner;
    out += e.mode == access::shared ? " s " : " x ";
    out += std::to_string(e.limit);
    out += e.held ? " h " : " w ";
    out += std::to_string(e.token) + " " + std::to_string(e.pid) + " ";
    out += e.value.empty() ? std::string("-") : to_hex(e.value);
    out += '\n';
  }
  // The file is rewritten in place: the trailer tells a complete record from
  // one cut short, and anything after it is left over from a longer one.
  return out + "end\n";
}

namespace {
template <typename T>
bool parse_number(std::string_view text, T& value) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size();
}
}  // namespace

result<std::vector<state_entry>> parse_state(std::string_view text, state_header& header) {
  std::vector<state_entry> entries;
  header = state_header{};
  if (text.empty()) return entries;  // a new lock, or a state lost in a host crash
  auto corrupt = [](const std::string& why) {
    return fail(errc::protocol, "the lock's state file is corrupt (" + why +
                                    "); remove the lock's directory to reset it");
  };
  auto line_end = text.find('\n');
  {
    std::string_view first = text.substr(0, line_end);
    constexpr std::string_view magic = "weft-lock-state 2 ";
    if (first.substr(0, magic.size()) != magic) return corrupt("unknown header");
    first.remove_prefix(magic.size());
    auto space = first.find(' ');
    if (space == std::string_view::npos || space == 0) return corrupt("bad header");
    if (first.substr(0, space) != "-") header.boot_id.assign(first.substr(0, space));
    if (!parse_number(first.substr(space + 1), header.last_token)) return corrupt("bad last token");
  }
  std::size_t pos = line_end == std::string_view::npos ? text.size() : line_end + 1;
  for (;;) {
    if (pos >= text.size()) return corrupt("no end line");
    line_end = text.find('\n', pos);
    if (line_end == std::string_view::npos) return corrupt("truncated line");
    std::string_view line = text.substr(pos, line_end - pos);
    pos = line_end + 1;
    if (line == "end") break;
    std::vector<std::string_view> fields;
    std::size_t start = 0;
    while (start <= line.size()) {
      auto space = line.find(' ', start);
      if (space == std::string_view::npos) space = line.size();
      fields.push_back(line.substr(start, space - start));
      start = space + 1;
    }
    if (fields.size() != 7) return corrupt("wrong field count");
    state_entry e;
    e.owner.assign(fields[0]);
    if (e.owner.size() != 32) return corrupt("bad owner");
    if (fields[1] == "s") e.mode = access::shared;
    else if (fields[1] == "x") e.mode = access::exclusive;
    else return corrupt("bad mode");
    if (!parse_number(fields[2], e.limit) || e.limit == 0) return corrupt("bad limit");
    if (fields[3] == "h") e.held = true;
    else if (fields[3] != "w") return corrupt("bad phase");
    if (!parse_number(fields[4], e.token) || !parse_number(fields[5], e.pid)) return corrupt("bad number");
    if (fields[6] != "-" && !from_hex(fields[6], e.value)) return corrupt("bad value");
    entries.push_back(std::move(e));
  }
  return entries;
}

std::string format_expiry(std::int64_t expiry) {
  char buffer[expiry_record_size + 1];
  std::snprintf(buffer, sizeof buffer, "%020lld %020lld\n", static_cast<long long>(expiry),
                static_cast<long long>(expiry ^ 0x5a5a5a5a5a5a5a5LL));
  return std::string(buffer, expiry_record_size);
}

bool parse_expiry(std::string_view text, std::int64_t& expiry) {
  if (text.size() < expiry_record_size - 1) return false;
  std::int64_t value = 0;
  std::int64_t check = 0;
  if (!parse_number(text.substr(0, 20), value) || !parse_number(text.substr(21, 20), check)) return false;
  if ((value ^ 0x5a5a5a5a5a5a5a5LL) != check) return false;
  expiry = value;
  return true;
}

}  // namespace weft::lock::file_detail
