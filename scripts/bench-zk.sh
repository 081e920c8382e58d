#!/usr/bin/env bash
# Benchmarks the zk:// lock store against the floor (the raw create +
# getChildren + delete sequence with the same C client) and kazoo's Lock,
# plus hand-off latency with 8 and 64 contending clients and ZooKeeper
# requests per acquisition, on a private standalone ZooKeeper on loopback.
# Writes the ZooKeeper section of docs/BENCHMARKS.md (between
# <!-- zk:begin --> and <!-- zk:end -->).
#
#   scripts/bench-zk.sh        # RUNS=3 ITERATIONS=1500 HANDOFF_ROUNDS=400
#
# Two server configurations are measured in the same run: ZooKeeper's default
# (an fsync per transaction, so the disk dominates every figure) and
# forceSync=no (the clients' own cost shows).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
iterations=${ITERATIONS:-1500}
handoff_rounds=${HANDOFF_ROUNDS:-400}
python=/usr/bin/python3  # Debian's, where python3-kazoo is installed
[[ -x $python ]] || python=python3

cmake --preset release >/dev/null
cmake --build --preset release --target weft-bench-lock-zk >/dev/null
bench=build/release/bin/weft-bench-lock-zk

services=$(mktemp -d -t weft-bench-zk.XXXXXX)
trap 'scripts/services.d/zookeeper.sh stop "$services" || true; rm -rf "$services"' EXIT

measure() {  # measure SYNC OUT: start servers with forceSync=SYNC, append key/value lines to OUT
  local sync=$1 out=$2
  scripts/services.d/zookeeper.sh stop "$services" || true
  : > "$services/env"
  WEFT_ZK_FORCE_SYNC=$sync scripts/services.d/zookeeper.sh start "$services" 2>/dev/null
  # shellcheck disable=SC1090
  source "$services/env"
  local hosts=${WEFT_TEST_ZK#zk://}
  hosts=${hosts%%/*}
  for run in $(seq 1 "$runs"); do
    echo "bench-zk: forceSync=$sync, run $run of $runs" >&2
    "$bench" "$WEFT_TEST_ZK/bench" --iterations "$iterations" --handoff-rounds "$handoff_rounds" >> "$out"
    "$python" bench/peers/kazoo/kazoo_lock_bench.py "$hosts" /weft-test/bench "$iterations" >> "$out"
  done
}

# The median over runs of one measure.
value() {
  awk -v k="$1" '$1 == k {print $2}' "$2" | sort -g | awk '{v[NR]=$1} END {if (NR) print v[int((NR+1)/2)]; else print "nan"}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
verdict() { awk -v v="$1" -v t="$2" -v dir="$3" 'BEGIN { ok = (dir == "le") ? v <= t : v >= t; print ok ? "met" : "**not met**" }'; }
us() { printf '%.0f µs' "$1"; }

synced=$(mktemp)
unsynced=$(mktemp)
measure yes "$synced"
measure no "$unsynced"

table() {  # table FILE TITLE
  local f=$1
  local floor weft kazoo raw
  floor=$(value floor_median "$f"); weft=$(value weft_median "$f"); kazoo=$(value kazoo_median "$f")
  raw=$(value kazoo_raw_median "$f")
  echo "**$2**"
  echo
  echo "| measure (lock + unlock, uncontended) | median | p99 | vs weft |"
  echo "|---|---|---|---|"
  echo "| raw C client: create + getChildren + delete (the floor) | $(us "$floor") | $(us "$(value floor_p99 "$f")") | $(ratio "$floor" "$weft")× |"
  echo "| raw C client, create + getChildren pipelined, then delete (no runtime) | $(us "$(value pipelined_median "$f")") | $(us "$(value pipelined_p99 "$f")") | $(ratio "$(value pipelined_median "$f")" "$weft")× |"
  echo "| weft \`zk://\` mutex | $(us "$weft") | $(us "$(value weft_p99 "$f")") | 1.00× |"
  echo "| kazoo Lock | $(us "$kazoo") | $(us "$(value kazoo_p99 "$f")") | $(ratio "$kazoo" "$weft")× |"
  echo "| kazoo raw create + get_children + delete | $(us "$raw") | $(us "$(value kazoo_raw_p99 "$f")") | $(ratio "$raw" "$weft")× |"
  echo
  echo "| hand-off (release → next holder) | median | p99 | requests per acquisition | watch notifications per hand-off |"
  echo "|---|---|---|---|---|"
  for c in 8 64; do
    echo "| $c contending clients (one session each) | $(us "$(value "handoff${c}_median" "$f")") | $(us "$(value "handoff${c}_p99" "$f")") | $(value "handoff${c}_requests" "$f") | $(value "handoff${c}_notifications" "$f") |"
  done
  echo
  echo "Targets: weft ≤ 1.15× the floor: $(ratio "$weft" "$floor")×, $(verdict "$(ratio "$weft" "$floor")" 1.15 le);"
  echo "kazoo ≥ 2× weft: $(ratio "$kazoo" "$weft")×, $(verdict "$(ratio "$kazoo" "$weft")" 2 ge);"
  echo "requests per uncontended acquire + release: $(value weft_requests "$f") (the floor sends 3)."
  echo
}

section=$(mktemp)
{
  echo "<!-- zk:begin -->"
  echo "## ZooKeeper lock store (\`zk://\`)"
  echo
  echo "Measured by \`scripts/bench-zk.sh\` ($(date -u +%Y-%m-%d), $(nproc) cores, load average"
  echo "$(cut -d' ' -f1-3 /proc/loadavg) at the end: the machine was shared with other builds),"
  echo "ZooKeeper $(dpkg-query -W -f='${Version}' zookeeper 2>/dev/null || echo '?') standalone on loopback, one session per client."
  echo "Each figure is the median over $runs runs of the run's median (or p99); each run takes"
  echo "$iterations uncontended samples per side, floor and weft interleaved in 5 rounds, and $handoff_rounds hand-offs."
  echo "weft pipelines the create and the getChildren of an acquisition (ZooKeeper runs one session's"
  echo "requests in order, so the listing already holds the new node): one round trip where the"
  echo "floor, which waits for each answer, takes two. A hand-off is one watch notification (the"
  echo "predecessor's deletion) plus one getChildren; a contended acquisition sends 5 requests"
  echo "(create, getChildren, exists+watch, getChildren, delete)."
  echo
  table "$synced" "ZooKeeper defaults (fsync per transaction)"
  table "$unsynced" "forceSync=no (no fsync: the clients' own cost)"
  echo "<!-- zk:end -->"
} > "$section"

doc=docs/BENCHMARKS.md
mkdir -p docs
[[ -f $doc ]] || printf '# Benchmarks\n\n' > "$doc"
if grep -q '<!-- zk:begin -->' "$doc"; then
  awk -v file="$section" '
    /<!-- zk:begin -->/ { while ((getline line < file) > 0) print line; skip = 1; next }
    /<!-- zk:end -->/ { skip = 0; next }
    !skip { print }' "$doc" > "$doc.tmp"
  mv "$doc.tmp" "$doc"
else
  { echo; cat "$section"; } >> "$doc"
fi
cat "$section"
rm -f "$section" "$synced" "$unsynced"
