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
//   - batch-job: every -batch-every a batch job starts -batch-goroutines goroutines that
//     share a -batch-mib transient allocation, work for about a second and exit: the
//     "nightly" job, run every few seconds.
//   - freed-load: one large load (-load-mib) is built, held for -hold and dropped (then a GC,
//     as the job's last step); the heap falls at once, RSS only as the runtime returns the
//     pages to the OS, and with GODEBUG=madvdontneed=0 not at all while memory is plentiful.
//   - goroutine-churn: short-lived goroutines (50-350 ms) spawned at a rate that swings
//     around -rate per second with period -swing-period: the count swings widely around a
//     steady mean.
//   - gomemlimit-growth: needs GOGC=off and GOMEMLIMIT (it refuses to run otherwise), the
//     configuration that tells Go to use the memory it is given. From onset, -rate messages
//     per second are decoded (64 KiB of scratch each, garbage at once) and memoized (64 KiB
//     each) in a memo whose budget is -budget-pct of the limit: the live heap grows to the
//     budget and stays there, and the heap with its garbage grows to the limit, where the GC
//     holds it (only the limit triggers a GC with GOGC=off).
//   - slow-warm-cache: a read-through cache over -keys keys, looked up at -rate random keys
//     per second, inserts 1 KiB on a miss: it warms quickly and then ever more slowly
//     (1 - e^(-rate*t/keys)), for longer than the warm-up, and plateaus at -keys entries.
package main

import (
	"flag"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"leakbench/fixtures/kit"
)

var (
	shape    = flag.String("shape", "pool-burst", "pool-burst | bounded-cache | gc-sawtooth | slow-plateau | batch-job | freed-load | goroutine-churn | gomemlimit-growth | slow-warm-cache")
	spike    = flag.Duration("spike", 5*time.Second, "pool-burst: how long the load spike lasts")
	capN     = flag.Int("cap", 12000, "bounded-cache: bound in entries")
	period   = flag.Duration("period", 2*time.Second, "gc-sawtooth: one transient build (3/4) and pause (1/4)")
	burstMiB = flag.Int("burst-mib", 64, "gc-sawtooth: size of each transient build")
	plateau  = flag.Int("plateau", 40, "slow-plateau: number of connections the pool settles at")

	batchEvery      = flag.Duration("batch-every", 4*time.Second, "batch-job: time between batch starts")
	batchGoroutines = flag.Int("batch-goroutines", 2000, "batch-job: goroutines per batch")
	batchMiB        = flag.Int("batch-mib", 128, "batch-job: transient allocation per batch, MiB")
	loadMiB         = flag.Int("load-mib", 256, "freed-load: size of the one-off load, MiB")
	hold            = flag.Duration("hold", 2*time.Second, "freed-load: how long the load is held")
	swingPeriod     = flag.Duration("swing-period", 4*time.Second, "goroutine-churn: period of the spawn-rate swing")
	budgetPct       = flag.Int("budget-pct", 60, "gomemlimit-growth: memo budget, percent of GOMEMLIMIT")
	keys            = flag.Int("keys", 24000, "slow-warm-cache: key space (= the plateau, in entries)")
)

var shapes = map[string]struct {
	site string
	run  func(k *kit.Kit)
}{
	"pool-burst":    {"main.poolWorker", runPoolBurst},
	"bounded-cache": {"main.cachePut", runBoundedCache},
	"gc-sawtooth":   {"main.buildIndex", runSawtooth},
	"slow-plateau":  {"main.poolConn", runSlowPlateau},

	"batch-job":         {"main.batchTask", runBatchJob},
	"freed-load":        {"main.loadSnapshot", runFreedLoad},
	"goroutine-churn":   {"main.shortTask", runChurn},
	"gomemlimit-growth": {"main.decode", runToMemLimit},
	"slow-warm-cache":   {"main.warmGet", runWarmCache},
}

func main() {
	flag.Parse()
	s, ok := shapes[*shape]
	if !ok {
		fmt.Fprintf(os.Stderr, "negatives: unknown -shape %q\n", *shape)
		os.Exit(2)
	}
	if *shape == "gomemlimit-growth" {
		requireMemLimit()
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

// touch writes one byte per page, so that fresh memory becomes resident (the runtime knows
// fresh pages are zero and would not write them itself).
func touch(b []byte, v byte) {
	for i := 0; i < len(b); i += 4096 {
		b[i] = v
	}
}

// --- batch-job ---

var batchSink atomic.Int64

// batchTask is one goroutine of the batch: it allocates its share of the input, works on it
// for about a second, then exits and drops it.
//
//go:noinline
func batchTask(size int, wg *sync.WaitGroup) {
	defer wg.Done()
	chunk := make([]byte, size)
	for range 10 {
		touch(chunk, 1)
		time.Sleep(100 * time.Millisecond) // e.g. waiting on a database
	}
	batchSink.Add(int64(chunk[0]))
}

// runBatch is one run of the job: fan out over the input, wait, drop everything.
func runBatch() {
	var wg sync.WaitGroup
	wg.Add(*batchGoroutines)
	for range *batchGoroutines {
		go batchTask((*batchMiB<<20) / *batchGoroutines, &wg)
	}
	wg.Wait()
}

func runBatchJob(k *kit.Kit) {
	k.WaitOnset()
	for {
		go runBatch()
		time.Sleep(*batchEvery)
	}
}

// --- freed-load ---

var loaded [][]byte

// loadSnapshot builds the one-off load: -load-mib of 64 KiB records, all resident.
//
//go:noinline
func loadSnapshot(mib int) [][]byte {
	recs := make([][]byte, 0, mib*16)
	for i := range mib * 16 {
		r := make([]byte, 64<<10)
		touch(r, byte(i))
		recs = append(recs, r)
	}
	return recs
}

func runFreedLoad(k *kit.Kit) {
	k.WaitOnset()
	loaded = loadSnapshot(*loadMiB)
	time.Sleep(*hold)
	loaded = nil
	// The job's last step, as batch jobs often end: collect now. Without it the heap would
	// keep the dead load until the next GC, which at this allocation rate is minutes away.
	runtime.GC()
}

// --- goroutine-churn ---

// shortTask is a short-lived goroutine (a request handler): it lives d, then exits.
//
//go:noinline
func shortTask(d time.Duration) {
	buf := make([]byte, 512)
	time.Sleep(d)
	buf[0] = 1
}

func runChurn(k *kit.Kit) {
	r := k.Rand(2)
	k.WaitOnset()
	t0 := time.Now()
	due := 0.0
	for {
		// The spawn rate swings between 0 and 2*rate; a task lives 200 ms on average, so the
		// count swings around rate/5 goroutines (400 at -rate 2000).
		phase := 2 * math.Pi * time.Since(t0).Seconds() / swingPeriod.Seconds()
		due += k.Rate * (1 + math.Sin(phase)) * 0.01
		for ; due >= 1; due-- {
			go shortTask(time.Duration(50+r.IntN(300)) * time.Millisecond)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// --- gomemlimit-growth ---

// The memo keeps decoded messages, oldest first, up to a budget derived from the memory
// limit: the service is configured to use the memory it is given.
var (
	memo      [][]byte
	memoBytes int
)

// decode decodes one message (a 64 KiB result and as much transient scratch) and memoizes
// the result, evicting the oldest results beyond budget bytes.
//
//go:noinline
func decode(seq, budget int) {
	scratch := make([]byte, 64<<10)
	touch(scratch, byte(seq))
	res := make([]byte, 64<<10)
	touch(res, scratch[4096])
	memo = append(memo, res)
	memoBytes += len(res)
	for memoBytes > budget {
		memoBytes -= len(memo[0])
		memo[0] = nil
		memo = memo[1:]
	}
}

// requireMemLimit refuses to run gomemlimit-growth without its configuration, rather than
// show a plain cache under that name.
func requireMemLimit() {
	if debug.SetGCPercent(-1) != -1 || debug.SetMemoryLimit(-1) == math.MaxInt64 {
		fmt.Fprintln(os.Stderr, "negatives: gomemlimit-growth needs GOGC=off and GOMEMLIMIT set")
		os.Exit(2)
	}
}

func runToMemLimit(k *kit.Kit) {
	budget := int(debug.SetMemoryLimit(-1)) * *budgetPct / 100
	k.WaitOnset()
	seq := 0
	pace(k.Rate, func() bool { return false }, func() { seq++; decode(seq, budget) })
}

// --- slow-warm-cache ---

var warm = map[int][]byte{}

// warmGet is a read-through cache lookup: a miss loads the value and keeps it.
//
//go:noinline
func warmGet(key int) []byte {
	v, ok := warm[key]
	if !ok {
		v = make([]byte, 1024)
		v[0] = byte(key)
		warm[key] = v
	}
	return v
}

func runWarmCache(k *kit.Kit) {
	r := k.Rand(3)
	k.WaitOnset()
	pace(k.Rate, func() bool { return false }, func() { warmGet(r.IntN(*keys)) })
}
