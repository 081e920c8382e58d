#!/usr/bin/env bash
# Redis server faults for weft-fault, on private redis-servers (the shared
# ones from scripts/services.sh are never restarted):
#   redis_restart.sh run DRIVER MODE [weft-fault run flags...]
#     MODE volatile | persistent: one server (no persistence / appendonly with
#       fsync always), SIGKILLed and started again; store redis://
#     MODE redlock-minority | redlock-majority: five servers, of which 2 / 3
#       are SIGKILLed and started again; store redlock://
#   Starts the servers, runs DRIVER with --store and --fault command, stops
#   the servers, and exits with DRIVER's status.
#   redis_restart.sh kill DIR K | start DIR     (the nemesis's commands)
set -euo pipefail
action=${1:?usage: redis_restart.sh run DRIVER MODE ... | kill DIR K | start DIR}

start_server() {  # start_server DIR: launch it with its saved arguments, wait for PONG
  local dir=$1
  [[ -e $dir/pid ]] && kill -0 "$(cat "$dir/pid")" 2>/dev/null && return 0
  # shellcheck disable=SC2046
  "$(cat "$dir/../server")" $(cat "$dir/args") --daemonize yes --pidfile "$dir/pid" --dir "$dir" \
    --logfile "$dir/log" >/dev/null
  for _ in $(seq 1 200); do
    [[ $("$(cat "$dir/../cli")" -p "$(cat "$dir/port")" ping 2>/dev/null || true) == PONG ]] && return 0
    sleep 0.05
  done
  echo "redis_restart.sh: the server in $dir did not come back (see $dir/log)" >&2
  return 1
}

case $action in
  run)
    driver=${2:?driver}; mode=${3:?mode}; shift 3
    server=${WEFT_TEST_REDIS_SERVER:?WEFT_TEST_REDIS_SERVER is not set: run scripts/services.sh start DIR and source DIR/env}
    cli=${WEFT_TEST_REDIS_CLI:?WEFT_TEST_REDIS_CLI is not set}
    root=$(mktemp -d -t weft-fault-redis.XXXXXX)
    echo "$server" > "$root/server"; echo "$cli" > "$root/cli"
    case $mode in
      volatile|persistent) count=1; victims=1 ;;
      redlock-minority) count=5; victims=2 ;;
      redlock-majority) count=5; victims=3 ;;
      *) echo "redis_restart.sh: unknown mode $mode" >&2; exit 64 ;;
    esac
    persistence='--save "" --appendonly no'
    [[ $mode == persistent ]] && persistence='--save "" --appendonly yes --appendfsync always'
    trap 'for p in "$root"/s[0-9]*/pid; do [[ -e $p ]] && kill -KILL "$(cat "$p")" 2>/dev/null; done; rm -rf "$root"' EXIT
    hosts=""
    for i in $(seq 1 "$count"); do
      mkdir -p "$root/s$i"
      port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
      echo "$port" > "$root/s$i/port"
      echo "--port $port --bind 127.0.0.1 $persistence" > "$root/s$i/args"
      start_server "$root/s$i"
      hosts+="${hosts:+,}127.0.0.1:$port"
    done
    scheme=redis; [[ $count -gt 1 ]] && scheme=redlock
    self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
    status=0
    "$driver" run --store "$scheme://$hosts" --fault command --fault-name "$mode" \
      --inject "$self kill $root $victims" --heal "$self start $root" "$@" || status=$?
    exit $status
    ;;
  kill)
    root=${2:?dir}; victims=${3:-1}
    for i in $(seq 1 "$victims"); do
      pid=$(cat "$root/s$i/pid")
      kill -KILL "$pid"
      while kill -0 "$pid" 2>/dev/null; do sleep 0.01; done
      rm -f "$root/s$i/pid"
    done
    ;;
  start)
    for dir in "${2:?dir}"/s[0-9]*; do start_server "$dir"; done
    ;;
  *) echo "redis_restart.sh: unknown action $action" >&2; exit 64 ;;
esac
