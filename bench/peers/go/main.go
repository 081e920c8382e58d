// weft-bench-go: the Go reference for weft-bench-runtime.
//
// Usage: weft-bench-go CASE [N]
//
// Prints exactly one line, "CASE n=N ns_per_op=X" (or, for idle,
// "idle n=N bytes_per_task=X"). The cases are written the plain, idiomatic Go
// way so that weft is compared with Go as Go programmers use it.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// pingpong: two goroutines and an unbuffered channel each way; n round trips.
func pingpong(n int) time.Duration {
	ping := make(chan int)
	pong := make(chan int)
	var wg sync.WaitGroup
	wg.Add(2)
	start := time.Now()
	go func() {
		defer wg.Done()
		for v := range ping {
			pong <- v
		}
		close(pong)
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < n; i++ {
			ping <- i
			<-pong
		}
		close(ping)
	}()
	wg.Wait()
	return time.Since(start)
}

// share splits n items over parts workers; worker i gets share(n, parts, i).
func share(n, parts, i int) int {
	s := n / parts
	if i < n%parts {
		s++
	}
	return s
}

// prodcons: 4 producers and 4 consumers on one channel of capacity 128;
// n items in total.
func prodcons(n int) time.Duration {
	const producers, consumers = 4, 4
	items := make(chan int, 128)
	var produced, consumed sync.WaitGroup
	produced.Add(producers)
	consumed.Add(consumers)
	counts := make([]int, consumers)
	start := time.Now()
	for p := 0; p < producers; p++ {
		go func(count int) {
			defer produced.Done()
			for i := 0; i < count; i++ {
				items <- i
			}
		}(share(n, producers, p))
	}
	for c := 0; c < consumers; c++ {
		go func(c int) {
			defer consumed.Done()
			got := 0
			for range items {
				got++
			}
			counts[c] = got
		}(c)
	}
	produced.Wait()
	close(items)
	consumed.Wait()
	elapsed := time.Since(start)
	total := 0
	for _, c := range counts {
		total += c
	}
	if total != n {
		fail("prodcons received %d items, want %d", total, n)
	}
	return elapsed
}

// spawn: spawn n goroutines that each finish at once, then join them all.
func spawn(n int) time.Duration {
	var wg sync.WaitGroup
	start := time.Now()
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			wg.Done()
		}()
	}
	wg.Wait()
	return time.Since(start)
}

// selectRecv: one goroutine receives n values through a 4-case select over
// 4 unbuffered channels, each fed by its own producer.
func selectRecv(n int) time.Duration {
	const feeds = 4
	var chans [feeds]chan int
	for i := range chans {
		chans[i] = make(chan int)
	}
	start := time.Now()
	for i := range chans {
		go func(ch chan<- int, count int) {
			for j := 0; j < count; j++ {
				ch <- j
			}
		}(chans[i], share(n, feeds, i))
	}
	sum := 0
	for i := 0; i < n; i++ {
		select {
		case v := <-chans[0]:
			sum += v
		case v := <-chans[1]:
			sum += v
		case v := <-chans[2]:
			sum += v
		case v := <-chans[3]:
			sum += v
		}
	}
	elapsed := time.Since(start)
	want := 0
	for i := 0; i < feeds; i++ {
		c := share(n, feeds, i)
		want += c * (c - 1) / 2
	}
	if sum != want {
		fail("select received a sum of %d, want %d", sum, want)
	}
	return elapsed
}

// residentBytes reads the resident set size from /proc/self/statm.
func residentBytes() int64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		fail("cannot read /proc/self/statm: %v", err)
	}
	fields := strings.Fields(string(data))
	if len(fields) < 2 {
		fail("unexpected /proc/self/statm: %q", data)
	}
	pages, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil {
		fail("unexpected /proc/self/statm: %q", data)
	}
	return pages * int64(os.Getpagesize())
}

// idle: park n goroutines on a channel and report the growth of RSS per
// goroutine; then release them.
func idle(n int) float64 {
	release := make(chan struct{})
	var parked, done sync.WaitGroup
	runtime.GC()
	before := residentBytes()
	parked.Add(n)
	done.Add(n)
	for i := 0; i < n; i++ {
		go func() {
			defer done.Done()
			parked.Done()
			<-release
		}()
	}
	parked.Wait()
	// Let the last goroutines reach the receive and park.
	time.Sleep(10 * time.Millisecond)
	after := residentBytes()
	close(release)
	done.Wait()
	return float64(after-before) / float64(n)
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "weft-bench-go: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	defaults := map[string]int{
		"pingpong": 1_000_000,
		"prodcons": 4_000_000,
		"spawn":    1_000_000,
		"select":   1_000_000,
		"idle":     100_000,
	}
	if len(os.Args) < 2 || len(os.Args) > 3 {
		fail("usage: weft-bench-go CASE [N]; CASE is pingpong, prodcons, spawn, select or idle")
	}
	name := os.Args[1]
	n, known := defaults[name]
	if !known {
		fail("unknown case %q; use pingpong, prodcons, spawn, select or idle", name)
	}
	if len(os.Args) == 3 {
		parsed, err := strconv.Atoi(os.Args[2])
		if err != nil || parsed <= 0 {
			fail("N must be a positive integer, got %q", os.Args[2])
		}
		n = parsed
	}
	var elapsed time.Duration
	switch name {
	case "pingpong":
		elapsed = pingpong(n)
	case "prodcons":
		elapsed = prodcons(n)
	case "spawn":
		elapsed = spawn(n)
	case "select":
		elapsed = selectRecv(n)
	case "idle":
		fmt.Printf("idle n=%d bytes_per_task=%.0f\n", n, idle(n))
		return
	}
	fmt.Printf("%s n=%d ns_per_op=%.1f\n", name, n, float64(elapsed.Nanoseconds())/float64(n))
}
