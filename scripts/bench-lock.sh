#!/usr/bin/env bash
# Compares `weft lock` per invocation against flock(1) from util-linux, each
# taking one lock and running `true`, in one run, and writes the lock-cli
# section of docs/BENCHMARKS.md.
#
# The two commands are interleaved: ROUNDS rounds of hyperfine, each timing
# both commands (in alternating order), so a change in machine load during
# the run hits both alike. The ratio is taken on the pooled per-run times.
#
# Usage: scripts/bench-lock.sh [RUNS]    (default 500 per command; needs a release build)
# Env:   WEFT=path/to/weft   (default build/release/bin/weft)
#        ROUNDS=N            (default 10)
#        WEFT_BENCH_NO_WRITE=1 to print without touching docs/BENCHMARKS.md
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-500}
rounds=${ROUNDS:-10}
per_round=$(( (runs + rounds - 1) / rounds ))
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

for ((round = 1; round <= rounds; round++)); do
  if ((round % 2)); then
    order=(-n flock "$flock_cmd" -n "weft lock" "$weft_cmd")
  else
    order=(-n "weft lock" "$weft_cmd" -n flock "$flock_cmd")
  fi
  hyperfine -N --style none --warmup 5 --runs "$per_round" --export-json "$tmp/round$round.json" \
    "${order[@]}" >/dev/null
  echo "bench-lock: round $round of $rounds done" >&2
done

# Where the time goes, for the text below: system calls and threads per run.
syscalls() { strace -f -c -o "$tmp/strace.txt" "$@" >/dev/null 2>&1 && awk '/total/ {print $4}' "$tmp/strace.txt"; }
threads() { strace -f -e trace=clone,clone3 -o "$tmp/threads.txt" "$@" >/dev/null 2>&1 && grep -c 'CLONE_THREAD' "$tmp/threads.txt" || true; }
if command -v strace >/dev/null; then
  flock_calls=$(syscalls flock "$lockfile" "$true_bin" || echo "?")
  weft_calls=$(syscalls "$weft_abs" lock --store "$store" bench -- "$true_bin" || echo "?")
  weft_threads=$(threads "$weft_abs" lock --store "$store" bench -- "$true_bin")
else
  flock_calls="?"; weft_calls="?"; weft_threads="?"
fi

summary=$(python3 - "$tmp" "$rounds" "$flock_calls" "$weft_calls" "$weft_threads" <<'PYTHON'
import glob, json, statistics, sys
tmp, rounds, flock_calls, weft_calls, weft_threads = sys.argv[1:6]
times = {"flock": [], "weft lock": []}
cpu = {"flock": [], "weft lock": []}
for path in sorted(glob.glob(tmp + "/round*.json")):
    for r in json.load(open(path))["results"]:
        times[r["command"]] += r["times"]
        cpu[r["command"]].append(r["user"] + r["system"])
f, w = times["flock"], times["weft lock"]
ms = lambda s: f"{s * 1e3:.2f} ms"
mean = statistics.fmean
fc, wc = mean(cpu["flock"]), mean(cpu["weft lock"])
ratio = mean(w) / mean(f)
print("| command | mean wall | median wall | CPU (user+sys) | system calls |")
print("|---|---|---|---|---|")
print(f"| `flock LOCKFILE true` (util-linux) | {ms(mean(f))} ± {ms(statistics.stdev(f))} | "
      f"{ms(statistics.median(f))} | {ms(fc)} | {flock_calls} |")
print(f"| `weft lock --store file://DIR NAME -- true` | {ms(mean(w))} ± {ms(statistics.stdev(w))} | "
      f"{ms(statistics.median(w))} | {ms(wc)} | {weft_calls} |")
print(f"| ratio weft / flock | {ratio:.2f}× | {statistics.median(w) / statistics.median(f):.2f}× | "
      f"{wc / fc:.2f}× | |")
print()
print(f"Goal: `weft lock` within 1.2× of flock's wall time: **{'met' if ratio <= 1.2 else 'not met'}** "
      f"({ratio:.2f}× on the mean, {len(w)} runs of each). Threads started by one `weft lock`: {weft_threads}.")
PYTHON
)

section=$(cat <<MD
<!-- lock-cli:begin -->
## \`weft lock\` per invocation vs \`flock(1)\`

Each invocation takes one lock, runs \`true\` and releases it. Both commands
were measured in one run of \`scripts/bench-lock.sh\`: $rounds rounds of
hyperfine (\`-N\`, 5 warm-up runs, $per_round runs of each command per round,
the order alternating between rounds), pooled; system calls counted with
\`strace -f -c\` (the child \`true\` included). On $(date -u +%Y-%m-%d), $(nproc) cores,
load average $(cut -d' ' -f1-3 /proc/loadavg) at the end.

$summary

What a \`weft lock\` does on the file store: parse the command line, open the
store directory and the lock's directory, create and OFD-lock its participant
file, take the queue's \`meta\` lock, read and rewrite \`state\` (the token is
issued from it; the fsync'd ceiling in \`token\` is rewritten once per 4096
grants), start the child with vfork + execve in its own process group, wait
for it, then leave the queue the same way and exit. All of it runs on the main
thread: no runtime is started (\`store::acquire_now\`, \`lease::release_now\`),
and the file store starts its inotify watcher only for a waiter. One thread is
started per run: the renewal keeper, which sleeps until TTL/3 and must exist
for the lease to renew itself and for \`lost()\` to fire. Contended runs fall
back to the runtime (push-based waiting, cancellable by Ctrl-C).

Where the remaining time goes, from \`perf record\` over a loop of runs: the
process start-up that flock pays too (execve, page faults, glibc's CPU-feature
probing, which is expensive in a VM), the participant file's create and unlink
(inode allocation on ext4; cheaper on tmpfs, where the default
\`\$XDG_RUNTIME_DIR\` store lives), the keeper thread's clone, OpenSSL's CPU
probe in the static binary (libcrypto is linked for the ring's and Redis's
hashes), and CLI11 building the command table. The release binary is linked
statically: against a dynamic glibc with static libstdc++ it spent more CPU per
run when measured (shared-library mapping and relocation).
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
