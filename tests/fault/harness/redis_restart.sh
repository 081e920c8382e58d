#!/usr/bin/env bash
# Redis server restarts for weft-fault, on a private redis-server (the shared
# ones from scripts/services.sh are never restarted):
#   redis_restart.sh run DRIVER persistent|volatile [weft-fault run flags...]
#       starts a private server (persistent: appendonly, fsync always;
#       volatile: no persistence at all), runs DRIVER with --store pointing at
#       it and --fault command, SIGKILLing and restarting the server, then
#       stops it. Exits with DRIVER's status.
#   redis_restart.sh kill DIR | start DIR     (the nemesis's commands)
set -euo pipefail
action=${1:?usage: redis_restart.sh run DRIVER MODE ... | kill DIR | start DIR}

start_server() {  # start_server DIR: launch with the saved arguments, wait for PONG
  local dir=$1
  # shellcheck disable=SC2046
  "$(cat "$dir/server")" $(cat "$dir/args") --daemonize yes --pidfile "$dir/pid" --dir "$dir" \
    --logfile "$dir/log" >/dev/null
  for _ in $(seq 1 200); do
    [[ $("$(cat "$dir/cli")" -p "$(cat "$dir/port")" ping 2>/dev/null || true) == PONG ]] && return 0
    sleep 0.05
  done
  echo "redis_restart.sh: the server did not come back (see $dir/log)" >&2
  return 1
}

case $action in
  run)
    driver=${2:?driver}; mode=${3:?persistent|volatile}; shift 3
    server=${WEFT_TEST_REDIS_SERVER:?WEFT_TEST_REDIS_SERVER is not set: run scripts/services.sh start DIR and source DIR/env}
    cli=${WEFT_TEST_REDIS_CLI:?WEFT_TEST_REDIS_CLI is not set}
    dir=$(mktemp -d -t weft-fault-redis.XXXXXX)
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    echo "$server" > "$dir/server"; echo "$cli" > "$dir/cli"; echo "$port" > "$dir/port"
    case $mode in
      persistent) echo "--port $port --bind 127.0.0.1 --save '' --appendonly yes --appendfsync always" > "$dir/args" ;;
      volatile)   echo "--port $port --bind 127.0.0.1 --save '' --appendonly no" > "$dir/args" ;;
      *) echo "redis_restart.sh: mode is persistent or volatile" >&2; exit 64 ;;
    esac
    sed -i "s/''/\"\"/" "$dir/args"
    trap '[[ -e $dir/pid ]] && kill -KILL "$(cat "$dir/pid")" 2>/dev/null; rm -rf "$dir"' EXIT
    start_server "$dir"
    self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
    status=0
    "$driver" run --store "redis://127.0.0.1:$port" --fault command --fault-name "restart-$mode" \
      --inject "$self kill $dir" --heal "$self start $dir" "$@" || status=$?
    exit $status
    ;;
  kill)
    dir=${2:?dir}
    pid=$(cat "$dir/pid")
    kill -KILL "$pid"
    while kill -0 "$pid" 2>/dev/null; do sleep 0.01; done
    rm -f "$dir/pid"
    ;;
  start)
    start_server "${2:?dir}"
    ;;
  *) echo "redis_restart.sh: unknown action $action" >&2; exit 64 ;;
esac
