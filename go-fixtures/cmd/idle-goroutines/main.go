// idle-goroutines: a neutral fixture for measuring what sampling costs a program. It never
// leaks: it parks -goroutines idle goroutines (workers waiting for jobs on a channel held by a
// global, so they are reachable and not a leak) beside the kit's workload, and otherwise only
// does the kit's background work. `leakbench overhead` uses it twice:
//   - as the default fixture of the throughput study (a steady workload whose throughput does
//     not drift, since nothing grows);
//   - for probe cost at scale: the goroutine profile's cost grows with the number of
//     goroutines, so -goroutines is set to 100, 1k, 10k, 100k.
//
// With -pauses-file PATH, it also writes the runtime's stop-the-world pause histograms
// (runtime/metrics `/sched/pauses/total/other:seconds` and `/sched/pauses/total/gc:seconds`,
// cumulative since start) to PATH as JSON every -pauses-every, replaced atomically:
//
//	{"mono_ns": 123, "other": [[lo_s, hi_s, count], ...], "gc": [[lo_s, hi_s, count], ...]}
//
// Only non-empty buckets are listed; infinite bucket edges are replaced by the finite edge of
// the same bucket. The kit serves scalar metrics only, and these two are histograms; `mono_ns`
// (CLOCK_MONOTONIC, the clock the harness reads) says how fresh a snapshot is, so the harness
// can wait for one taken after the probes it measures.
package main

import (
	"encoding/json"
	"flag"
	"math"
	"os"
	"runtime/metrics"
	"time"

	"leakbench/fixtures/kit"
)

var (
	idle        = flag.Int("goroutines", 100, "idle goroutines to park")
	pausesFile  = flag.String("pauses-file", "", "write STW pause histograms here (JSON), if set")
	pausesEvery = flag.Duration("pauses-every", 50*time.Millisecond, "how often to write -pauses-file")
)

// jobs is held by a global: the idle workers blocked on it are reachable, hence not a leak
// (the goroutineleak profile must not report them).
var jobs = make(chan func())

// idleWorker waits for a job that never comes (the fixture sends none). It is the site the
// goroutine profile shows for the parked goroutines.
//
//go:noinline
func idleWorker() {
	for j := range jobs {
		j()
	}
}

func main() {
	flag.Parse()
	if *idle < 0 || *pausesEvery <= 0 {
		os.Stderr.WriteString("idle-goroutines: need -goroutines >= 0 and -pauses-every > 0\n")
		os.Exit(2)
	}
	kit.Main("main.idleWorker", func(k *kit.Kit) {
		for i := 0; i < *idle; i++ {
			go idleWorker()
		}
		if *pausesFile != "" {
			writePauses(*pausesFile, *pausesEvery)
		}
	})
}

// writePauses never returns: it rewrites path with the current pause histograms every period.
func writePauses(path string, period time.Duration) {
	s := []metrics.Sample{
		{Name: "/sched/pauses/total/other:seconds"},
		{Name: "/sched/pauses/total/gc:seconds"},
	}
	tmp := path + ".tmp"
	for {
		metrics.Read(s)
		out := struct {
			MonoNs int64        `json:"mono_ns"`
			Other  [][3]float64 `json:"other"`
			GC     [][3]float64 `json:"gc"`
		}{kit.MonoNow(), buckets(s[0].Value), buckets(s[1].Value)}
		if b, err := json.Marshal(out); err == nil {
			if os.WriteFile(tmp, b, 0o644) == nil {
				os.Rename(tmp, path)
			}
		}
		time.Sleep(period)
	}
}

func buckets(v metrics.Value) [][3]float64 {
	out := [][3]float64{}
	if v.Kind() != metrics.KindFloat64Histogram {
		return out
	}
	h := v.Float64Histogram()
	for i, n := range h.Counts {
		if n == 0 {
			continue
		}
		lo, hi := h.Buckets[i], h.Buckets[i+1]
		if math.IsInf(lo, 0) {
			lo = hi
		}
		if math.IsInf(hi, 0) {
			hi = lo
		}
		out = append(out, [3]float64{lo, hi, float64(n)})
	}
	return out
}
