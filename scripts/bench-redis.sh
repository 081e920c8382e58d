#!/usr/bin/env bash
# Benchmarks the redis:// lock store against the floor (two raw hiredis round
# trips), redis-py's Lock and the seed's SETNX/DEL lock, plus contended
# throughput, hand-off latency and Redis commands per acquisition, on one
# private redis-server on loopback. Writes the Redis section of
# docs/BENCHMARKS.md (between <!-- redis:begin --> and <!-- redis:end -->).
#
#   scripts/bench-redis.sh            # RUNS=3 ROUNDS=20 PER_ROUND=300 SECONDS=3
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
rounds=${ROUNDS:-20}
per_round=${PER_ROUND:-300}
seconds=${SECONDS_CONTENDED:-3}

cmake --preset release >/dev/null
cmake --build --preset release --target weft-bench-lock-redis >/dev/null
bench=build/release/bin/weft-bench-lock-redis

services=$(mktemp -d -t weft-bench-redis.XXXXXX)
trap 'scripts/services.d/redis.sh stop "$services" || true; rm -rf "$services"' EXIT
: > "$services/env"
scripts/services.d/redis.sh start "$services" >/dev/null
# shellcheck disable=SC1091
source "$services/env"
port=$WEFT_TEST_REDIS_PORT

out=$(mktemp)
# The weft cases run on a runtime with 1 worker and with 2 (w1_*, w2_*): on a
# 2-core machine an idle worker that spins before parking competes with
# redis-server for the CPU, which shows in round-trip latency.
for run in $(seq 1 "$runs"); do
  echo "bench-redis: run $run of $runs" >&2
  for workers in 1 2; do
    WEFT_BENCH_WORKERS=$workers "$bench" 127.0.0.1 "$port" --rounds "$rounds" --per-round "$per_round" \
      --seconds "$seconds" | sed -E "s/^(client|weft|contended)/w${workers}_\1/" >> "$out"
  done
  # Clients in separate processes (1-worker runtime each): the hand-off without
  # the other clients' work on a shared thread.
  for n in 2 8; do
    "$bench" 127.0.0.1 "$port" --only processes --clients "$n" --seconds "$seconds" >> "$out"
  done
  /usr/bin/python3 bench/peers/redis-py/lock_bench.py 127.0.0.1 "$port" "$rounds" "$per_round" >> "$out"
done

# The median over runs of each measure.
value() {
  awk -v k="$1" '$1 == k {print $2}' "$out" | sort -g | awk '{v[NR]=$1} END {if (NR) print v[int((NR+1)/2)]; else print "nan"}'
}
f() { printf '%.1f' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }

floor=$(value floor_median); floor99=$(value floor_p99)
naive=$(value naive_median); naive99=$(value naive_p99)
scripts=$(value scripts_median); scripts99=$(value scripts_p99)
redispy=$(value redispy_median); redispy99=$(value redispy_p99)
round_trip=$(awk -v f="$floor" 'BEGIN {print f / 2}')
verdict() { awk -v v="$1" -v t="$2" -v dir="$3" 'BEGIN { ok = (dir == "le") ? v <= t : v >= t; print ok ? "met" : "**not met**" }'; }

section=$(mktemp)
{
  echo "<!-- redis:begin -->"
  echo "## Redis lock store (\`redis://\`)"
  echo
  echo "Measured by \`scripts/bench-redis.sh\` ($(date -u +%Y-%m-%d), $(nproc) cores, load average"
  echo "$(cut -d' ' -f1-3 /proc/loadavg) at the end; on a shared machine absolute figures are inflated"
  echo "and noisy, so the ratios come from interleaved runs),"
  echo "redis-server $(redis-server --version | sed -E 's/.*v=([0-9.]+).*/\1/') on loopback, persistence off. Each figure is"
  echo "the median over $runs runs; each run interleaves $rounds rounds of $per_round acquire+release"
  echo "pairs per case so that background load hits every case alike. Release build."
  echo "weft runs on a runtime of 1 worker and of 2 workers."
  echo
  echo "### Uncontended acquire + release (one client)"
  echo
  echo "![redis:// acquire + release against the floor and the other clients](bench-redis.svg)"
  echo
  echo "| case | median µs | p99 µs | × floor |"
  echo "|---|---|---|---|"
  echo "| floor: two raw round trips, hiredis, one connection (SET NX PX, DEL) | $(f "$floor") | $(f "$floor99") | 1.00 |"
  echo "| the seed's lock: SETNX + DEL (no expiry, no owner check) | $(f "$naive") | $(f "$naive99") | $(ratio "$naive" "$floor") |"
  echo "| weft's acquire and release functions called with raw hiredis (FCALL: server-side cost of the protocol) | $(f "$scripts") | $(f "$scripts99") | $(ratio "$scripts" "$floor") |"
  for w in 1 2; do
    c=$(value "w${w}_client_median")
    echo "| two round trips through weft's own Redis client, $w worker(s) (no Lua) | $(f "$c") | $(f "$(value "w${w}_client_p99")") | $(ratio "$c" "$floor") |"
  done
  for w in 1 2; do
    m=$(value "w${w}_weft_median")
    echo "| **weft \`redis://\` mutex, $w worker(s)** (token, lease, FIFO queue check) | **$(f "$m")** | $(f "$(value "w${w}_weft_p99")") | **$(ratio "$m" "$floor")** |"
  done
  echo "| redis-py 4.3 \`Lock\` (python3-redis) | $(f "$redispy") | $(f "$redispy99") | $(ratio "$redispy" "$floor") |"
  echo
  echo "| target | measured | verdict |"
  echo "|---|---|---|"
  for w in 1 2; do
    m=$(value "w${w}_weft_median")
    echo "| weft ≤ 1.15 × floor ($w worker(s)) | $(ratio "$m" "$floor") × | $(verdict "$(ratio "$m" "$floor")" 1.15 le) |"
    echo "| weft ≥ 1.8 × faster than redis-py ($w worker(s)) | $(ratio "$redispy" "$m") × | $(verdict "$(ratio "$redispy" "$m")" 1.8 ge) |"
  done
  echo
  echo "Where the time goes: the acquire and release functions (FCALL; 4 and 3 commands"
  echo "inside Redis on this path) cost about $(ratio "$scripts" "$floor") × two plain commands (the \"scripts\""
  echo "row: token issue, queue check, owner check); weft's own client adds the poller"
  echo "(the \"client\" rows: an epoll wait and a wake-up per reply instead of a blocking"
  echo "read), and the lease one timer. The floor itself is a blocking read on one thread."
  echo
  echo "**Read the × floor column with care.** The floor (and redis-py) block in read(): on a"
  echo "quiet machine each reply then waits for the kernel to wake an idle core, which in this"
  echo "VM costs tens of µs; weft's worker spins about 20 µs before it parks and usually sees the"
  echo "reply while spinning. So on a quiet machine weft can come out *below* the floor, and the"
  echo "hand-off \"in round trips\" (hand-off ÷ half the floor) looks small; on a busy machine,"
  echo "where no core sits idle, the floor is about 32 µs and weft measured 1.37-1.49 × it"
  echo "(2026-11-27, load 5-10), i.e. the protocol's Lua cost shows. The \"own client\" rows"
  echo "(two plain round trips through weft's client) are the fairest yardstick for the hand-off:"
  echo "measured against them it is several round trips, not two."
  echo "Per round trip, weft's client makes 1 send, 1 recv and about 1.03 epoll_wait (strace -c,"
  echo "1 worker; the socket keeps one persistent edge-triggered registration, so there is no"
  echo "epoll_ctl re-arm, no EAGAIN recv and no eventfd self-wake); the floor makes 1 send and"
  echo "1 read. Inside Redis (INFO commandstats usec_per_call, 2026-11-27, loaded machine): a"
  echo "plain SET NX PX or DEL costs 0.3-0.7 µs, weft's acquire + release FCALLs 4.5-6.5 µs"
  echo "each on average; an empty function costs 1.6 µs, a minimal compare-and-delete with a"
  echo "queue check 2.4 µs, a minimal token issue (TIME + SET GET) 3.5 µs: most of it is Lua's"
  echo "per-call and per-redis.call() overhead, not the commands themselves."
  echo
  echo "### Contended: N clients on one lock"
  echo
  echo "Each client is its own store (own connections) in one process; each loops"
  echo "acquire → release. Hand-off = from the holder calling \`release()\` to the next"
  echo "holder's \`acquire\` returning; in round trips = hand-off ÷ (floor ÷ 2)."
  echo "Commands are counted by the server (INFO commandstats): \"sent\" are the"
  echo "FCALL calls clients send, \"total\" adds the commands the functions run inside Redis."
  echo
  echo "| workers | clients | acquisitions/s | hand-off median µs | hand-off p99 µs | hand-off in round trips (median) | commands sent per acquisition | commands incl. inside scripts |"
  echo "|---|---|---|---|---|---|---|---|"
  for w in 1 2; do
    for n in 2 8 64; do
      h=$(value "w${w}_contended_${n}_handoff_median")
      echo "| $w | $n | $(printf '%.0f' "$(value "w${w}_contended_${n}_throughput")") | $(f "$h") | $(f "$(value "w${w}_contended_${n}_handoff_p99")") | $(ratio "$h" "$round_trip") | $(value "w${w}_contended_${n}_commands_sent") | $(value "w${w}_contended_${n}_commands_total") |"
    done
  done
  echo
  echo "The same with every client in its own process (its own 1-worker runtime and store;"
  echo '`--only processes`, as issue 4 measures 8 contending processes): the hand-off no'
  echo "longer waits for the other clients' work on one shared thread. On a loaded 2-core"
  echo "machine (2026-11-27) both ways measured about 4.4-5 round trips: the shared thread is"
  echo "not where the extra round trips go. What is left (not measured apart): the release's"
  echo "hand-off branch runs about 12 commands inside Lua on the server (wake: queue head,"
  echo "grant check, token, SET PX, dequeue, PUBLISH; with 2 processes an FCALL averaged"
  echo "11.5 µs of server time, INFO commandstats, against 0.3 µs for a SET: about a round trip"
  echo "per hand-off spent inside Lua), the server serves the other waiters'"
  echo "calls in between (29 commands per acquisition inside scripts), and the next holder's"
  echo "thread must be woken by the kernel on cores shared with redis-server."
  echo
  echo "| processes | acquisitions/s | hand-off median µs | hand-off p99 µs | hand-off in round trips (median) | commands sent per acquisition |"
  echo "|---|---|---|---|---|---|"
  for n in 2 8; do
    h=$(value "processes_${n}_handoff_median")
    echo "| $n | $(printf '%.0f' "$(value "processes_${n}_throughput")") | $(f "$h") | $(f "$(value "processes_${n}_handoff_p99")") | $(ratio "$h" "$round_trip") | $(value "processes_${n}_commands_sent") |"
  done
  echo
  echo "Target: hand-off ≤ 2 round trips after the release. On the wire it is one: the"
  echo "release function grants the lock to the next live waiter itself (owner, PX, fencing"
  echo "token) and PUBLISHes the grant to that waiter only, which owns the lock when the"
  echo "message arrives (no second acquire call). The measured figure adds the time all N"
  echo "clients of this one process spend on the same 1–2 worker threads (with 2 clients it"
  echo "is closest to the protocol's own cost) and on a shared, loaded machine. Two commands"
  echo "per acquisition under contention (the waiter's queue call, the holder's release)"
  echo "show that there is no polling: waiters are granted by push and only re-announce"
  echo "themselves every waiter_ttl/3 while they wait."
  echo "<!-- redis:end -->"
} > "$section"

mkdir -p docs
{
  printf 'floor: two raw hiredis round trips\t%s\tfloor\n' "$floor"
  printf "the seed's SETNX + DEL (unsafe)\t%s\tpeer\n" "$naive"
  for w in 1 2; do printf 'weft redis:// mutex, %s worker(s)\t%s\tweft\n' "$w" "$(value "w${w}_weft_median")"; done
  printf 'redis-py Lock\t%s\tpeer\n' "$redispy"
} | /usr/bin/python3 scripts/bar-chart.py --out docs/bench-redis.svg --unit µs \
  --title "Redis lock: acquire + release, uncontended (median, shorter is better)" \
  --subtitle "scripts/bench-redis.sh, $(date -u +%Y-%m-%d), redis-server on loopback, medians of $runs runs"

doc=docs/BENCHMARKS.md
[[ -f $doc ]] || printf '# Benchmarks\n' > "$doc"
if grep -q '<!-- redis:begin -->' "$doc"; then
  awk -v file="$section" '
    /<!-- redis:begin -->/ { while ((getline line < file) > 0) print line; skip = 1; next }
    /<!-- redis:end -->/ { skip = 0; next }
    !skip { print }' "$doc" > "$doc.tmp" && mv "$doc.tmp" "$doc"
else
  { echo; cat "$section"; } >> "$doc"
fi
cat "$section"
rm -f "$section" "$out"
