#!/usr/bin/env bash
# Runs weft's benchmarks against their peers and writes the results into
# docs/BENCHMARKS.md.
#
#   scripts/bench.sh            every available section (runtime, then ring, lock)
#   scripts/bench.sh runtime    weft-bench-runtime against the Go peer
#   scripts/bench.sh ring [ARGS]  delegates to scripts/bench-ring.sh ARGS (e.g. --quick)
#   scripts/bench.sh lock       delegates to scripts/bench-lock.sh
#
# Runtime section settings (environment):
#   WEFT_BENCH_RUNS=7     runs of each binary per case (interleaved); medians are reported
#   WEFT_WORKERS=nproc    weft worker threads; GOMAXPROCS is set to the same number
#   WEFT_BENCH_SCALE=1    divides every N (e.g. 10 for a quick look; not for the record)
#   WEFT_BENCH_CASES="pingpong prodcons spawn select idle"
#   WEFT_BENCH_NO_BUILD=1 use the binaries already in build/release/bin
#   WEFT_BENCH_REPORT_ONLY=1  no runs: rewrite the doc and chart from the last runs
#   WEFT_BENCH_QUIET_WAIT=30  before each Go/weft pair, wait up to this many
#                         seconds for the machine to be quiet (other processes
#                         using under 25% of the CPUs); 0 disables the wait
#
# Progress goes to stderr; the only file written outside build/ is
# docs/BENCHMARKS.md (between its section markers) and docs/bench-runtime.svg.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

log() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }

go_bin=/usr/lib/go-1.19/bin/go
bin_dir=$root/build/release/bin
out_dir=$root/build/bench
doc=$root/docs/BENCHMARKS.md

ensure_doc() {
  mkdir -p "$root/docs"
  if [[ ! -f $doc ]]; then
    cat >"$doc" <<'EOF'
# Benchmarks

Every figure here is written by `scripts/bench.sh` (one section per component)
from runs on the project's 2-core build machine. Ratios are weft / peer:
below 1.0 weft is faster (or leaner). Rerun the script to refresh a section;
it replaces the text between the section's markers and leaves the rest.
EOF
  fi
}

build_release() {
  log "configuring and building the release preset (target $1)"
  cmake --preset release >/dev/null
  cmake --build --preset release -j "$(nproc)" --target "$1" >&2
}

build_go_peer() {
  [[ -x $go_bin ]] || die "Go 1.19 not found at $go_bin; run scripts/bootstrap.sh (package golang-1.19-go)"
  log "building the Go peer (bench/peers/go)"
  mkdir -p "$bin_dir" "$root/build/go-cache" "$root/build/gopath"
  (cd "$root/bench/peers/go" &&
    GOPROXY=off GOFLAGS=-mod=mod GO111MODULE=on GOCACHE="$root/build/go-cache" \
      GOPATH="$root/build/gopath" "$go_bin" build -trimpath -o "$bin_dir/weft-bench-go" .)
}

# Runs one benchmark binary; prints its metric (the number after = on its
# single output line) and the CPU seconds (user + system, all threads) it
# used, or "failed failed". Exit 128+N means killed by signal N (139: SIGSEGV).
run_one() {
  local label=$1 bin=$2 case_name=$3 n=$4 line value status=0 cpu
  # getrusage() gives the CPU time of the reaped child to the microsecond (/usr/bin/time rounds to 10 ms).
  line=$(python3 - "$out_dir/last-cpu.txt" "$bin" "$case_name" "$n" 2>"$out_dir/last-stderr.txt" <<'PYTHON'
import os, signal, sys
# posix_spawn + wait4: the rusage is the benchmark's own (a forked Python child
# would add its pre-exec time to RUSAGE_CHILDREN).
read_end, write_end = os.pipe()
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ,
                     file_actions=[(os.POSIX_SPAWN_DUP2, write_end, 1),
                                   (os.POSIX_SPAWN_CLOSE, read_end)])
os.close(write_end)
def timed_out(*_):
    os.kill(pid, signal.SIGKILL)
    print("timed out after 300 s", file=sys.stderr)
signal.signal(signal.SIGALRM, timed_out)
signal.alarm(300)
out = b""
while chunk := os.read(read_end, 4096):
    out += chunk
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(f"{usage.ru_utime + usage.ru_stime:.6f}\n")
sys.stdout.write(out.decode())
sys.exit(os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
PYTHON
) || status=$?
  if ((status == 0)); then
    value=${line##*=}
    if [[ $line == "$case_name n=$n "* && $value =~ ^[0-9.]+$ ]]; then
      cpu=$(cat "$out_dir/last-cpu.txt")
      printf '%s %s\n' "$value" "$cpu"
      return
    fi
    log "$label $case_name printed an unexpected line: $line"
  else
    log "$label $case_name failed (exit $status): $(tail -n 3 "$out_dir/last-stderr.txt" | tr '\n' ' ')"
  fi
  printf 'failed failed\n'
}

# Percentage of all CPUs busy over a short sample (from /proc/stat).
cpu_busy_percent() {
  local a b
  read -r -a a < <(head -n 1 /proc/stat)
  sleep 0.3
  read -r -a b < <(head -n 1 /proc/stat)
  local total=0 idle i
  for ((i = 1; i < ${#a[@]}; i++)); do total=$((total + b[i] - a[i])); done
  idle=$((b[4] - a[4] + b[5] - a[5]))
  ((total > 0)) || { echo 0; return; }
  echo $(((total - idle) * 100 / total))
}

# Waits (up to WEFT_BENCH_QUIET_WAIT seconds) until other processes use under
# 25% of the CPUs; prints the busy percentage last seen.
wait_for_quiet() {
  local budget=${WEFT_BENCH_QUIET_WAIT:-30} busy start=$SECONDS
  busy=$(cpu_busy_percent)
  while ((busy >= 25 && SECONDS - start < budget)); do
    sleep 1
    busy=$(cpu_busy_percent)
  done
  echo "$busy"
}

# Runs every case, Go and weft interleaved; writes build/bench/runtime-runs.tsv
# and the facts about the run in build/bench/runtime-meta.env.
run_runtime_cases() {
  if [[ -z ${WEFT_BENCH_NO_BUILD:-} ]]; then
    build_release weft-bench-runtime
    build_go_peer
  fi
  [[ -x $bin_dir/weft-bench-runtime ]] || die "build/release/bin/weft-bench-runtime was not built"
  [[ -x $bin_dir/weft-bench-go ]] || die "build/release/bin/weft-bench-go was not built"
  mkdir -p "$out_dir"
  printf 'case\tn\trun\tgo\tweft\tbusy_before\tgo_cpu_s\tweft_cpu_s\n' >"$results"

  export GOMAXPROCS=$workers WEFT_WORKERS=$workers
  local load_before
  load_before=$(cut -d ' ' -f 1-3 /proc/loadavg)
  log "runtime: $runs runs per case, interleaved, GOMAXPROCS = WEFT_WORKERS = $workers"
  local run case_name n go_value weft_value busy go_cpu weft_cpu
  for ((run = 1; run <= runs; run++)); do
    for case_name in $cases; do
      [[ -n ${size[$case_name]:-} ]] || die "unknown case $case_name"
      n=$((size[$case_name] / scale))
      busy=$(wait_for_quiet)
      # Alternate which binary goes first so neither always gets a cold or warm machine.
      if ((run % 2)); then
        read -r go_value go_cpu < <(run_one go "$bin_dir/weft-bench-go" "$case_name" "$n")
        read -r weft_value weft_cpu < <(run_one weft "$bin_dir/weft-bench-runtime" "$case_name" "$n")
      else
        read -r weft_value weft_cpu < <(run_one weft "$bin_dir/weft-bench-runtime" "$case_name" "$n")
        read -r go_value go_cpu < <(run_one go "$bin_dir/weft-bench-go" "$case_name" "$n")
      fi
      log "run $run/$runs  $case_name n=$n  go=$go_value  weft=$weft_value  (CPU busy before: $busy%)"
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$case_name" "$n" "$run" "$go_value" "$weft_value" "$busy" \
        "$go_cpu" "$weft_cpu" >>"$results"
    done
  done

  local compiler
  compiler=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' build/release/CMakeCache.txt)
  {
    printf 'BENCH_WORKERS=%q\n' "$workers"
    printf 'BENCH_RUNS=%q\n' "$runs"
    printf 'BENCH_QUIET_WAIT=%q\n' "${WEFT_BENCH_QUIET_WAIT:-30}"
    printf 'BENCH_LOAD=%q\n' "$load_before before, $(cut -d ' ' -f 1-3 /proc/loadavg) after"
    printf 'BENCH_DATE=%q\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
    printf 'BENCH_MACHINE=%q\n' "$(lscpu | sed -n 's/^Model name: *//p' | head -n 1), $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GiB RAM", $2/1048576}' /proc/meminfo), Linux $(uname -r)"
    printf 'BENCH_GO=%q\n' "$("$go_bin" version)"
    printf 'BENCH_COMPILER=%q\n' "$("${compiler:-g++}" --version | head -n 1) (release preset: $(sed -n 's/^CMAKE_CXX_FLAGS_RELEASE:[A-Z]*=//p' build/release/CMakeCache.txt))"
    printf 'BENCH_COMMIT=%q\n' "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- include src bench 2>/dev/null || echo '+local changes')"
  } >"$meta"
}

section_runtime() {
  local workers=${WEFT_WORKERS:-$(nproc)}
  local runs=${WEFT_BENCH_RUNS:-7}
  local scale=${WEFT_BENCH_SCALE:-1}
  local cases=${WEFT_BENCH_CASES:-"pingpong prodcons spawn select idle"}
  declare -A size=([pingpong]=1000000 [prodcons]=4000000 [spawn]=1000000 [select]=1000000 [idle]=100000)

  local results=$out_dir/runtime-runs.tsv meta=$out_dir/runtime-meta.env
  if [[ -n ${WEFT_BENCH_REPORT_ONLY:-} ]]; then
    [[ -f $results && -f $meta ]] || die "no earlier runs in build/bench; run without WEFT_BENCH_REPORT_ONLY first"
    log "runtime: rewriting the report from the runs in build/bench (no new runs)"
  else
    run_runtime_cases
  fi
  ensure_doc
  set -a
  # shellcheck disable=SC1090
  source "$meta"
  set +a
  BENCH_RESULTS=$results BENCH_DOC=$doc BENCH_SVG=$root/docs/bench-runtime.svg \
    python3 - <<'PYTHON'
import os, re, statistics, html

env = os.environ
rows = {}
order = []
busy = []
with open(env["BENCH_RESULTS"]) as f:
    next(f)
    for line in f:
        fields = line.rstrip("\n").split("\t")
        case, n, _run, go, weft, busy_before = fields[:6]
        go_cpu, weft_cpu = (fields[6:8] + ["failed", "failed"])[:2]
        busy.append(int(busy_before))
        if case not in rows:
            rows[case] = {"n": n, "go": [], "weft": [], "failed": 0, "go_failed": 0, "weft_failed": 0,
                          "go_cpu": [], "weft_cpu": []}
            order.append(case)
        for key, value in (("go_cpu", go_cpu), ("weft_cpu", weft_cpu)):
            if value != "failed":
                rows[case][key].append(float(value) * 1e9 / int(n))
        for key, value in (("go", go), ("weft", weft)):
            if value == "failed":
                rows[case]["failed"] += 1
                rows[case][key + "_failed"] += 1
            else:
                rows[case][key].append(float(value))

targets = {"idle": 0.1}
units = {"idle": "bytes/task"}

def fmt(v, case):
    if v is None:
        return "failed"
    return f"{v:,.0f}" if case == "idle" else f"{v:,.1f}"

table = []
chart = []
for case in order:
    r = rows[case]
    go = statistics.median(r["go"]) if r["go"] else None
    weft = statistics.median(r["weft"]) if r["weft"] else None
    target = targets.get(case, 0.5)
    ratio = weft / go if go and weft is not None else None
    if ratio is None:
        verdict = "no result (run failed)"
    elif ratio <= target:
        verdict = "target met"
    elif ratio < 1.0:
        verdict = "faster than Go, target missed: see profile notes" if case != "idle" else "leaner than Go, target missed"
    else:
        verdict = "**worse than Go**"
    for side in ("go", "weft"):
        if r[side + "_failed"]:
            verdict += f"; **{r[side + '_failed']} of {r[side + '_failed'] + len(r[side])} {'Go' if side == 'go' else 'weft'} runs failed**"
    unit = units.get(case, "ns/op")
    spread = ""
    if len(r["weft"]) > 1:
        spread = f"{fmt(min(r['weft']), case)}–{fmt(max(r['weft']), case)}"
    gospread = ""
    if len(r["go"]) > 1:
        gospread = f"{fmt(min(r['go']), case)}–{fmt(max(r['go']), case)}"
    table.append(
        f"| {case} | {int(r['n']):,} | {unit} | {fmt(go, case)} | {fmt(weft, case)} | "
        f"{'–' if ratio is None else f'{ratio:.2f}'} | ≤ {target} | {verdict} | {gospread} | {spread} |")
    chart.append((case, ratio, target))

raw_rows = []
with open(env["BENCH_RESULTS"]) as f:
    next(f)
    for line in f:
        fields = line.rstrip("\n").split("\t") + ["", ""]
        case, _n, run, go, weft, busy_before, go_cpu, weft_cpu = fields[:8]
        raw_rows.append(f"| {case} | {run} | {go} | {weft} | {go_cpu} | {weft_cpu} | {busy_before}% |")

cpu_table = []
for case in order:
    r = rows[case]
    if case == "idle" or not r["go_cpu"] or not r["weft_cpu"]:
        continue
    go_cpu = statistics.median(r["go_cpu"])
    weft_cpu = statistics.median(r["weft_cpu"])
    cpu_table.append(f"| {case} | {go_cpu:,.1f} | {weft_cpu:,.1f} | {weft_cpu / go_cpu:.2f} |")
cpu_section = ""
if cpu_table:
    cpu_section = """
CPU time per operation (user + system of all threads, from the kernel's accounting
via `getrusage`; medians). This counts the work each runtime does, spinning included, and
is less disturbed than wall time by other processes on the machine; it is not the
target metric.

| case | Go CPU ns/op | weft CPU ns/op | weft/Go |
|---|---:|---:|---:|
""" + "\n".join(cpu_table) + "\n"

commands = "\n".join([
    f"GOMAXPROCS={env['BENCH_WORKERS']} build/release/bin/weft-bench-go CASE N",
    f"WEFT_WORKERS={env['BENCH_WORKERS']} build/release/bin/weft-bench-runtime CASE N",
])
failed = sum(r["failed"] for r in rows.values())
section = f"""<!-- runtime:begin -->
## Runtime: weft vs Go

Written by `scripts/bench.sh runtime` on {env['BENCH_DATE']} (weft commit {env['BENCH_COMMIT']}).

- Machine: {env['BENCH_MACHINE']}.
- Go: {env['BENCH_GO']}, GOMAXPROCS={env['BENCH_WORKERS']}.
- weft: {env['BENCH_COMPILER']}, {env['BENCH_WORKERS']} worker threads.
- Load average (1, 5, 15 min) around the runs: {env['BENCH_LOAD']}. The machine is
  shared: other work running at the same time slows both sides and widens the spread.
  Before each Go/weft pair the script waits (up to {env.get('BENCH_QUIET_WAIT', '30')} s) for the CPUs to be
  under 25% busy; CPU busy just before the pairs: median {statistics.median(busy):.0f}%, max {max(busy)}%.
- Method: {env['BENCH_RUNS']} runs of each binary per case, Go and weft interleaved
  (alternating which goes first); the table shows medians and the min–max of the runs.
  Every run is a fresh process. ns/op is wall time per round trip (pingpong),
  per item (prodcons, select) or per task spawned and joined (spawn); idle is RSS
  growth per parked task.{f' {failed} run(s) failed and are left out.' if failed else ''}

| case | N | unit | Go median | weft median | weft/Go | target | verdict | Go range | weft range |
|---|---:|---|---:|---:|---:|---:|---|---:|---:|
""" + "\n".join(table) + "\n" + cpu_section + f"""
![weft/Go ratio per case](bench-runtime.svg)

Commands (N as in the table; CASE is pingpong, prodcons, spawn, select or idle):

```
{commands}
```

<details><summary>Every run (also in build/bench/runtime-runs.tsv)</summary>

| case | run | Go | weft | Go CPU s | weft CPU s | CPU busy before |
|---|---:|---:|---:|---:|---:|---:|
""" + "\n".join(raw_rows) + """

</details>
"""

path = env["BENCH_DOC"]
text = open(path).read()
begin, end = "<!-- runtime:begin -->", "<!-- runtime:end -->"
notes_begin, notes_end = "<!-- runtime-notes:begin -->", "<!-- runtime-notes:end -->"
notes = ""
if begin in text and end in text:
    head, rest = text.split(begin, 1)
    old, tail = rest.split(end, 1)
    m = re.search(re.escape(notes_begin) + ".*?" + re.escape(notes_end), old, re.S)
    if m:
        notes = m.group(0) + "\n"
else:
    head, tail = text.rstrip("\n") + "\n\n", "\n"
if not notes:
    notes = f"{notes_begin}\n{notes_end}\n"
text = head + section + "\n" + notes + end + tail
with open(path, "w") as f:
    f.write(text)

# Horizontal bar chart of the ratios, with each case's target and the 1.0 line.
width, left, right, top, bar, gap = 720, 110, 40, 56, 26, 14
height = top + len(chart) * (bar + gap) + 50
values = [r for _, r, _ in chart if r is not None]
scale_max = max([1.2] + [v * 1.1 for v in values])
plot = width - left - right
x = lambda v: left + plot * v / scale_max
out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
       f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13">',
       f'<rect width="{width}" height="{height}" fill="white"/>',
       f'<text x="{left}" y="22" font-size="15" font-weight="bold">weft / Go, lower is better</text>',
       f'<text x="{left}" y="40" fill="#555">{html.escape(env["BENCH_DATE"])}, {env["BENCH_WORKERS"]} workers, medians of {env["BENCH_RUNS"]} runs; ticks mark each target</text>']
step = 0.25 if scale_max <= 2.5 else 0.5 if scale_max <= 5 else 1.0
t = 0.0
axis_y = top + len(chart) * (bar + gap)
while t <= scale_max + 1e-9:
    out.append(f'<line x1="{x(t):.1f}" y1="{top - 6}" x2="{x(t):.1f}" y2="{axis_y}" stroke="#e3e3e3"/>')
    out.append(f'<text x="{x(t):.1f}" y="{axis_y + 16}" text-anchor="middle" fill="#555">{t:g}</text>')
    t += step
for i, (case, ratio, target) in enumerate(chart):
    y = top + i * (bar + gap)
    out.append(f'<text x="{left - 8}" y="{y + bar * 0.7:.1f}" text-anchor="end">{case}</text>')
    if ratio is None:
        out.append(f'<text x="{left + 6}" y="{y + bar * 0.7:.1f}" fill="#b00">run failed</text>')
    else:
        color = "#2e8b57" if ratio <= target else "#e69500" if ratio < 1.0 else "#c0392b"
        out.append(f'<rect x="{left}" y="{y}" width="{max(1.0, x(ratio) - left):.1f}" height="{bar}" fill="{color}"/>')
        out.append(f'<text x="{x(ratio) + 5:.1f}" y="{y + bar * 0.7:.1f}">{ratio:.2f}</text>')
    out.append(f'<line x1="{x(target):.1f}" y1="{y - 3}" x2="{x(target):.1f}" y2="{y + bar + 3}" stroke="black" stroke-width="2"/>')
out.append(f'<line x1="{x(1.0):.1f}" y1="{top - 6}" x2="{x(1.0):.1f}" y2="{axis_y}" stroke="#c0392b" stroke-dasharray="5,4"/>')
out.append(f'<text x="{x(1.0) + 4:.1f}" y="{top - 10}" fill="#c0392b">Go = 1.0</text>')
out.append(f'<text x="{left}" y="{axis_y + 36}" fill="#555">green: target met; orange: faster than Go, target missed; red: worse than Go</text>')
out.append("</svg>")
with open(env["BENCH_SVG"], "w") as f:
    f.write("\n".join(out) + "\n")
print("\n".join(table))
PYTHON
  log "runtime: wrote docs/BENCHMARKS.md (runtime section) and docs/bench-runtime.svg"
}

section_delegate() {
  local name=$1 script=$root/scripts/bench-$1.sh
  shift
  [[ -f $script ]] || die "scripts/bench-$name.sh does not exist yet (it is written by the $name component); nothing to run for '$name'"
  log "$name: running scripts/bench-$name.sh"
  bash "$script" "$@"
}

main() {
  local section=${1:-all}
  case $section in
    runtime) section_runtime ;;
    ring | lock) shift; section_delegate "$section" "$@" ;;
    all)
      section_runtime
      for other in ring lock; do
        if [[ -f $root/scripts/bench-$other.sh ]]; then
          section_delegate "$other"
        else
          log "$other: scripts/bench-$other.sh not present, skipping"
        fi
      done
      ;;
    -h | --help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//' ;;
    *) die "unknown section '$section'; use runtime, ring, lock or no argument for all" ;;
  esac
}

main "$@"
