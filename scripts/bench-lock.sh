#!/usr/bin/env bash
# Compares `weft lock` per invocation against flock(1) from util-linux, each
# taking one lock and running `true`, in one hyperfine run, and writes the
# lock-cli section of docs/BENCHMARKS.md.
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
command -v hyperfine >/dev/null || { echo "bench-lock: hyperfine not found; run scripts/bootstrap.sh" >&2; exit 69; }

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

hyperfine -N --warmup 30 --runs "$runs" --export-json "$tmp/out.json" \
  -n flock "$flock_cmd" -n "weft lock" "$weft_cmd" >&2

summary=$(python3 - "$tmp/out.json" <<'PYTHON'
import json, sys
results = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
f, w = results["flock"], results["weft lock"]
ms = lambda s: f"{s * 1e3:.2f} ms"
cpu = lambda r: r["user"] + r["system"]
ratio = w["mean"] / f["mean"]
print(f"| `flock LOCKFILE true` (util-linux) | {ms(f['mean'])} ± {ms(f['stddev'])} | {ms(f['median'])} | {ms(cpu(f))} |")
print(f"| `weft lock --store file://DIR NAME -- true` | {ms(w['mean'])} ± {ms(w['stddev'])} | {ms(w['median'])} | {ms(cpu(w))} |")
print(f"| ratio weft / flock | {ratio:.2f}× | {w['median'] / f['median']:.2f}× | {cpu(w) / cpu(f):.2f}× |")
print()
print(f"Goal: `weft lock` within 1.2× of flock's wall time: **{'met' if ratio <= 1.2 else 'not met'}** "
      f"({ratio:.2f}× on the mean).")
PYTHON
)

section=$(cat <<MD
<!-- lock-cli:begin -->
## \`weft lock\` per invocation vs \`flock(1)\`

Each invocation takes one lock, runs \`true\` and releases it. Both commands
were measured in one hyperfine run (\`-N\`, 30 warm-up runs, then $runs runs of
each), by \`scripts/bench-lock.sh\`, on $(date -u +%Y-%m-%d), $(nproc) cores
shared with other jobs.

| command | mean wall | median wall | CPU (user+sys) |
|---|---|---|---|
$summary

A \`weft lock\` does more than flock on every run: it writes a durable fencing
token and a lease record, starts a renewal keeper, and supervises the child in
its own process group.
<!-- lock-cli:end -->
MD
)
echo "$section"

if [[ -z ${WEFT_BENCH_NO_WRITE:-} ]]; then
  mkdir -p docs
  file=docs/BENCHMARKS.md
  [[ -f $file ]] || printf '# Benchmarks\n\nMeasured figures only; each section is written by the script it names.\n' >"$file"
  python3 - "$file" "$section" <<'PYTHON'
import re, sys
path, section = sys.argv[1], sys.argv[2]
text = open(path).read()
pattern = re.compile(r"<!-- lock-cli:begin -->.*?<!-- lock-cli:end -->", re.S)
if pattern.search(text):
    text = pattern.sub(lambda _: section, text)
else:
    text = text.rstrip("\n") + "\n\n" + section + "\n"
open(path, "w").write(text)
PYTHON
  echo "bench-lock: wrote the lock-cli section of $file" >&2
fi
