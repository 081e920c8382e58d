#!/usr/bin/python3
"""redis-py's Lock (python3-redis), uncontended acquire + release, for
scripts/bench-redis.sh. Prints "redispy_median X us" and "redispy_p99 X us".

    lock_bench.py HOST PORT [ROUNDS] [PER_ROUND]
"""
import statistics
import sys
import time

import redis


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 20
    per_round = int(sys.argv[4]) if len(sys.argv) > 4 else 500
    client = redis.Redis(host=host, port=port)
    lock = client.lock("weft:bench:redis-py", timeout=10)
    samples = []
    for round_number in range(-1, rounds):
        for _ in range(200 if round_number < 0 else per_round):
            start = time.perf_counter_ns()
            if not lock.acquire(blocking=True):
                sys.exit("redis-py could not acquire an uncontended lock")
            lock.release()
            if round_number >= 0:
                samples.append((time.perf_counter_ns() - start) / 1000.0)
    samples.sort()
    print(f"redispy_median {statistics.median(samples):.2f} us")
    print(f"redispy_p99 {samples[min(len(samples) - 1, len(samples) * 99 // 100)]:.2f} us")


if __name__ == "__main__":
    main()
