#include "weft/lock/uri.hpp"

#include <algorithm>
#include <cctype>
#include <string>

namespace weft::lock {
namespace {

// A safe rendering of the user's input for error messages: the userinfo (which
// may hold a password) is cut out, and control bytes are escaped.
std::string shown(std::string_view text) {
  std::string out;
  auto scheme_end = text.find("://");
  std::string_view rest = text;
  if (scheme_end != std::string_view::npos) {
    out.append(text.substr(0, scheme_end + 3));
    rest = text.substr(scheme_end + 3);
    auto authority_end = rest.find_first_of("/?");
    auto at = rest.substr(0, authority_end).rfind('@');
    if (at != std::string_view::npos) {
      out += "***@";
      rest = rest.substr(at + 1);
    }
  }
  // Query values may be secrets (password=...): show the keys only.
  std::string redacted(rest.substr(0, rest.find('?')));
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    redacted += '?';
    bool in_value = false;
    for (char c : rest.substr(q + 1)) {
      if (c == '&') in_value = false;
      if (!in_value) redacted += c;
      if (c == '=' && !in_value) {
        in_value = true;
        redacted += "***";
      }
    }
  }
  rest = redacted;
  for (char c : rest.substr(0, 200)) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      static constexpr char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[u >> 4];
      out += hex[u & 15];
    } else {
      out += c;
    }
  }
  if (rest.size() > 200) out += "...";
  return out;
}

failure bad(std::string_view text, const std::string& why) {
  return fail(errc::invalid_argument,
              "invalid store URI \"" + shown(text) + "\": " + why +
                  "; expected e.g. mem://, file:///var/lib/weft or redis://host:6379");
}

bool valid_scheme(std::string_view s) {
  if (s.empty() || !std::isalpha(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.';
  });
}

bool has_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

// Decodes %XX escapes; false on a malformed escape.
bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size() || !std::isxdigit(static_cast<unsigned char>(in[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(in[i + 2])))
      return false;
    out += static_cast<char>(std::stoi(std::string(in.substr(i + 1, 2)), nullptr, 16));
    i += 2;
  }
  return true;
}

}  // namespace

std::string store_uri::redacted() const {
  std::string out = scheme + "://";
  if (!user.empty() || has_password) {
    out += user;
    if (has_password) out += ":***";
    out += "@";
  }
  for (std::size_t i = 0; i < hosts.size(); ++i) {
    if (i) out += ",";
    bool v6 = hosts[i].host.find(':') != std::string::npos;
    out += v6 ? "[" + hosts[i].host + "]" : hosts[i].host;
    if (hosts[i].port) out += ":" + std::to_string(hosts[i].port);
  }
  out += path;
  bool first = true;
  for (const auto& [key, value] : query) {
    out += first ? "?" : "&";
    first = false;
    out += key + "=" + value;
  }
  return out;
}

result<store_uri> parse_store_uri(std::string_view text) {
  if (text.empty()) return bad(text, "it is empty");
  if (text.size() > 8192) return bad(text, "it is longer than 8192 bytes");
  if (has_control(text)) return bad(text, "it contains control characters");
  auto scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos) return bad(text, "it has no scheme (\"scheme://\")");
  store_uri uri;
  std::string_view scheme = text.substr(0, scheme_end);
  if (!valid_scheme(scheme)) return bad(text, "the scheme is not a valid name");
  uri.scheme.assign(scheme);
  std::transform(uri.scheme.begin(), uri.scheme.end(), uri.scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });

  std::string_view rest = text.substr(scheme_end + 3);
  std::string_view query;
  if (auto q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  if (rest.find('#') != std::string_view::npos) return bad(text, "fragments ('#') are not allowed");
  std::string_view authority = rest;
  std::string_view path;
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    authority = rest.substr(0, slash);
    path = rest.substr(slash);
  }
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = authority.substr(0, at);
    authority = authority.substr(at + 1);
    if (userinfo.empty()) return bad(text, "the credentials before '@' are empty");
    std::string_view user = userinfo;
    if (auto colon = userinfo.find(':'); colon != std::string_view::npos) {
      user = userinfo.substr(0, colon);
      if (!percent_decode(userinfo.substr(colon + 1), uri.password))
        return bad(text, "the password has a malformed %-escape");
      uri.has_password = true;
    }
    if (!percent_decode(user, uri.user)) return bad(text, "the user name has a malformed %-escape");
    if (authority.empty()) return bad(text, "credentials are given but no host");
  }
  if (!authority.empty()) {
    std::size_t pos = 0;
    while (pos <= authority.size()) {
      auto comma = authority.find(',', pos);
      std::string_view item =
          authority.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
      pos = comma == std::string_view::npos ? authority.size() + 1 : comma + 1;
      if (item.empty()) return bad(text, "the host list has an empty entry");
      endpoint e;
      std::string_view port;
      if (item.front() == '[') {
        auto close = item.find(']');
        if (close == std::string_view::npos) return bad(text, "an IPv6 address lacks its ']'");
        e.host.assign(item.substr(1, close - 1));
        if (e.host.empty()) return bad(text, "an IPv6 address is empty");
        std::string_view after = item.substr(close + 1);
        if (!after.empty()) {
          if (after.front() != ':') return bad(text, "unexpected text after an IPv6 address");
          port = after.substr(1);
          if (port.empty()) return bad(text, "a ':' is not followed by a port");
        }
      } else {
        auto colon = item.rfind(':');
        if (colon != std::string_view::npos) {
          if (item.find(':') != colon) return bad(text, "an IPv6 host must be written in [brackets]");
          port = item.substr(colon + 1);
          item = item.substr(0, colon);
          if (port.empty()) return bad(text, "a ':' is not followed by a port");
        }
        if (item.empty()) return bad(text, "a host name is empty");
        for (char c : item) {
          auto u = static_cast<unsigned char>(c);
          if (!(std::isalnum(u) || c == '-' || c == '.' || c == '_'))
            return bad(text, "a host name contains an invalid character");
        }
        e.host.assign(item);
      }
      if (!port.empty()) {
        if (port.size() > 5 || !std::all_of(port.begin(), port.end(),
                                            [](char c) { return c >= '0' && c <= '9'; }))
          return bad(text, "a port must be a number from 1 to 65535");
        int value = std::stoi(std::string(port));
        if (value < 1 || value > 65535) return bad(text, "a port must be a number from 1 to 65535");
        e.port = static_cast<std::uint16_t>(value);
      }
      uri.hosts.push_back(std::move(e));
    }
  }
  if (!percent_decode(path, uri.path)) return bad(text, "the path has a malformed %-escape");
  if (uri.path.find('\0') != std::string::npos) return bad(text, "the path contains a NUL byte");
  if (!query.empty()) {
    std::size_t pos = 0;
    while (pos <= query.size()) {
      auto amp = query.find('&', pos);
      std::string_view item =
          query.substr(pos, amp == std::string_view::npos ? std::string_view::npos : amp - pos);
      pos = amp == std::string_view::npos ? query.size() + 1 : amp + 1;
      if (item.empty()) continue;
      auto eq = item.find('=');
      if (eq == std::string_view::npos || eq == 0)
        return bad(text, "a query parameter is not key=value");
      std::string key;
      std::string value;
      if (!percent_decode(item.substr(0, eq), key) || !percent_decode(item.substr(eq + 1), value))
        return bad(text, "a query parameter has a malformed %-escape");
      if (uri.query.count(key)) return bad(text, "the query parameter \"" + key + "\" is repeated");
      uri.query.emplace(std::move(key), std::move(value));
    }
  }
  return uri;
}

}  // namespace weft::lock
