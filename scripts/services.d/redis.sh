#!/usr/bin/env bash
# Real redis-server processes for the Redis lock store tests, on loopback.
#   scripts/services.d/redis.sh start DIR   # appends WEFT_TEST_REDIS* exports to DIR/env
#   scripts/services.d/redis.sh stop DIR
#
# Starts, each in DIR/redis/<port>/ with persistence off:
#   - one server for redis:// tests, with an ACL user (weft_acl) besides the
#     passwordless default user;
#   - one server whose default user needs a password (requirepass);
#   - five independent servers for redlock:// tests.
# Fault tests never restart these shared servers (ctest runs tests in
# parallel): they start private ones with $WEFT_TEST_REDIS_SERVER.
set -euo pipefail
action=${1:?usage: redis.sh start|stop DIR}
dir=${2:?usage: redis.sh start|stop DIR}
root="$dir/redis"
server=$(command -v redis-server || true)
cli=$(command -v redis-cli || true)

# A free loopback TCP port (the kernel picks it; a small race is acceptable here).
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# start_one PORT [extra redis-server arguments...]
start_one() {
  local port=$1
  shift
  mkdir -p "$root/$port"
  "$server" --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize yes --dir "$root/$port" --pidfile "$root/$port/redis.pid" \
    --logfile "$root/$port/redis.log" --protected-mode no "$@" >/dev/null
  echo "$port" >> "$root/ports"
}

wait_ready() {
  local port=$1 password=${2:-}
  for _ in $(seq 1 100); do
    if [[ -n $password ]]; then
      if REDISCLI_AUTH=$password "$cli" -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then return 0; fi
    elif "$cli" -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then
      return 0
    fi
    sleep 0.05
  done
  echo "redis.sh: redis-server on port $port did not answer PING; see $root/$port/redis.log" >&2
  return 1
}

case $action in
  start)
    if [[ -z $server || -z $cli ]]; then
      echo "redis.sh: redis-server and redis-cli are needed (Debian packages redis-server, redis-tools; run scripts/bootstrap.sh)" >&2
      exit 69
    fi
    mkdir -p "$root"
    : > "$root/ports"
    acl_password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
    auth_password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')

    single=$(free_port)
    start_one "$single" --user weft_acl on ">$acl_password" '~*' '&*' '+@all'
    auth=$(free_port)
    start_one "$auth" --requirepass "$auth_password"
    redlock_ports=()
    for _ in 1 2 3 4 5; do
      p=$(free_port)
      start_one "$p"
      redlock_ports+=("$p")
    done

    wait_ready "$single"
    wait_ready "$auth" "$auth_password"
    for p in "${redlock_ports[@]}"; do wait_ready "$p"; done

    redlock_hosts=$(printf '127.0.0.1:%s,' "${redlock_ports[@]}")
    redlock_hosts=${redlock_hosts%,}
    {
      echo "export WEFT_TEST_REDIS=redis://127.0.0.1:$single"
      echo "export WEFT_TEST_REDIS_PORT=$single"
      echo "export WEFT_TEST_REDIS_ACL_USER=weft_acl"
      echo "export WEFT_TEST_REDIS_ACL_PASSWORD=$acl_password"
      echo "export WEFT_TEST_REDIS_AUTH=redis://127.0.0.1:$auth"
      echo "export WEFT_TEST_REDIS_AUTH_PASSWORD=$auth_password"
      echo "export WEFT_TEST_REDLOCK=redlock://$redlock_hosts"
      echo "export WEFT_TEST_REDLOCK_PORTS='${redlock_ports[*]}'"
      echo "export WEFT_TEST_REDIS_SERVER=$server"
      echo "export WEFT_TEST_REDIS_CLI=$cli"
      echo "export WEFT_TEST_REDIS_DIR=$root"
    } >> "$dir/env"
    ;;
  stop)
    [[ -f $root/ports ]] || exit 0
    while read -r port; do
      pidfile="$root/$port/redis.pid"
      if [[ -f $pidfile ]]; then
        pid=$(cat "$pidfile")
        kill "$pid" 2>/dev/null || true
        # Gone, or a zombie nobody reaps (some containers' PID 1 does not).
        for _ in $(seq 1 50); do
          state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || echo X)
          [[ $state == X || $state == Z ]] && break
          sleep 0.05
        done
        kill -9 "$pid" 2>/dev/null || true
      fi
    done < "$root/ports"
    rm -f "$root/ports"
    ;;
  *) echo "redis.sh: unknown action '$action' (start|stop)" >&2; exit 64 ;;
esac
