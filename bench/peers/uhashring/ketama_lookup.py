#!/usr/bin/python3
"""Peer: python3-uhashring's ketama ring (HashRing.get_node).

Same keys ("key:<i>", i < 65536) and nodes ("10.0.<i/250>.<i%250>:11211") as
weft-bench-ring. Prints: lookup <tab> uhashring-ketama <tab> nodes <tab> ns."""
import sys
import time

from uhashring import HashRing


def main() -> None:
    budget = 0.05 if "--quick" in sys.argv else 0.5
    keys = [f"key:{i}" for i in range(65536)]
    for n in (10, 100, 1000, 10000):
        nodes = {f"10.0.{i // 250}.{i % 250}:11211": {"hostname": f"10.0.{i // 250}.{i % 250}",
                                                     "port": 11211, "weight": 1}
                 for i in range(n)}
        ring = HashRing(nodes=nodes, hash_fn="ketama")
        # Best of five rounds (one pass each at least), as weft-bench-ring does.
        best = float("inf")
        for _ in range(5):
            lookups = 0
            start = time.perf_counter()
            while True:
                for key in keys:
                    ring.get_node(key)
                lookups += len(keys)
                if time.perf_counter() - start >= budget / 5:
                    break
            best = min(best, (time.perf_counter() - start) * 1e9 / lookups)
        print(f"lookup\tuhashring-ketama\t{n}\t{best:.2f}", flush=True)


if __name__ == "__main__":
    main()
