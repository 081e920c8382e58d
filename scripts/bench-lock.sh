#!/usr/bin/env bash
# Compares `weft lock` per invocation against flock(1) from util-linux, on one
# lock, in one run, and writes the lock-cli section of docs/BENCHMARKS.md.
#
# Usage: scripts/bench-lock.sh [RUNS]    (default 500; needs a release build)
# Env:   WEFT=path/to/weft   (default build/release/bin/weft)
#        WEFT_BENCH_NO_WRITE=1 to print without touching docs/BENCHMARKS.md
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-500}
weft=${WEFT:-build/release/bin/weft}
if [[ ! -x $weft ]]; then
  echo "bench-lock: $weft not found; build it first: cmake --preset release && cmake --build --preset release --target weft" >&2
  exit 69
fi
command -v flock >/dev/null || { echo "bench-lock: flock(1) not found; apt-get install util-linux" >&2; exit 69; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
store="file://$tmp/store"
lockfile="$tmp/flock.lock"
true_bin=$(command -v true)
weft_abs=$(readlink -f "$weft")

# Same work for both: take the lock, run /bin/true, release.
flock_cmd="flock $lockfile $true_bin"
weft_cmd="$weft_abs lock --store $store bench -- $true_bin"
$weft_cmd || { echo "bench-lock: '$weft_cmd' failed" >&2; exit 70; }

flock_ms=""
weft_ms=""
method=""
if command -v hyperfine >/dev/null; then
  method="hyperfine -N, $runs runs each, 30 warm-up runs, interleaved in one hyperfine run"
  hyperfine -N --warmup 30 --runs "$runs" --export-json "$tmp/out.json" \
    -n flock "$flock_cmd" -n "weft lock" "$weft_cmd" >&2
  read -r flock_ms weft_ms < <(python3 - "$tmp/out.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
m = {x["command"]: x for x in r}
print(f'{m["flock"]["mean"]*1e3:.3f} {m["weft lock"]["mean"]*1e3:.3f}')
PY
)
else
  method="shell loop, $runs invocations each"
  time_loop() {
    local start end
    start=$(date +%s%N)
    for ((i = 0; i < runs; i++)); do $1 >/dev/null; done
    end=$(date +%s%N)
    awk -v ns=$((end - start)) -v n="$runs" 'BEGIN { printf "%.3f", ns / n / 1e6 }'
  }
  flock_ms=$(time_loop "$flock_cmd")
  weft_ms=$(time_loop "$weft_cmd")
fi
ratio=$(awk -v a="$weft_ms" -v b="$flock_ms" 'BEGIN { printf "%.2f", a / b }')
verdict=$(awk -v r="$ratio" 'BEGIN { print (r <= 1.2) ? "met" : "not met" }')

section=$(cat <<MD
<!-- lock-cli:begin -->
## \`weft lock\` per invocation vs \`flock(1)\`

Take one lock, run \`true\`, release: one process invocation each, same
machine, same run ($method). Measured $(date -u +%Y-%m-%d) on $(nproc) cores,
by \`scripts/bench-lock.sh\`.

| command | mean wall time per invocation |
|---|---|
| \`flock LOCKFILE true\` (util-linux) | ${flock_ms} ms |
| \`weft lock --store file://DIR NAME -- true\` | ${weft_ms} ms |
| ratio weft / flock | ${ratio}× (goal ≤ 1.2×: ${verdict}) |

\`weft lock\` does more per invocation than flock: a durable fencing token,
a lease record, a renewal timer and a supervised child in its own process group.
<!-- lock-cli:end -->
MD
)
echo "$section"

if [[ -z ${WEFT_BENCH_NO_WRITE:-} ]]; then
  mkdir -p docs
  file=docs/BENCHMARKS.md
  [[ -f $file ]] || printf '# Benchmarks\n\nMeasured figures only; each section is written by the script it names.\n' >"$file"
  python3 - "$file" "$section" <<'PY'
import re, sys
path, section = sys.argv[1], sys.argv[2]
text = open(path).read()
pattern = re.compile(r"<!-- lock-cli:begin -->.*?<!-- lock-cli:end -->", re.S)
if pattern.search(text):
    text = pattern.sub(lambda _: section, text)
else:
    text = text.rstrip("\n") + "\n\n" + section + "\n"
open(path, "w").write(text)
PY
  echo "bench-lock: wrote the lock-cli section of $file" >&2
fi
