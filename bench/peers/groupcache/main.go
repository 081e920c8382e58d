// Peer: Go groupcache's consistenthash (Map.Get), 160 replicas per node,
// the default crc32 hash. Same keys ("key:<i>", i < 65536) and nodes
// ("10.0.<i/250>.<i%250>:11211") as weft-bench-ring. Prints:
//   lookup <tab> groupcache-consistenthash <tab> nodes <tab> ns
// Build: GOPATH=/usr/share/gocode GO111MODULE=off go build
package main

import (
	"fmt"
	"os"
	"time"

	"github.com/golang/groupcache/consistenthash"
)

var sink int

func main() {
	budget := 500 * time.Millisecond
	if len(os.Args) > 1 && os.Args[1] == "--quick" {
		budget = 50 * time.Millisecond
	}
	keys := make([]string, 65536)
	for i := range keys {
		keys[i] = fmt.Sprintf("key:%d", i)
	}
	for _, n := range []int{10, 100, 1000, 10000} {
		ring := consistenthash.New(160, nil)
		nodes := make([]string, n)
		for i := range nodes {
			nodes[i] = fmt.Sprintf("10.0.%d.%d:11211", i/250, i%250)
		}
		ring.Add(nodes...)
		// Best of five rounds (one pass each at least), as weft-bench-ring does.
		best := 1e300
		for round := 0; round < 5; round++ {
			lookups := 0
			start := time.Now()
			for {
				for _, key := range keys {
					sink += len(ring.Get(key))
				}
				lookups += len(keys)
				if time.Since(start) >= budget/5 {
					break
				}
			}
			ns := float64(time.Since(start).Nanoseconds()) / float64(lookups)
			if ns < best {
				best = ns
			}
		}
		fmt.Printf("lookup\tgroupcache-consistenthash\t%d\t%.2f\n", n, best)
	}
}
