#!/usr/bin/env bash
# The README's test command: bootstrap, build, start every service the tests
# need, run every ctest test, stop the services. Exits non-zero on any failure.
#
#   ./scripts/test.sh            everything (what CI runs)
#   WEFT_TEST_PRESETS="asan" ./scripts/test.sh    only some presets
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/bootstrap.sh

jobs=$(nproc)
presets=${WEFT_TEST_PRESETS:-"asan tsan"}

# Real servers (Redis, ZooKeeper) on loopback, in a temporary directory; they
# export WEFT_TEST_* variables for the tests and are stopped on exit.
if [[ -x scripts/services.sh ]]; then
  services_dir=$(mktemp -d -t weft-services.XXXXXX)
  trap 'scripts/services.sh stop "$services_dir" || true; rm -rf "$services_dir"' EXIT
  scripts/services.sh start "$services_dir"
  # shellcheck disable=SC1091
  source "$services_dir/env"
fi

status=0
for preset in $presets; do
  echo "== $preset: configure and build ==" >&2
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  case $preset in
    asan)    labels='unit|integration|fault' ;;  # everything but the long stress runs
    tsan)    labels='unit|stress' ;;             # concurrency under ThreadSanitizer
    release) labels="" ;;                        # the CLI and benchmarks; tests run above
    *)       labels='.' ;;
  esac
  [[ -n $labels ]] || continue
  echo "== $preset: ctest -L '$labels' ==" >&2
  if ! ctest --preset "$preset" -L "$labels" -j "$jobs" --no-tests=error; then
    status=1
  fi
done
# Fuzz smoke: every libFuzzer target over its committed corpus (clang 14).
if [[ -z ${WEFT_TEST_PRESETS:-} ]]; then
  echo "== fuzz: smoke run over the committed corpora ==" >&2
  scripts/fuzz.sh --smoke || status=1
fi
exit $status
