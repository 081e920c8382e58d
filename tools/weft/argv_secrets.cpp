#include "argv_secrets.hpp"

#include <cstring>

namespace weft::cli {

std::vector<std::pair<std::size_t, std::size_t>> store_uri_secrets(std::string_view uri) {
  std::vector<std::pair<std::size_t, std::size_t>> out;
  const std::size_t query = uri.find('?');
  const std::size_t head_end = query == std::string_view::npos ? uri.size() : query;
  // The userinfo, parsed as weft::lock's URI parser does: the authority runs
  // from "://" to the first '/', and the credentials end at its last '@'.
  if (auto scheme_end = uri.substr(0, head_end).find("://"); scheme_end != std::string_view::npos) {
    const std::size_t start = scheme_end + 3;
    std::size_t authority_end = uri.substr(0, head_end).find('/', start);
    if (authority_end == std::string_view::npos) authority_end = head_end;
    std::string_view authority = uri.substr(start, authority_end - start);
    if (auto at = authority.rfind('@'); at != std::string_view::npos) {
      if (auto colon = authority.substr(0, at).find(':'); colon != std::string_view::npos && at > colon + 1)
        out.emplace_back(start + colon + 1, at - colon - 1);
    }
  }
  if (query == std::string_view::npos) return out;
  std::size_t pos = query + 1;
  while (pos < uri.size()) {
    std::size_t amp = uri.find('&', pos);
    if (amp == std::string_view::npos) amp = uri.size();
    std::string_view param = uri.substr(pos, amp - pos);
    if (auto equals = param.find('='); equals != std::string_view::npos) {
      std::string_view key = param.substr(0, equals);
      const bool secret = key == "password" || key == "pass" || key == "token" || key == "auth" || key == "secret";
      if (secret && equals + 1 < param.size()) out.emplace_back(pos + equals + 1, param.size() - equals - 1);
    }
    pos = amp + 1;
  }
  return out;
}

namespace {

std::size_t blank_uri(char* text) {
  auto secrets = store_uri_secrets(text);
  for (auto [offset, length] : secrets) std::memset(text + offset, '*', length);
  return secrets.size();
}

}  // namespace

std::size_t blank_store_secrets(int argc, char** argv) {
  static constexpr std::string_view flag = "--store";
  std::size_t blanked = 0;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg == flag && i + 1 < argc) {
      blanked += blank_uri(argv[++i]);
    } else if (arg.size() > flag.size() && arg.substr(0, flag.size()) == flag && arg[flag.size()] == '=') {
      blanked += blank_uri(argv[i] + flag.size() + 1);
    }
  }
  return blanked;
}

}  // namespace weft::cli
