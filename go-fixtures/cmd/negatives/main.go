// negatives: hard negatives, patterns that look like leaks and are not. They never call
// Leaked: their truth has no onset and no units. The truth site names the function that
// produces the look-alike growth (the site a false positive would report).
//
// -shape selects the pattern (all start at -onset; -rate sets their pace):
//   - pool-burst: a worker pool scales up under a load spike (-rate tasks/s for -spike), each
//     task waiting 50 ms, then the extra workers idle out and the pool drains back.
//   - bounded-cache: a cache fills at -rate entries/s (1 KiB each) up to -cap entries, then
//     evicts: the heap grows for cap/rate seconds, then stays flat.
//   - gc-sawtooth: every -period a large transient index (-burst-mib) is built gradually, used
//     and dropped: a big heap sawtooth whose troughs do not rise.
//   - slow-plateau: goroutines (pooled connections) are opened at -rate per second up to
//     -plateau, then stay forever: slow growth to a fixed level, like a pool warming up.
package main

import (
	"flag"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"leakbench/fixtures/kit"
)

var (
	shape    = flag.String("shape", "pool-burst", "pool-burst | bounded-cache | gc-sawtooth | slow-plateau")
	spike    = flag.Duration("spike", 5*time.Second, "pool-burst: how long the load spike lasts")
	capN     = flag.Int("cap", 12000, "bounded-cache: bound in entries")
	period   = flag.Duration("period", 2*time.Second, "gc-sawtooth: one transient build (3/4) and pause (1/4)")
	burstMiB = flag.Int("burst-mib", 64, "gc-sawtooth: size of each transient build")
	plateau  = flag.Int("plateau", 40, "slow-plateau: number of connections the pool settles at")
)

var shapes = map[string]struct {
	site string
	run  func(k *kit.Kit)
}{
	"pool-burst":    {"main.poolWorker", runPoolBurst},
	"bounded-cache": {"main.cachePut", runBoundedCache},
	"gc-sawtooth":   {"main.buildIndex", runSawtooth},
	"slow-plateau":  {"main.poolConn", runSlowPlateau},
}

func main() {
	flag.Parse()
	s, ok := shapes[*shape]
	if !ok {
		fmt.Fprintf(os.Stderr, "negatives: unknown -shape %q\n", *shape)
		os.Exit(2)
	}
	kit.Main(s.site, s.run)
}

// pace calls f at perSec per second (catching up, in 10 ms ticks) until stop returns true.
func pace(perSec float64, stop func() bool, f func()) {
	t0, done := time.Now(), 0
	for !stop() {
		for due := int(time.Since(t0).Seconds() * perSec); done < due; done++ {
			f()
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// --- pool-burst ---

type task struct{ d time.Duration }

// Both channels are unbuffered: a send succeeds only if a worker of that kind is idle. Core
// workers get tasks first, so once the spike is over the extra workers get none and exit.
var (
	coreTasks  = make(chan task)
	extraTasks = make(chan task)
)

func (t task) run() { time.Sleep(t.d) } // e.g. waiting for a backend

// coreWorker is one of the pool's permanent workers.
func coreWorker() {
	for t := range coreTasks {
		t.run()
	}
}

// poolWorker is an extra worker started under load; it exits after 500 ms without work.
//
//go:noinline
func poolWorker(first task) {
	first.run()
	idle := time.NewTimer(500 * time.Millisecond)
	for {
		select {
		case t := <-extraTasks:
			t.run()
			idle.Reset(500 * time.Millisecond)
		case <-idle.C:
			return
		}
	}
}

func submit(t task) {
	select {
	case coreTasks <- t:
	default:
		select {
		case extraTasks <- t:
		default:
			go poolWorker(t) // scale up: no idle worker
		}
	}
}

func runPoolBurst(k *kit.Kit) {
	for range 4 {
		go coreWorker()
	}
	t := task{d: 50 * time.Millisecond}
	go pace(20, func() bool { return false }, func() { submit(t) }) // baseline load, always
	k.WaitOnset()
	end := time.Now().Add(*spike)
	pace(k.Rate, func() bool { return time.Now().After(end) }, func() { submit(t) })
}

// --- bounded-cache ---

var cache = map[uint64][]byte{}

// cachePut inserts under a new key, evicting an arbitrary entry at the bound.
//
//go:noinline
func cachePut(key uint64) {
	if len(cache) >= *capN {
		for old := range cache {
			delete(cache, old)
			break
		}
	}
	cache[key] = make([]byte, 1024)
}

func runBoundedCache(k *kit.Kit) {
	k.WaitOnset()
	var key uint64
	pace(k.Rate, func() bool { return false }, func() { key++; cachePut(key) })
}

// --- gc-sawtooth ---

var indexSink atomic.Int64

// buildIndex builds a large transient index (1 KiB entries) over about build time, like a
// batch job loading its input, uses it once and drops it. The gradual build lets the GC run
// during it, so the heap rises and falls instead of jumping once to a new level.
//
//go:noinline
func buildIndex(mib int, build time.Duration) {
	const chunks = 50
	idx := make(map[int][]byte)
	for c := range chunks {
		for i := c * (mib << 10) / chunks; i < (c+1)*(mib<<10)/chunks; i++ {
			v := make([]byte, 1024)
			v[0] = byte(i)
			idx[i] = v
		}
		time.Sleep(build / chunks)
	}
	indexSink.Add(int64(len(idx)))
}

func runSawtooth(k *kit.Kit) {
	k.WaitOnset()
	for {
		buildIndex(*burstMiB, *period*3/4)
		time.Sleep(*period / 4)
	}
}

// --- slow-plateau ---

var pings = make(chan chan struct{}) // the pool's (reachable, long-lived) request channel

// poolConn is one pooled connection: it lives for the rest of the process and serves pings.
//
//go:noinline
func poolConn(id int) {
	buf := make([]byte, 4096) // per-connection buffer
	for reply := range pings {
		buf[0] = byte(id)
		reply <- struct{}{}
	}
}

func runSlowPlateau(k *kit.Kit) {
	go func() { // keep the pool in use: one ping every 100 ms once it has connections
		for range time.Tick(100 * time.Millisecond) {
			reply := make(chan struct{})
			select {
			case pings <- reply:
				<-reply
			default:
			}
		}
	}()
	k.WaitOnset()
	n := 0
	pace(k.Rate, func() bool { return n >= *plateau }, func() {
		if n < *plateau {
			n++
			go poolConn(n)
		}
	})
}
