#!/usr/bin/env bash
# Installs every Debian package that weft's build, tests and benchmarks need.
# Idempotent: when everything is present it only checks and exits.
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config git clang-14 clang-format clang-tidy
  libclang-rt-14-dev
  # libraries
  libfmt-dev libcli11-dev libxxhash-dev libssl-dev libhiredis-dev libzookeeper-mt-dev
  libgtest-dev libgmock-dev libbenchmark-dev libmemcached-dev
  # real servers for tests
  redis-server redis-tools zookeeperd etcd-server iproute2 iptables procps util-linux
  # benchmark peers and tools
  golang-1.19-go golang-github-golang-groupcache-dev python3 python3-redis python3-kazoo
  python3-uhashring hyperfine time
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

if [[ $(id -u) -ne 0 ]]; then
  echo "bootstrap: missing packages: ${missing[*]}" >&2
  echo "bootstrap: run as root, or install them with: sudo apt-get install ${missing[*]}" >&2
  exit 69
fi

echo "bootstrap: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Debian's service packages try to start their daemons; tests start their own on loopback.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
chmod +x /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
