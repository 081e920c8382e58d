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
for run in $(seq 1 "$runs"); do
  echo "bench-redis: run $run of $runs" >&2
  "$bench" 127.0.0.1 "$port" --rounds "$rounds" --per-round "$per_round" --seconds "$seconds" >> "$out"
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
client=$(value client_median); client99=$(value client_p99)
weft=$(value weft_median); weft99=$(value weft_p99)
redispy=$(value redispy_median); redispy99=$(value redispy_p99)
round_trip=$(awk -v f="$floor" 'BEGIN {print f / 2}')
weft_vs_floor=$(ratio "$weft" "$floor")
redispy_vs_weft=$(ratio "$redispy" "$weft")
verdict() { awk -v v="$1" -v t="$2" -v dir="$3" 'BEGIN { ok = (dir == "le") ? v <= t : v >= t; print ok ? "met" : "**not met**" }'; }

section=$(mktemp)
{
  echo "<!-- redis:begin -->"
  echo "## Redis lock store (\`redis://\`)"
  echo
  echo "Measured by \`scripts/bench-redis.sh\` ($(date -u +%Y-%m-%d), $(nproc) cores, load average"
  echo "$(cut -d' ' -f1-3 /proc/loadavg) at the end: the machine was shared with other builds),"
  echo "redis-server $(redis-server --version | sed -E 's/.*v=([0-9.]+).*/\1/') on loopback, persistence off. Each figure is"
  echo "the median over $runs runs; each run interleaves $rounds rounds of $per_round acquire+release"
  echo "pairs per case so that background load hits every case alike. Release build, 2 workers."
  echo
  echo "### Uncontended acquire + release (one client)"
  echo
  echo "| case | median µs | p99 µs | × floor |"
  echo "|---|---|---|---|"
  echo "| floor: two raw round trips, hiredis, one connection (SET NX PX, DEL) | $(f "$floor") | $(f "$floor99") | 1.00 |"
  echo "| the seed's lock: SETNX + DEL (no expiry, no owner check) | $(f "$naive") | $(f "$naive99") | $(ratio "$naive" "$floor") |"
  echo "| weft's two Lua scripts sent with raw hiredis (server-side cost of the protocol) | $(f "$scripts") | $(f "$scripts99") | $(ratio "$scripts" "$floor") |"
  echo "| two round trips through weft's own Redis client (runtime + poller, no Lua) | $(f "$client") | $(f "$client99") | $(ratio "$client" "$floor") |"
  echo "| **weft \`redis://\` mutex** (token, lease, FIFO queue check) | **$(f "$weft")** | $(f "$weft99") | **$weft_vs_floor** |"
  echo "| redis-py 4.3 \`Lock\` (python3-redis) | $(f "$redispy") | $(f "$redispy99") | $(ratio "$redispy" "$floor") |"
  echo
  echo "| target | measured | verdict |"
  echo "|---|---|---|"
  echo "| weft ≤ 1.15 × floor | $weft_vs_floor × | $(verdict "$weft_vs_floor" 1.15 le) |"
  echo "| weft ≥ 1.8 × faster than redis-py | $redispy_vs_weft × | $(verdict "$redispy_vs_weft" 1.8 ge) |"
  echo
  echo "### Contended: N clients on one lock"
  echo
  echo "Each client is its own store (own connections) in one process; each loops"
  echo "acquire → release. Hand-off = from the holder calling \`release()\` to the next"
  echo "holder's \`acquire\` returning; in round trips = hand-off ÷ (floor ÷ 2)."
  echo "Commands are counted by the server (INFO commandstats): \"sent\" are the"
  echo "EVALSHA calls clients send, \"total\" adds the commands the scripts run inside Redis."
  echo
  echo "| clients | acquisitions/s | hand-off median µs | hand-off p99 µs | hand-off in round trips (median) | commands sent per acquisition | commands incl. inside scripts |"
  echo "|---|---|---|---|---|---|---|"
  for n in 8 64; do
    h=$(value "contended_${n}_handoff_median")
    echo "| $n | $(printf '%.0f' "$(value "contended_${n}_throughput")") | $(f "$h") | $(f "$(value "contended_${n}_handoff_p99")") | $(ratio "$h" "$round_trip") | $(value "contended_${n}_commands_sent") | $(value "contended_${n}_commands_total") |"
  done
  echo
  echo "Target: hand-off ≤ 2 round trips after the release. A release costs one round trip"
  echo "(its script PUBLISHes to the next waiter only); the woken waiter's acquire is the second."
  echo "Three commands per acquisition under contention (queue, woken acquire, release) show"
  echo "there is no polling: waiters are woken by push and only re-announce themselves every"
  echo "waiter_ttl/3 while they wait."
  echo "<!-- redis:end -->"
} > "$section"

doc=docs/BENCHMARKS.md
mkdir -p docs
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
