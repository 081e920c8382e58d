#!/usr/bin/env bash
# Builds the libFuzzer targets (cmake --preset fuzz: clang 14, ASan; UBSan is left out because clang 14 fails
# with "Cannot represent a difference across sections" on coroutine code when UBSan and
# coverage instrumentation are combined)
# and runs each for SECONDS (default 60) over a scratch copy of its committed
# seed corpus (tests/fuzz/corpus/<target>/). New interesting inputs stay in
# build/fuzz/corpus/<target>/; crashes are saved as build/fuzz/crashes/<target>/crash-*
# and make the script exit 1 (turn each into a regression test, then add it
# to the committed corpus).
#
#   scripts/fuzz.sh            # 60 s per target
#   scripts/fuzz.sh 600        # 10 min per target
#   scripts/fuzz.sh --smoke    # CI: each target over its corpus plus 2000 runs (ctest -L fuzz)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
targets=(fuzz_store_uri fuzz_duration fuzz_node_list fuzz_file_name_encoding fuzz_cli_arguments)
jobs="${WEFT_FUZZ_JOBS:-2}"

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j"$jobs" --target "${targets[@]}"

if [[ "$seconds" == "--smoke" ]]; then
  exec ctest --preset fuzz -j"$jobs"
fi

failed=0
for target in "${targets[@]}"; do
  work="build/fuzz/corpus/$target"
  crashes="build/fuzz/crashes/$target"
  mkdir -p "$work" "$crashes"
  echo "== $target: ${seconds}s"
  if ! "build/fuzz/bin/$target" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
       -artifact_prefix="$crashes/" -print_final_stats=1 "$work" "tests/fuzz/corpus/$target" \
       2> "build/fuzz/$target.log"; then
    echo "   FAILED: see build/fuzz/$target.log and $crashes/"
    tail -n 30 "build/fuzz/$target.log"
    failed=1
  else
    grep -E "stat::number_of_executed_units|cov:" "build/fuzz/$target.log" | tail -n 2 | sed 's/^/   /'
  fi
done
exit "$failed"
