// The Lua scripts of the Redis lock store. Each runs atomically on the server.
//
// Keys of one lock, P = "weft:lock:<recipe>:{<escaped name>}:" (the {...} hash
// tag keeps them in one cluster slot):
//   P x   string  owner of the exclusive holder ("<128-bit hex>|<who>"), PX = lease TTL
//   P s   zset    shared holders (rw readers, semaphore permits): member = owner,
//                 score = expiry (server ms)
//   P k   hash    shared holder -> its fencing token
//   P q   zset    FIFO wait queue: member = "MODE|LIMIT|CHANNEL|OWNER", score = ticket
//   P qt  zset    the same members, score = the waiter's expiry (server ms): a waiter
//                 that stops heart-beating drops out of the queue
//   P qs  string  ticket counter of the queue
//   P t   string  the last fencing token issued for the lock (while an exclusive
//                 holder exists, its token)
//   P v   string  the election value of the exclusive holder
//
// Fencing tokens are max(last + 1, server time in microseconds, caller's floor + 1):
// the counter makes them strictly increase while P t survives; the clock part keeps
// them increasing when Redis restarts without persistence and P t is gone (see
// docs/LOCKS.md, "Redis"). Values stay below 2^53, exact in Lua's doubles.
#pragma once

namespace weft::lock::redis_detail {

// KEYS: 1 x, 2 s, 3 k, 4 q, 5 qt, 6 qs, 7 t, 8 v
#define WEFT_REDIS_LUA_PRELUDE                                                                 \
  "local x, s, k, q, qt, qs, t, v = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8]\n" \
  "local tm, now\n"                                                                             \
  "local function clock()\n"                                                                    \
  "  if not tm then\n"                                                                          \
  "    tm = redis.call('TIME')\n"                                                               \
  "    now = tonumber(tm[1]) * 1000 + math.floor(tonumber(tm[2]) / 1000)\n"                     \
  "  end\n"                                                                                     \
  "  return now\n"                                                                              \
  "end\n"                                                                                       \
  "local function extend(key, ms)\n"                                                            \
  "  if redis.call('PTTL', key) < ms then redis.call('PEXPIRE', key, ms) end\n"                 \
  "end\n"                                                                                       \
  "local function grantable(m, lim)\n"                                                          \
  "  if redis.call('EXISTS', x) == 1 then return false end\n"                                   \
  "  if redis.call('EXISTS', s) == 0 then return true end\n"                                    \
  "  redis.call('ZREMRANGEBYSCORE', s, '-inf', clock())\n"                                      \
  "  local n = redis.call('ZCARD', s)\n"                                                        \
  "  if m == 'x' then return n == 0 end\n"                                                      \
  "  return n < lim\n"                                                                          \
  "end\n"                                                                                       \
  "local function purge()\n"                                                                    \
  "  local dead = redis.call('ZRANGEBYSCORE', qt, '-inf', clock(), 'LIMIT', 0, 64)\n"           \
  "  for _, d in ipairs(dead) do redis.call('ZREM', q, d); redis.call('ZREM', qt, d) end\n"     \
  "  return #dead\n"                                                                            \
  "end\n"                                                                                       \
  "local quiet = nil\n"                                                                         \
  "local function wake()\n"                                                                     \
  "  local h = redis.call('ZRANGE', q, 0, 0)[1]\n"                                              \
  "  if not h then return end\n"                                                                \
  "  local m, lim, ch, ow = string.match(h, '^(%a)|(%d+)|([^|]*)|(.*)$')\n"                     \
  "  if m and ow ~= quiet and grantable(m, tonumber(lim)) then redis.call('PUBLISH', ch, ow) end\n" \
  "end\n"

// Acquire, or join / refresh the wait queue.
// ARGV: 1 mode ('x' exclusive, 's' shared), 2 owner, 3 ttl ms, 4 limit (shared holders
//       allowed; ignored for 'x'), 5 wait ('1' joins the queue on failure), 6 waiter ttl
//       ms, 7 token floor, 8 wake channel of the caller, 9 election value, 10 change
//       channel ('' for none: published to on a grant, for observers), 11 queue ticket
//       ('' takes the next number of P qs; Redlock passes one ticket to every master so
//       that all of them order the waiters alike)
// Returns {1, token} when granted; {0, hint ms} when not, hint = how long the
// blocking lease has left (-1 when unknown): the head of the queue re-tries then.
inline constexpr const char* acquire_script = WEFT_REDIS_LUA_PRELUDE
    "local mode, owner, ttl, lim = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])\n"
    "local member = mode .. '|' .. ARGV[4] .. '|' .. ARGV[8] .. '|' .. owner\n"
    "local purged = 0\n"
    "local head = nil\n"
    "local free = redis.call('EXISTS', x, s, q) == 0\n"
    "if not free and redis.call('EXISTS', q) == 1 then\n"
    "  purged = purge()\n"
    "  head = redis.call('ZRANGE', q, 0, 0)[1]\n"
    "end\n"
    "if free or ((head == nil or head == member) and grantable(mode, lim)) then\n"
    "  clock()\n"
    "  local tok = tonumber(tm[1]) * 1000000 + tonumber(tm[2])\n"
    "  local floor = tonumber(ARGV[7])\n"
    "  if tok <= floor then tok = floor + 1 end\n"
    "  local text = string.format('%.0f', tok)\n"
    "  local last = tonumber(redis.call('SET', t, text, 'GET') or '0')\n"
    "  if tok <= last then\n"
    "    tok = last + 1\n"
    "    text = string.format('%.0f', tok)\n"
    "    redis.call('SET', t, text)\n"
    "  end\n"
    "  if mode == 'x' then\n"
    "    redis.call('SET', x, owner, 'PX', ttl)\n"
    "    if ARGV[9] ~= '' then redis.call('SET', v, ARGV[9], 'PX', ttl) end\n"
    "  else\n"
    "    redis.call('ZADD', s, clock() + ttl, owner)\n"
    "    redis.call('HSET', k, owner, text)\n"
    "    extend(s, ttl); extend(k, ttl)\n"
    "  end\n"
    "  if head ~= nil then\n"
    "    redis.call('ZREM', q, member)\n"
    "    redis.call('ZREM', qt, member)\n"
    "    wake()\n"
    "  end\n"
    "  if ARGV[10] ~= '' then redis.call('PUBLISH', ARGV[10], x) end\n"
    "  return {1, tok}\n"
    "end\n"
    "if ARGV[5] == '1' then\n"
    "  local wttl = tonumber(ARGV[6])\n"
    "  if redis.call('ZSCORE', q, member) == false then\n"
    "    local ticket = ARGV[11]\n"
    "    if ticket == '' then ticket = redis.call('INCR', qs) end\n"
    "    redis.call('ZADD', q, ticket, member)\n"
    "  end\n"
    "  redis.call('ZADD', qt, clock() + wttl, member)\n"
    "  extend(q, wttl * 2); extend(qt, wttl * 2); extend(qs, wttl * 2)\n"
    "end\n"
    "if purged > 0 then wake() end\n"
    "local hint = redis.call('PTTL', x)\n"
    "if hint < 0 then\n"
    "  local first = redis.call('ZRANGE', s, 0, 0, 'WITHSCORES')[2]\n"
    "  if first then hint = tonumber(first) - clock() else hint = -1 end\n"
    "end\n"
    "return {0, hint}\n";

// Renews a lease the caller still holds.
// ARGV: 1 mode, 2 owner, 3 ttl ms. Returns 1 when renewed, 0 when the caller no
// longer holds it (expired, or another holder took over).
inline constexpr const char* renew_script = WEFT_REDIS_LUA_PRELUDE
    "local mode, owner, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])\n"
    "if mode == 'x' then\n"
    "  if redis.call('GET', x) == owner then\n"
    "    redis.call('PEXPIRE', x, ttl)\n"
    "    if redis.call('EXISTS', v) == 1 then redis.call('PEXPIRE', v, ttl) end\n"
    "    return 1\n"
    "  end\n"
    "  return 0\n"
    "end\n"
    "local sc = redis.call('ZSCORE', s, owner)\n"
    "if sc and tonumber(sc) > clock() then\n"
    "  redis.call('ZADD', s, clock() + ttl, owner)\n"
    "  extend(s, ttl); extend(k, ttl)\n"
    "  return 1\n"
    "end\n"
    "if sc then redis.call('ZREM', s, owner); redis.call('HDEL', k, owner); wake() end\n"
    "return 0\n";

// Releases a lease and/or leaves the wait queue; wakes the next waiter if it can go.
// ARGV: 1 mode, 2 owner, 3 queue member ('' when not queued), 4 change channel ('' for
// none). Returns 1 when the caller held the lease, 0 otherwise. Never wakes the
// caller itself (a Redlock waiter giving back a minority of grants).
inline constexpr const char* release_script = WEFT_REDIS_LUA_PRELUDE
    "local mode, owner = ARGV[1], ARGV[2]\n"
    "quiet = owner\n"
    "local held = 0\n"
    "if mode == 'x' then\n"
    "  if redis.call('GET', x) == owner then redis.call('DEL', x, v); held = 1 end\n"
    "else\n"
    "  held = redis.call('ZREM', s, owner)\n"
    "  redis.call('HDEL', k, owner)\n"
    "end\n"
    "if ARGV[3] ~= '' then redis.call('ZREM', q, ARGV[3]); redis.call('ZREM', qt, ARGV[3]) end\n"
    "if redis.call('EXISTS', q) == 1 then purge(); wake() end\n"
    "if held == 1 and ARGV[4] ~= '' then redis.call('PUBLISH', ARGV[4], x) end\n"
    "return held\n";

// Redlock: raises the token counter, and the caller's shared-holder token, to at
// least ARGV[2], so every later quorum sees the token this acquisition settled on.
// KEYS: 1 t, 2 k. ARGV: 1 owner, 2 token. Returns 1.
inline constexpr const char* raise_script =
    "local cur = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
    "if tonumber(ARGV[2]) > cur then redis.call('SET', KEYS[1], ARGV[2]) end\n"
    "if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then redis.call('HSET', KEYS[2], ARGV[1], ARGV[2]) end\n"
    "return 1\n";

// Reads the state of a lock for status and observers:
// {exclusive owner or false, its pttl, last token, election value or false,
//  {shared owner, expiry in ms from now, token, ...}, queue length}
inline constexpr const char* inspect_script = WEFT_REDIS_LUA_PRELUDE
    "clock()\n"
    "redis.call('ZREMRANGEBYSCORE', s, '-inf', now)\n"
    "local shared = {}\n"
    "local members = redis.call('ZRANGE', s, 0, -1, 'WITHSCORES')\n"
    "for i = 1, #members, 2 do\n"
    "  shared[#shared + 1] = members[i]\n"
    "  shared[#shared + 1] = tonumber(members[i + 1]) - now\n"
    "  shared[#shared + 1] = redis.call('HGET', k, members[i]) or '0'\n"
    "end\n"
    "purge()\n"
    "return {redis.call('GET', x), redis.call('PTTL', x), redis.call('GET', t) or '0',\n"
    "        redis.call('GET', v), shared, redis.call('ZCARD', q)}\n";

#undef WEFT_REDIS_LUA_PRELUDE

}  // namespace weft::lock::redis_detail
