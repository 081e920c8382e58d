#!/usr/bin/env bash
# Nemesis commands for weft-fault --fault command against the ZooKeeper
# ensemble of scripts/services.d/zookeeper.sh:
#   zk_leader.sh kill   # SIGKILL the current leader (remembers which one)
#   zk_leader.sh heal   # restart it and wait until the ensemble has a leader
set -euo pipefail
control=${WEFT_TEST_ZK_CONTROL:?WEFT_TEST_ZK_CONTROL is not set: run scripts/services.sh start DIR and source DIR/env}
dir=${WEFT_TEST_ZK_DIR:?WEFT_TEST_ZK_DIR is not set}
memory="$dir/weft-fault-killed-leader"
case ${1:?usage: zk_leader.sh kill|heal} in
  kill)
    leader=$("$control" leader "$dir")
    echo "$leader" > "$memory"
    "$control" kill "$dir" "$leader"
    ;;
  heal)
    "$control" restart "$dir" "$(cat "$memory")"
    "$control" wait "$dir"
    ;;
  *) echo "zk_leader.sh: unknown action $1" >&2; exit 64 ;;
esac
