#!/usr/bin/env bash
# ZooKeeper servers for the tests, on loopback, in DIR/zookeeper: one
# standalone server (integration tests) and a 3-node ensemble (fault tests).
# Runs Debian's ZooKeeper jars with `java` directly and our own configuration;
# the system service is never used.
#
#   zookeeper.sh start DIR        start both, wait until ready, append to DIR/env
#   zookeeper.sh stop DIR         kill every server started in DIR
#   zookeeper.sh leader DIR       print the ensemble member (1..3) that leads
#   zookeeper.sh kill DIR N [SIG] send SIG (default KILL) to ensemble member N
#   zookeeper.sh restart DIR N    start ensemble member N again (after a kill)
#   zookeeper.sh wait DIR         wait until the ensemble has a leader again
#
# DIR/env gets:
#   WEFT_TEST_ZK=zk://127.0.0.1:P/weft-test                 standalone
#   WEFT_TEST_ZK_ENSEMBLE=zk://127.0.0.1:P1,...,P3/weft-test  ensemble
#   WEFT_TEST_ZK_PORTS="P1 P2 P3"   client ports of members 1..3
#   WEFT_TEST_ZK_DIR=DIR/zookeeper  pid files are DIR/zookeeper/node-N/pid
#   WEFT_TEST_ZK_CONTROL=<this script>  for the subcommands above
# WEFT_ZK_FORCE_SYNC=no starts the servers without fsync per transaction
# (scripts/bench-zk.sh uses it to measure clients rather than the disk).
# WEFT_ZK_JVM_OPTS replaces the JVM options (the default favours a fast start
# for the tests: small heap, C1 JIT only; scripts/bench-zk.sh runs the JVM's
# own defaults, as a production server would). WEFT_ZK_ENSEMBLE=no starts the
# standalone server only (WEFT_TEST_ZK_ENSEMBLE and its kin are not written).
set -euo pipefail

action=${1:?usage: zookeeper.sh start|stop|leader|kill|restart|wait DIR [N]}
dir=${2:?usage: zookeeper.sh start|stop|leader|kill|restart|wait DIR [N]}
self=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
root=$dir/zookeeper
# The subcommands after start accept DIR or DIR/zookeeper (WEFT_TEST_ZK_DIR).
if [[ $action != start && ! -d $root && -d $dir/node-1 ]]; then root=$dir; fi

# The jars: zookeeper.jar's manifest names its dependencies by absolute path;
# slf4j-simple gives the server a logger (WARN and up) without log4j config.
find_jar() {
  local name=$1
  for d in /usr/share/java /usr/share/zookeeper/lib /usr/share/zookeeper; do
    [[ -e $d/$name ]] && { echo "$d/$name"; return 0; }
  done
  return 1
}

classpath() {
  local cp jar
  cp=$(find_jar zookeeper.jar) || { echo "zookeeper.sh: zookeeper.jar not found; install zookeeper (scripts/bootstrap.sh)" >&2; exit 69; }
  for jar in zookeeper-jute.jar slf4j-simple.jar; do
    if jar=$(find_jar "$jar"); then cp=$cp:$jar; fi
  done
  echo "$cp"
}

free_ports() {  # free_ports N: N distinct free TCP ports on 127.0.0.1
  python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

four_letter() {  # four_letter PORT WORD: the server's answer, or nothing
  python3 - "$1" "$2" <<'EOF' 2>/dev/null || true
import socket, sys
try:
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
    s.sendall(sys.argv[2].encode())
    out = b""
    while True:
        b = s.recv(4096)
        if not b:
            break
        out += b
    sys.stdout.write(out.decode(errors="replace"))
except OSError:
    pass
EOF
}

mode_of() { four_letter "$1" srvr | sed -n 's/^Mode: //p'; }

launch() {  # launch NODE_DIR: start one server from NODE_DIR/zoo.cfg
  local node=$1
  (
    cd "$node"
    # Close inherited descriptors above stderr (a test runner's output pipe,
    # say): a server that kept one would keep the runner waiting for EOF.
    for fd in /proc/$BASHPID/fd/*; do
      fd=${fd##*/}
      if ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null || true; fi
    done
    # setsid: a test's process-group signals never reach the servers.
    # shellcheck disable=SC2086
    setsid java ${WEFT_ZK_JVM_OPTS:--Xmx256m -Xms32m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xss512k} \
      -Dzookeeper.admin.enableServer=false \
      -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
      -Dorg.slf4j.simpleLogger.showDateTime=true \
      -cp "$(classpath)" org.apache.zookeeper.server.quorum.QuorumPeerMain "$node/zoo.cfg" \
      >"$node/server.log" 2>&1 </dev/null &
    echo $! >"$node/pid"
  )
}

write_config() {  # write_config NODE_DIR CLIENT_PORT [SERVER_LINES]
  local node=$1 port=$2 servers=${3:-}
  mkdir -p "$node/data"
  cat >"$node/zoo.cfg" <<EOF
# Written by scripts/services.d/zookeeper.sh for the weft tests.
tickTime=500
initLimit=20
syncLimit=4
minSessionTimeout=1000
maxSessionTimeout=60000
dataDir=$node/data
clientPort=$port
clientPortAddress=127.0.0.1
maxClientCnxns=0
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr,stat,mntr
autopurge.purgeInterval=0
preAllocSize=4096
snapCount=100000
forceSync=${WEFT_ZK_FORCE_SYNC:-yes}
electionPortBindRetry=100
$servers
EOF
}

wait_until() {  # wait_until SECONDS COMMAND...: poll until COMMAND succeeds
  local limit=$1; shift
  local end=$((SECONDS + limit))
  until "$@"; do
    ((SECONDS < end)) || return 1
    sleep 0.1
  done
}

standalone_ready() { [[ $(mode_of "$(cat "$root/standalone/port")") == standalone ]]; }

ensemble_leader() {  # prints N of the leader; fails when there is none
  local n port
  for n in 1 2 3; do
    port=$(cat "$root/node-$n/port")
    if [[ $(mode_of "$port") == leader ]]; then echo "$n"; return 0; fi
  done
  return 1
}

ensemble_ready() {  # a leader and every live member serving
  local n port live=0 serving=0 mode
  ensemble_leader >/dev/null || return 1
  for n in 1 2 3; do
    if kill -0 "$(cat "$root/node-$n/pid")" 2>/dev/null; then
      live=$((live + 1))
      port=$(cat "$root/node-$n/port")
      mode=$(mode_of "$port")
      [[ $mode == leader || $mode == follower ]] && serving=$((serving + 1))
    fi
  done
  ((serving == live))
}

case $action in
  start)
    command -v java >/dev/null || { echo "zookeeper.sh: java not found; run scripts/bootstrap.sh" >&2; exit 69; }
    # Servers left from an earlier start in the same DIR are stopped first.
    for pidfile in "$root"/*/pid; do
      [[ -e $pidfile ]] && kill -KILL "$(cat "$pidfile")" 2>/dev/null || true
    done
    rm -rf "$root"
    mkdir -p "$root"
    read -r -a ports <<<"$(free_ports 10)"
    # standalone
    write_config "$root/standalone" "${ports[0]}"
    echo "${ports[0]}" >"$root/standalone/port"
    # ensemble: member n has client port ports[n], peer ports[3+n], election ports[6+n]
    servers=""
    for n in 1 2 3; do
      servers+="server.$n=127.0.0.1:${ports[$((3 + n))]}:${ports[$((6 + n))]}"$'\n'
    done
    for n in 1 2 3; do
      write_config "$root/node-$n" "${ports[$n]}" "$servers"
      echo "$n" >"$root/node-$n/data/myid"
      echo "${ports[$n]}" >"$root/node-$n/port"
    done
    launch "$root/standalone"
    if [[ ${WEFT_ZK_ENSEMBLE:-yes} == no ]]; then
      for n in 1 2 3; do rm -rf "$root/node-$n"; done
      if ! wait_until 90 standalone_ready; then
        echo "zookeeper.sh: standalone server on ${ports[0]} not ready after 90 s; see $root/standalone/server.log" >&2
        exit 1
      fi
      echo "export WEFT_TEST_ZK=zk://127.0.0.1:${ports[0]}/weft-test" >>"$dir/env"
      echo "zookeeper: standalone on ${ports[0]} (no ensemble)" >&2
      exit 0
    fi
    for n in 1 2 3; do launch "$root/node-$n"; done
    if ! wait_until 90 standalone_ready; then
      echo "zookeeper.sh: standalone server on ${ports[0]} not ready after 90 s; see $root/standalone/server.log" >&2
      exit 1
    fi
    if ! wait_until 90 ensemble_ready; then
      echo "zookeeper.sh: ensemble on ${ports[1]},${ports[2]},${ports[3]} has no leader after 90 s; see $root/node-*/server.log" >&2
      exit 1
    fi
    {
      echo "export WEFT_TEST_ZK=zk://127.0.0.1:${ports[0]}/weft-test"
      echo "export WEFT_TEST_ZK_ENSEMBLE=zk://127.0.0.1:${ports[1]},127.0.0.1:${ports[2]},127.0.0.1:${ports[3]}/weft-test"
      echo "export WEFT_TEST_ZK_PORTS=\"${ports[1]} ${ports[2]} ${ports[3]}\""
      echo "export WEFT_TEST_ZK_DIR=$root"
      echo "export WEFT_TEST_ZK_CONTROL=$self"
    } >>"$dir/env"
    echo "zookeeper: standalone on ${ports[0]}, ensemble on ${ports[1]},${ports[2]},${ports[3]} (leader: $(ensemble_leader))" >&2
    ;;
  stop)
    [[ -d $root ]] || exit 0
    for pidfile in "$root"/*/pid; do
      [[ -e $pidfile ]] || continue
      kill -KILL "$(cat "$pidfile")" 2>/dev/null || true
      rm -f "$pidfile"
    done
    ;;
  leader)
    ensemble_leader
    ;;
  kill)
    n=${3:?usage: zookeeper.sh kill DIR N [SIGNAL]}
    kill "-${4:-KILL}" "$(cat "$root/node-$n/pid")"
    ;;
  restart)
    n=${3:?usage: zookeeper.sh restart DIR N}
    launch "$root/node-$n"
    ;;
  wait)
    wait_until 60 ensemble_ready || { echo "zookeeper.sh: ensemble has no leader after 60 s" >&2; exit 1; }
    ;;
  *) echo "zookeeper.sh: unknown action '$action'" >&2; exit 64 ;;
esac
