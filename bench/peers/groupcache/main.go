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
	budget := 300 * time.Millisecond
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
		lookups := 0
		start := time.Now()
		for time.Since(start) < budget {
			for _, key := range keys {
				sink += len(ring.Get(key))
			}
			lookups += len(keys)
		}
		elapsed := time.Since(start)
		fmt.Printf("lookup\tgroupcache-consistenthash\t%d\t%.2f\n", n, float64(elapsed.Nanoseconds())/float64(lookups))
	}
}
