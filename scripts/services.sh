#!/usr/bin/env bash
# Starts and stops the real servers the tests need, on loopback, in DIR.
#   scripts/services.sh start DIR   # writes DIR/env with WEFT_TEST_* exports
#   scripts/services.sh stop DIR
# Each engine has its own script in scripts/services.d/NAME.sh taking the same
# arguments; it appends its exports to DIR/env.
set -euo pipefail
cd "$(dirname "$0")/.."
action=${1:?usage: services.sh start|stop DIR}
dir=${2:?usage: services.sh start|stop DIR}
mkdir -p "$dir"
case $action in
  start)
    : > "$dir/env"
    for script in scripts/services.d/*.sh; do
      [[ -e $script ]] || continue
      echo "services: starting $(basename "$script" .sh)" >&2
      bash "$script" start "$dir"
    done
    ;;
  stop)
    for script in scripts/services.d/*.sh; do
      [[ -e $script ]] || continue
      bash "$script" stop "$dir" || true
    done
    ;;
  *) echo "services.sh: unknown action '$action' (start|stop)" >&2; exit 64 ;;
esac
