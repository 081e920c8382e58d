#!/usr/bin/env bash
# The README's first command: bootstrap, release build, then run the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/bootstrap.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"
if [[ -x build/release/bin/weft ]] && build/release/bin/weft demo --help >/dev/null 2>&1; then
  exec build/release/bin/weft demo "$@"
fi
exec build/release/bin/seed_pipeline "$@"
