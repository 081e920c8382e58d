// weft::lock::store_uri: a parsed store address.
//
//   mem://[name]                       in-process store (name selects an instance)
//   file:///absolute/dir               processes on one host (the default store)
//   redis://[user[:password]@]host[:port][/db]
//   redlock://host:port,host:port,...
//   zk://[user:password@]host:port[,host:port...][/chroot]
//   any of them may end in ?key=value&key=value (e.g. ?ttl=10s)
//
// Parsing is scheme-agnostic: it checks the generic shape (scheme, optional
// userinfo, host list with ports 1-65535, path, query); each backend then
// checks what it needs. Unknown schemes are rejected by open(), not here.
// Error messages never contain the userinfo: they quote redacted() instead.
//
// Thread-safety: a plain value type.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "weft/result.hpp"

namespace weft::lock {

struct endpoint {
  std::string host;        // brackets removed for IPv6 literals
  std::uint16_t port = 0;  // 0 when the URI gave none
};

struct store_uri {
  std::string scheme;                        // lower case: "mem", "file", "redis", ...
  std::string user;                          // empty when absent
  std::string password;                      // a secret: never print it
  bool has_password = false;
  std::vector<endpoint> hosts;               // empty for mem:// without a name and for file://
  std::string path;                          // "/dir" for file:///dir, "/0" for redis db 0, ...
  std::map<std::string, std::string> query;  // ?ttl=10s -> {"ttl","10s"}

  // The URI with any password replaced by "***"; safe for logs and errors.
  std::string redacted() const;
};

// Parses the generic shape. errc::invalid_argument on a malformed URI.
result<store_uri> parse_store_uri(std::string_view text);

}  // namespace weft::lock
