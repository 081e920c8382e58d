#!/usr/bin/env bash
# Compares `weft lock` per invocation against flock(1) from util-linux, each
# taking one lock and running `true`, in one run, and writes the lock-cli
# section of docs/BENCHMARKS.md.
#
# The two commands are interleaved run by run (A B B A ...) and timed from
# outside (posix_spawn to wait4, CPU from wait4's rusage, the child `true`
# included), so a change in machine load hits both alike; the ratio is given
# on the means, the medians and pair by pair.
#
# Usage: scripts/bench-lock.sh [RUNS]    (default 500 of each; needs a release build)
# Env:   WEFT=path/to/weft   (default build/release/bin/weft)
#        WARMUP=N            (default 30 of each, not counted)
#        WEFT_BENCH_NO_WRITE=1 to print without touching docs/BENCHMARKS.md
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-500}
warmup=${WARMUP:-30}
if [[ -z ${WEFT:-} ]]; then  # measure the current tree, never a stale binary
  echo "bench-lock: building weft (release preset)" >&2
  cmake --preset release >/dev/null
  cmake --build --preset release -j "$(nproc)" --target weft >/dev/null
fi
weft=${WEFT:-build/release/bin/weft}
if [[ ! -x $weft ]]; then
  echo "bench-lock: $weft not found; build it first: cmake --preset release && cmake --build --preset release --target weft" >&2
  exit 69
fi
command -v flock >/dev/null || { echo "bench-lock: flock(1) not found; apt-get install util-linux" >&2; exit 69; }
command -v python3 >/dev/null || { echo "bench-lock: python3 not found" >&2; exit 69; }

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

# Interleaved and paired: run i times flock then weft (weft then flock on
# odd i), each started with posix_spawn and reaped with wait4, so a change in
# machine load hits both alike; the ratio is also taken pair by pair.
python3 - "$tmp/pairs.json" "$runs" "$warmup" "$flock_cmd" "$weft_cmd" <<'PYTHON'
import json, os, shlex, sys, time
out, runs, warmup, flock_cmd, weft_cmd = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
commands = {"flock": shlex.split(flock_cmd), "weft lock": shlex.split(weft_cmd)}
devnull = os.open(os.devnull, os.O_RDWR)
def once(argv):
    start = time.perf_counter_ns()
    pid = os.posix_spawnp(argv[0], argv, os.environ,
                         file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 0), (os.POSIX_SPAWN_DUP2, devnull, 1)])
    _, status, usage = os.wait4(pid, 0)
    wall = (time.perf_counter_ns() - start) / 1e9
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"bench-lock: {' '.join(argv)} failed with status {status}")
    return wall, usage.ru_utime + usage.ru_stime
for _ in range(warmup):
    for argv in commands.values():
        once(argv)
results = {name: {"wall": [], "cpu": []} for name in commands}
for i in range(runs):
    order = ["flock", "weft lock"] if i % 2 == 0 else ["weft lock", "flock"]
    for name in order:
        wall, cpu = once(commands[name])
        results[name]["wall"].append(wall)
        results[name]["cpu"].append(cpu)
json.dump(results, open(out, "w"))
PYTHON
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

summary=$(python3 - "$tmp/pairs.json" "$flock_calls" "$weft_calls" "$weft_threads" <<'PYTHON'
import json, statistics, sys
path, flock_calls, weft_calls, weft_threads = sys.argv[1:5]
results = json.load(open(path))
f, w = results["flock"], results["weft lock"]
ms = lambda s: f"{s * 1e3:.2f} ms"
mean, median = statistics.fmean, statistics.median
ratio = mean(w["wall"]) / mean(f["wall"])
paired = median(a / b for a, b in zip(w["wall"], f["wall"]))
paired_cpu = median(a / b for a, b in zip(w["cpu"], f["cpu"]) if b > 0)
print("| command | mean wall | median wall | mean CPU (user+sys) | system calls |")
print("|---|---|---|---|---|")
print(f"| `flock LOCKFILE true` (util-linux) | {ms(mean(f['wall']))} ± {ms(statistics.stdev(f['wall']))} | "
      f"{ms(median(f['wall']))} | {ms(mean(f['cpu']))} | {flock_calls} |")
print(f"| `weft lock --store file://DIR NAME -- true` | {ms(mean(w['wall']))} ± {ms(statistics.stdev(w['wall']))} | "
      f"{ms(median(w['wall']))} | {ms(mean(w['cpu']))} | {weft_calls} |")
print(f"| ratio weft / flock | {ratio:.2f}× | {median(w['wall']) / median(f['wall']):.2f}× | "
      f"{mean(w['cpu']) / mean(f['cpu']):.2f}× | |")
print()
print(f"Median of the {len(w['wall'])} paired ratios: {paired:.2f}× wall, {paired_cpu:.2f}× CPU "
      f"(CPU clock ticks are coarse: read the means).")
print()
print(f"Goal: `weft lock` within 1.2× of flock's wall time: **{'met' if ratio <= 1.2 else 'not met'}** "
      f"({ratio:.2f}× on the mean). Threads started by one `weft lock`: {weft_threads}.")
PYTHON
)

section=$(cat <<MD
<!-- lock-cli:begin -->
## \`weft lock\` per invocation vs \`flock(1)\`

Each invocation takes one lock, runs \`true\` and releases it. Both commands
were measured in one run of \`scripts/bench-lock.sh\`: $warmup warm-up runs
of each, then $runs of each, interleaved run by run (A B B A ...), each timed
from outside from posix_spawn to wait4 (CPU from wait4's rusage, the child
\`true\` included); system calls counted with \`strace -f -c\`. On
$(date -u +%Y-%m-%d), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end.

$summary

What a \`weft lock\` does on the file store: parse the command line, open the
store directory and the lock's directory, create and OFD-lock its participant
file, take the queue's \`meta\` lock, read and rewrite \`state\` (the token is
issued from it; the fsync'd ceiling in \`token\` is rewritten once per 4096
grants), start the child with vfork + execve in its own process group, wait
for it, then leave the queue the same way and exit. All of it runs on the main
thread: no runtime is started (\`store::acquire_now\`, \`lease::release_now\`),
and the file store starts its inotify watcher only for a waiter and its
renewal keeper only once the command has run for TTL/10 (at most 50 ms; the
first renewal is due at TTL/3), so a short command starts no thread. Contended
runs fall back to the runtime (push-based waiting, cancellable by Ctrl-C).

Where the remaining time goes, from \`perf record\` over a loop of runs: the
process start-up that flock pays too (execve, page faults, glibc's CPU-feature
probing, which is expensive in a VM), the participant file's create and unlink
(inode allocation on ext4; cheaper on tmpfs, where the default
\`\$XDG_RUNTIME_DIR\` store lives), OpenSSL's CPU
probe in the static binary (libcrypto is linked for the ring's and Redis's
hashes), and CLI11 building the command line (only the subcommand named by the
first argument is built: all six cost about a tenth of a run). The release
binary is linked statically: against a dynamic glibc with static libstdc++ it
spent more CPU per run when measured (shared-library mapping and relocation).
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
