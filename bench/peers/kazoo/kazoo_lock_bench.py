#!/usr/bin/env python3
"""kazoo's Lock against one ZooKeeper server, for scripts/bench-zk.sh.

    kazoo_lock_bench.py HOST:PORT CHROOT [ITERATIONS]

Prints "key value" lines (microseconds): kazoo Lock acquire+release, and
kazoo's raw create + get_children + delete (the floor, from Python); and the
requests the server received per Lock acquire+release (its "srvr" packet
counter, so kazoo's own count is not trusted; the odd ping is included).
"""
import statistics
import sys
import time

from kazoo.client import KazooClient


def summary(samples):
    samples = sorted(samples)
    return (statistics.median(samples), statistics.fmean(samples),
            samples[min(len(samples) - 1, len(samples) * 99 // 100)], len(samples))


def received(client):
    """The server's count of packets received (all clients: run alone)."""
    for line in client.command(b"srvr").splitlines():
        if line.startswith("Received:"):
            return int(line.split(":")[1])
    return 0


def main():
    hosts, chroot = sys.argv[1], sys.argv[2]
    iterations = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    client = KazooClient(hosts=hosts, timeout=10.0)
    client.start(timeout=15)
    lock_path = chroot.rstrip("/") + "/bench-kazoo-lock"
    raw_dir = chroot.rstrip("/") + "/bench-kazoo-raw"
    client.ensure_path(lock_path)
    client.ensure_path(raw_dir)

    lock = client.Lock(lock_path, "bench")
    samples = []
    before = 0
    for i in range(iterations + 50):
        if i == 50:
            before = received(client)
        start = time.perf_counter()
        lock.acquire()
        lock.release()
        if i >= 50:
            samples.append((time.perf_counter() - start) * 1e6)
    # The srvr command's own connection counts as one packet.
    requests = (received(client) - before - 1) / iterations
    median, mean, p99, n = summary(samples)
    print("kazoo_median %.1f\nkazoo_p99 %.1f\nkazoo_requests %.2f" % (median, p99, requests))

    samples = []
    for i in range(iterations + 50):
        start = time.perf_counter()
        path = client.create(raw_dir + "/n-", b"x", ephemeral=True, sequence=True)
        client.get_children(raw_dir)
        client.delete(path)
        if i >= 50:
            samples.append((time.perf_counter() - start) * 1e6)
    median, mean, p99, n = summary(samples)
    print("kazoo_raw_median %.1f\nkazoo_raw_p99 %.1f" % (median, p99))
    client.stop()
    client.close()


if __name__ == "__main__":
    main()
