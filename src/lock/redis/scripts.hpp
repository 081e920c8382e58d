// The Lua code of the Redis lock store. Each call runs atomically on the server.
//
// It is loaded once per server as a Redis 7 function library (FUNCTION LOAD,
// then FCALL: the helpers below are defined once, not on every call, which
// halves the server's cost per call). Servers without functions (Redis < 7, or
// an ACL user without FUNCTION) get the same code as EVALSHA scripts.
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
//   P qg  hash    queue member -> "PX|NOTIFY|FLOOR|VALUE" for a waiter that takes a
//                 direct hand-off: the release grants it the lock in the same
//                 script (lease of PX ms, its election value, its change channel)
//                 and PUBLISHes "g<token>|<owner>" to it alone
//
// Direct hand-off: whatever frees the lock (release, an expired shared holder
// seen by renew, a waiter that leaves) serves the head of the queue at once:
// a waiter with a P qg entry is granted there and then (it owns the lock when
// the message arrives), a waiter without one (Redlock) is only woken and runs
// the acquire itself. Waiters whose P qt entry expired (dead) are dropped
// first. Shared waiters at the head are granted together while permits last.
//
// Fencing tokens are max(last + 1, server time in microseconds, floor + 1): the
// counter makes them strictly increase while P t survives; the clock part keeps
// them increasing when Redis restarts without persistence and P t is gone, or
// comes back from an old snapshot (see docs/LOCKS.md, "Redis"). Values stay
// below 2^53, exact in Lua's doubles.
#pragma once

namespace weft::lock::redis_detail {

// Shared by every entry point: setup(keys) binds the keys of the lock for one
// call. Only P x is passed (KEYS[1]); the others are named after it. Every
// key of a lock carries the same {hash tag}, so they all live in the slot of
// the declared key (each declared key costs the server about as much as a
// small command, and the fast path is only four). In the function library the
// names of the last lock stay cached between calls (Lua strings are interned:
// the check is one comparison), since building them costs more than the
// commands of the fast path.
#define WEFT_REDIS_LUA_HELPERS                                                                  \
  "local x, s, k, q, qt, qs, t, v, qg\n"                                                       \
  "local tm, now, quiet\n"                                                                      \
  "local function setup(keys)\n"                                                                \
  "  if keys[1] ~= x then\n"                                                                    \
  "    x = keys[1]\n"                                                                           \
  "    local p = string.sub(x, 1, -2)\n"                                                        \
  "    s, k, q, qt, qs, t, v, qg = p .. 's', p .. 'k', p .. 'q', p .. 'qt', p .. 'qs', p .. 't', p .. 'v', p .. 'qg'\n" \
  "  end\n"                                                                                     \
  "  tm, now, quiet = nil, nil, nil\n"                                                          \
  "end\n"                                                                                       \
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
  "local function issue(floor)\n"                                                               \
  "  clock()\n"                                                                                 \
  "  local tok = tonumber(tm[1]) * 1000000 + tonumber(tm[2])\n"                                 \
  "  if tok <= floor then tok = floor + 1 end\n"                                                \
  "  local text = string.format('%.0f', tok)\n"                                                 \
  "  local last = tonumber(redis.call('SET', t, text, 'GET') or '0')\n"                         \
  "  if tok <= last then\n"                                                                     \
  "    tok = last + 1\n"                                                                        \
  "    text = string.format('%.0f', tok)\n"                                                     \
  "    redis.call('SET', t, text)\n"                                                            \
  "  end\n"                                                                                     \
  "  return tok, text\n"                                                                        \
  "end\n"                                                                                       \
  "local function grantable(m, lim)\n"                                                          \
  "  local n = redis.call('EXISTS', x, s)\n"                                                    \
  "  if n == 0 then return true end\n"                                                          \
  "  if n == 2 or redis.call('EXISTS', x) == 1 then return false end\n"                         \
  "  redis.call('ZREMRANGEBYSCORE', s, '-inf', clock())\n"                                      \
  "  local n = redis.call('ZCARD', s)\n"                                                        \
  "  if m == 'x' then return n == 0 end\n"                                                      \
  "  return n < lim\n"                                                                          \
  "end\n"                                                                                       \
  "local function dequeue(member)\n"                                                            \
  "  redis.call('ZREM', q, member); redis.call('ZREM', qt, member); redis.call('HDEL', qg, member)\n" \
  "end\n"                                                                                       \
  "local function purge()\n"                                                                    \
  "  local dead = redis.call('ZRANGEBYSCORE', qt, '-inf', clock(), 'LIMIT', 0, 64)\n"           \
  "  for _, d in ipairs(dead) do dequeue(d) end\n"                                              \
  "  return #dead\n"                                                                            \
  "end\n"                                                                                       \
  "local function hold(m, owner, px, text, value)\n"                                            \
  "  if m == 'x' then\n"                                                                        \
  "    redis.call('SET', x, owner, 'PX', px)\n"                                                 \
  "    if value ~= '' then redis.call('SET', v, value, 'PX', px) end\n"                         \
  "  else\n"                                                                                    \
  "    redis.call('ZADD', s, clock() + px, owner)\n"                                            \
  "    redis.call('HSET', k, owner, text)\n"                                                    \
  "    extend(s, px); extend(k, px)\n"                                                          \
  "  end\n"                                                                                     \
  "end\n"                                                                                       \
  "local function wake()\n"                                                                     \
  "  for _ = 1, 64 do\n"                                                                        \
  "    local h = redis.call('ZRANGE', q, 0, 0)[1]\n"                                            \
  "    if not h then return end\n"                                                              \
  "    local m, lim, ch, ow = string.match(h, '^(%a)|(%d+)|([^|]*)|(.*)$')\n"                   \
  "    if not m or ow == quiet or not grantable(m, tonumber(lim)) then return end\n"            \
  "    local g = redis.call('HGET', qg, h)\n"                                                   \
  "    if not g then redis.call('PUBLISH', ch, ow); return end\n"                               \
  "    local px, notify, floor, value = string.match(g, '^(%d+)|([^|]*)|(%d+)|(.*)$')\n"        \
  "    local tok, text = issue(tonumber(floor))\n"                                              \
  "    hold(m, ow, tonumber(px), text, value)\n"                                                \
  "    dequeue(h)\n"                                                                            \
  "    redis.call('PUBLISH', ch, 'g' .. text .. '|' .. ow)\n"                                   \
  "    if notify ~= '' then redis.call('PUBLISH', notify, x) end\n"                             \
  "    if m == 'x' then return end\n"                                                           \
  "  end\n"                                                                                     \
  "end\n"

// Acquire, or join / refresh the wait queue.
// ARGV: 1 mode ('x' exclusive, 's' shared), 2 owner, 3 ttl ms, 4 limit (shared holders
//       allowed; ignored for 'x'), 5 wait ('1' joins the queue on failure), 6 waiter ttl
//       ms, 7 token floor, 8 wake channel of the caller, 9 election value, 10 change
//       channel ('' for none: published to on a grant, for observers), 11 queue ticket
//       ('' takes the next number of P qs; Redlock passes one ticket to every master so
//       that all of them order the waiters alike), 12 '1' when the caller already
//       queued (it may have been granted by a hand-off since), 13 its hand-off entry
//       for P qg ('' for none: it is only woken)
// Returns {1, token} when granted now; {2, token} when a hand-off had already
// granted it; {0, hint ms} when not, hint = how long the blocking lease has
// left (-1 when unknown): the head of the queue re-tries then.
//
// Fast path (exclusive, nobody queued, no shared holders): EXISTS, SET NX PX,
// TIME, SET GET: four commands.
#define WEFT_REDIS_ACQUIRE_BODY                                                                 \
  "local mode, owner, ttl, lim = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])\n"     \
  "if ARGV[12] == '1' then\n"                                                                   \
  "  if mode == 'x' then\n"                                                                     \
  "    if redis.call('GET', x) == owner then return {2, tonumber(redis.call('GET', t))} end\n"  \
  "  else\n"                                                                                    \
  "    local mine = redis.call('HGET', k, owner)\n"                                             \
  "    if mine and redis.call('ZSCORE', s, owner) then return {2, tonumber(mine)} end\n"        \
  "  end\n"                                                                                     \
  "end\n"                                                                                       \
  "local member = nil\n"                                                                        \
  "local purged = 0\n"                                                                          \
  "local free, chain = false, false\n"                                                          \
  "if mode == 'x' and redis.call('EXISTS', q, s) == 0 then\n"                                   \
  "  free = redis.call('SET', x, owner, 'NX', 'PX', ttl)\n"                                     \
  "  if free and ARGV[9] ~= '' then redis.call('SET', v, ARGV[9], 'PX', ttl) end\n"             \
  "else\n"                                                                                      \
  "  member = mode .. '|' .. ARGV[4] .. '|' .. ARGV[8] .. '|' .. owner\n"                       \
  "  local head = nil\n"                                                                        \
  "  if redis.call('EXISTS', q) == 1 then\n"                                                    \
  "    purged = purge()\n"                                                                      \
  "    head = redis.call('ZRANGE', q, 0, 0)[1]\n"                                               \
  "  end\n"                                                                                     \
  "  if (head == nil or head == member) and grantable(mode, lim) then\n"                        \
  "    if head ~= nil then dequeue(member); chain = true end\n"                                 \
  "    free = true\n"                                                                           \
  "    if mode == 'x' then hold('x', owner, ttl, '', ARGV[9]) end\n"                            \
  "  end\n"                                                                                     \
  "end\n"                                                                                       \
  "if free then\n"                                                                              \
  "  local tok, text = issue(tonumber(ARGV[7]))\n"                                              \
  "  if mode ~= 'x' then hold(mode, owner, ttl, text, '') end\n"                                \
  "  if chain then wake() end\n"                                                                 \
  "  if ARGV[10] ~= '' then redis.call('PUBLISH', ARGV[10], x) end\n"                           \
  "  return {1, tok}\n"                                                                         \
  "end\n"                                                                                       \
  "if ARGV[5] == '1' then\n"                                                                    \
  "  local wttl = tonumber(ARGV[6])\n"                                                          \
  "  member = member or (mode .. '|' .. ARGV[4] .. '|' .. ARGV[8] .. '|' .. owner)\n"           \
  "  if redis.call('ZSCORE', q, member) == false then\n"                                        \
  "    local ticket = ARGV[11]\n"                                                               \
  "    if ticket == '' then\n"                                                                  \
  "      ticket = redis.call('INCR', qs)\n"                                                      \
  "      if ticket == 1 then redis.call('PEXPIRE', qs, wttl * 2) end\n"                          \
  "    end\n"                                                                                   \
  "    redis.call('ZADD', q, ticket, member)\n"                                                 \
  "    if ARGV[13] ~= '' then redis.call('HSET', qg, member, ARGV[13]); extend(qg, wttl * 2) end\n" \
  "  end\n"                                                                                     \
  "  redis.call('ZADD', qt, clock() + wttl, member)\n"                                          \
  "  -- the queue keys are extended together: one PTTL decides for all\n"                        \
  "  if redis.call('PTTL', q) < wttl * 2 then\n"                                                \
  "    redis.call('PEXPIRE', q, wttl * 2); redis.call('PEXPIRE', qt, wttl * 2)\n"               \
  "    redis.call('PEXPIRE', qs, wttl * 2)\n"                                                   \
  "    if ARGV[13] ~= '' then redis.call('PEXPIRE', qg, wttl * 2) end\n"                        \
  "  end\n"                                                                                     \
  "end\n"                                                                                       \
  "if purged > 0 then wake() end\n"                                                             \
  "local hint = redis.call('PTTL', x)\n"                                                        \
  "if hint < 0 then\n"                                                                          \
  "  local first = redis.call('ZRANGE', s, 0, 0, 'WITHSCORES')[2]\n"                            \
  "  if first then hint = tonumber(first) - clock() else hint = -1 end\n"                       \
  "end\n"                                                                                       \
  "return {0, hint}\n"

// Renews a lease the caller still holds.
// ARGV: 1 mode, 2 owner, 3 ttl ms. Returns 1 when renewed, 0 when the caller no
// longer holds it (expired, or another holder took over).
#define WEFT_REDIS_RENEW_BODY                                                                   \
  "local mode, owner, ttl = ARGV[1], ARGV[2], tonumber(ARGV[3])\n"                             \
  "if mode == 'x' then\n"                                                                       \
  "  if redis.call('GET', x) == owner then\n"                                                   \
  "    redis.call('PEXPIRE', x, ttl)\n"                                                         \
  "    if redis.call('EXISTS', v) == 1 then redis.call('PEXPIRE', v, ttl) end\n"                \
  "    return 1\n"                                                                              \
  "  end\n"                                                                                     \
  "  return 0\n"                                                                                \
  "end\n"                                                                                       \
  "local sc = redis.call('ZSCORE', s, owner)\n"                                                 \
  "if sc and tonumber(sc) > clock() then\n"                                                     \
  "  redis.call('ZADD', s, clock() + ttl, owner)\n"                                             \
  "  extend(s, ttl); extend(k, ttl)\n"                                                          \
  "  return 1\n"                                                                                \
  "end\n"                                                                                       \
  "if sc then redis.call('ZREM', s, owner); redis.call('HDEL', k, owner); wake() end\n"         \
  "return 0\n"

// Releases a lease and/or leaves the wait queue; hands the lock to the next
// waiter if it can go. ARGV: 1 mode, 2 owner, 3 queue member ('' when not
// queued), 4 change channel ('' for none). Returns 1 when the caller held the
// lease, 0 otherwise. Never wakes or grants the caller itself (a Redlock
// waiter giving back a minority of grants).
// Fast path (nobody queued): GET, DEL, EXISTS: three commands.
#define WEFT_REDIS_RELEASE_BODY                                                                 \
  "local mode, owner = ARGV[1], ARGV[2]\n"                                                     \
  "quiet = owner\n"                                                                             \
  "local held = 0\n"                                                                            \
  "if mode == 'x' then\n"                                                                       \
  "  if redis.call('GET', x) == owner then redis.call('DEL', x, v); held = 1 end\n"             \
  "else\n"                                                                                      \
  "  held = redis.call('ZREM', s, owner)\n"                                                     \
  "  redis.call('HDEL', k, owner)\n"                                                            \
  "end\n"                                                                                       \
  "if ARGV[3] ~= '' then dequeue(ARGV[3]) end\n"                                                \
  "if redis.call('EXISTS', q) == 1 then purge(); wake() end\n"                                  \
  "if held == 1 and ARGV[4] ~= '' then redis.call('PUBLISH', ARGV[4], x) end\n"                 \
  "return held\n"

// Reads the state of a lock for status and observers:
// {exclusive owner or false, its pttl, last token, election value or false,
//  {shared owner, expiry in ms from now, token, ...}, queue length}
#define WEFT_REDIS_INSPECT_BODY                                                                 \
  "clock()\n"                                                                                   \
  "redis.call('ZREMRANGEBYSCORE', s, '-inf', now)\n"                                            \
  "local shared = {}\n"                                                                         \
  "local members = redis.call('ZRANGE', s, 0, -1, 'WITHSCORES')\n"                              \
  "for i = 1, #members, 2 do\n"                                                                 \
  "  shared[#shared + 1] = members[i]\n"                                                        \
  "  shared[#shared + 1] = tonumber(members[i + 1]) - now\n"                                    \
  "  shared[#shared + 1] = redis.call('HGET', k, members[i]) or '0'\n"                          \
  "end\n"                                                                                       \
  "purge()\n"                                                                                   \
  "return {redis.call('GET', x), redis.call('PTTL', x), redis.call('GET', t) or '0',\n"         \
  "        redis.call('GET', v), shared, redis.call('ZCARD', q)}\n"

// The same entry points as plain scripts (EVAL / EVALSHA), for servers without
// functions and for the best-effort release from a lease's destructor.
inline constexpr const char* acquire_script = WEFT_REDIS_LUA_HELPERS "setup(KEYS)\n" WEFT_REDIS_ACQUIRE_BODY;
inline constexpr const char* renew_script = WEFT_REDIS_LUA_HELPERS "setup(KEYS)\n" WEFT_REDIS_RENEW_BODY;
inline constexpr const char* release_script = WEFT_REDIS_LUA_HELPERS "setup(KEYS)\n" WEFT_REDIS_RELEASE_BODY;
inline constexpr const char* inspect_script = WEFT_REDIS_LUA_HELPERS "setup(KEYS)\n" WEFT_REDIS_INSPECT_BODY;

// The function library. "@V@" stands for a version (a hash of this text), so
// that stores of different weft versions never call each other's functions;
// the functions are weft_acquire_@V@, weft_renew_@V@, weft_release_@V@ and
// weft_inspect_@V@.
inline constexpr const char* library_template =
    "#!lua name=weft_lock_@V@\n" WEFT_REDIS_LUA_HELPERS
    "redis.register_function('weft_acquire_@V@', function(KEYS, ARGV)\nsetup(KEYS)\n" WEFT_REDIS_ACQUIRE_BODY
    "end)\n"
    "redis.register_function('weft_renew_@V@', function(KEYS, ARGV)\nsetup(KEYS)\n" WEFT_REDIS_RENEW_BODY
    "end)\n"
    "redis.register_function('weft_release_@V@', function(KEYS, ARGV)\nsetup(KEYS)\n" WEFT_REDIS_RELEASE_BODY
    "end)\n"
    "redis.register_function('weft_inspect_@V@', function(KEYS, ARGV)\nsetup(KEYS)\n" WEFT_REDIS_INSPECT_BODY
    "end)\n";

// Redlock: raises the token counter, and the caller's shared-holder token, to at
// least ARGV[2], so every later quorum sees the token this acquisition settled on.
// KEYS: 1 t, 2 k. ARGV: 1 owner, 2 token. Returns 1. (Plain script: Redlock only.)
inline constexpr const char* raise_script =
    "local cur = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
    "if tonumber(ARGV[2]) > cur then redis.call('SET', KEYS[1], ARGV[2]) end\n"
    "if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then redis.call('HSET', KEYS[2], ARGV[1], ARGV[2]) end\n"
    "return 1\n";

#undef WEFT_REDIS_LUA_HELPERS
#undef WEFT_REDIS_ACQUIRE_BODY
#undef WEFT_REDIS_RENEW_BODY
#undef WEFT_REDIS_RELEASE_BODY
#undef WEFT_REDIS_INSPECT_BODY

}  // namespace weft::lock::redis_detail
