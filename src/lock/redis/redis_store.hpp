// The redis:// and redlock:// lock stores (internal; users reach them through
// weft::lock::open). See docs/LOCKS.md, "Redis" for the guarantees.
//
// redis://   one Redis server; FIFO waiters woken by pub/sub; fencing tokens from
//            one counter per lock, floored by the server clock in microseconds.
// redlock:// N independent masters; a grant needs a majority (N/2+1) within the
//            lease's validity (TTL minus the time taken minus drift); tokens are
//            the maximum over the quorum, written back to a majority.
//
// Thread-safety: as weft::lock::store (every member function is thread-safe).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "connection.hpp"
#include "weft/lock/store.hpp"

namespace weft::lock::redis_detail {

struct store_options {
  std::vector<server_address> servers;  // one for redis://, N for redlock://
  bool redlock = false;
  std::string uri;                      // redacted, for uri() and messages
  std::chrono::milliseconds call_timeout{2000};
  std::chrono::milliseconds connect_timeout{2000};
  // A waiter re-announces itself every waiter_ttl/3; one that stops (it died)
  // leaves the queue after waiter_ttl.
  std::chrono::milliseconds waiter_ttl{1000};
  // Redlock clock drift allowance: ttl * drift_factor + 2 ms.
  double drift_factor = 0.01;
};

// Parses and checks a redis:// or redlock:// URI (password from the URI, then
// ?password_file=PATH, then $WEFT_REDIS_PASSWORD).
result<store_options> parse_options(const store_uri& uri);

// Opens the store (connections are made lazily, on first use).
result<std::shared_ptr<store>> open_redis_store(store_options options);

// Escapes a lock name for a key: bytes other than [A-Za-z0-9._-/] become %XX.
std::string escape_name(std::string_view name);
std::string unescape_name(std::string_view text);

}  // namespace weft::lock::redis_detail
