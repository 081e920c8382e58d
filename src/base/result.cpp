#include "weft/result.hpp"

namespace weft {

std::string_view to_string(errc code) noexcept {
  switch (code) {
    case errc::ok: return "ok";
    case errc::closed: return "closed";
    case errc::full: return "full";
    case errc::empty: return "empty";
    case errc::timeout: return "timeout";
    case errc::canceled: return "canceled";
    case errc::deadline_exceeded: return "deadline_exceeded";
    case errc::contended: return "contended";
    case errc::unreachable: return "unreachable";
    case errc::lease_lost: return "lease_lost";
    case errc::invalid_argument: return "invalid_argument";
    case errc::not_found: return "not_found";
    case errc::permission_denied: return "permission_denied";
    case errc::protocol: return "protocol";
    case errc::io: return "io";
    case errc::unsupported: return "unsupported";
    case errc::internal: return "internal";
  }
  return "unknown";
}

namespace {
class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "weft"; }
  std::string message(int value) const override {
    return std::string(to_string(static_cast<errc>(value)));
  }
};
}  // namespace

const std::error_category& weft_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace weft
