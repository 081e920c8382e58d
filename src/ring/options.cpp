#include "weft/ring/options.hpp"

#include <cmath>

#include <fmt/format.h>

namespace weft::ring {
namespace {

bool is_prime(std::uint32_t value) {
  if (value < 2) return false;
  for (std::uint64_t divisor = 2; divisor * divisor <= value; ++divisor) {
    if (value % divisor == 0) return false;
  }
  return true;
}

}  // namespace

result<hash_function> parse_hash_function(std::string_view name) {
  if (name == "xxh3") return hash_function::xxh3;
  if (name == "md5") return hash_function::md5;
  return fail(errc::invalid_argument, fmt::format("unknown hash '{}'; use xxh3 or md5", name));
}

std::string_view to_string(hash_function hash) noexcept {
  return hash == hash_function::xxh3 ? "xxh3" : "md5";
}

result<void> validate(const options& opts) {
  if (opts.vnodes == 0 || opts.vnodes > 1'000'000) {
    return fail(errc::invalid_argument,
                fmt::format("vnodes is {}; give 1 to 1000000 virtual nodes per unit of weight", opts.vnodes));
  }
  if (opts.table_size > (1U << 26)) {
    return fail(errc::invalid_argument,
                fmt::format("table size {} is too large; maglev tables hold at most 67108864 entries (256 MiB)",
                            opts.table_size));
  }
  if (!is_prime(opts.table_size)) {
    return fail(errc::invalid_argument,
                fmt::format("table size {} is not prime; maglev needs a prime such as 65537 or 655373", opts.table_size));
  }
  if (!std::isfinite(opts.epsilon) || !(opts.epsilon > 0)) {
    return fail(errc::invalid_argument,
                fmt::format("epsilon is {}; bounded loads needs epsilon > 0, e.g. 0.02 or 0.25", opts.epsilon));
  }
  return {};
}

}  // namespace weft::ring
