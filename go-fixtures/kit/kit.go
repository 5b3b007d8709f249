// Package kit is the fixture kit: everything a leakbench fixture shares, so that each fixture
// under cmd/ is only its leak (and the fixed twin of it).
//
// The kit owns the fixture contract (docs/fixture-contract.md):
//   - the common flags (-onset, -rate, -max-units, -duration, -seed, -fixed) and the workload
//     flags (-ops-rate, -workers);
//   - the HTTP server on LEAKBENCH_LISTEN (loopback only) with net/http/pprof and the
//     /leakbench/metrics, /leakbench/truth, /leakbench/work, /leakbench/runtime and
//     /leakbench/goleak endpoints;
//   - the readiness line `LEAKBENCH READY <addr>` on stdout;
//   - exiting on SIGTERM/SIGINT, when the parent dies and after -duration;
//   - the ground truth (onset on CLOCK_MONOTONIC, leaked units, site), which the fixture
//     reports through Leaked, SetUnits, UnitsFrom and MarkOnset at the moment units are created;
//   - the steady background workload ("requests") whose throughput measures sampling overhead;
//   - the leak driver (Drive), which paces the leak at -rate after -onset, bounded by -max-units.
package kit

import (
	"crypto/sha256"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"runtime/metrics"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// Kit is the running fixture: its flags, its ground truth and its work counters.
type Kit struct {
	// Common flags (see the contract).
	Onset    time.Duration
	Rate     float64
	MaxUnits int
	Duration time.Duration
	Seed     uint64
	Fixed    bool
	// Workload flags.
	OpsRate float64
	Workers int

	site  string
	start time.Time

	onsetNs   atomic.Int64 // CLOCK_MONOTONIC ns of the first leaked unit; 0 = not yet
	units     atomic.Int64
	unitsFrom atomic.Pointer[func() int] // set by UnitsFrom; then it gives the units

	ops    atomic.Uint64
	counts []atomic.Uint64 // len(bounds)+1
}

// bounds are the latency histogram's upper bounds in seconds: 1-2-5 steps from 1µs to 10s.
var bounds = func() []float64 {
	var b []float64
	for e := -6; e <= 1; e++ {
		for _, m := range []int{1, 2, 5} {
			d, _ := strconv.ParseFloat(fmt.Sprintf("%de%d", m, e), 64) // exact decimal: 5e-06, not 4.99...e-06
			b = append(b, d)
		}
	}
	return b[:len(b)-2] // stop at 10s
}()

// flags holds the kit's flags, registered at init so that a fixture may call flag.Parse
// itself before Main (to choose its site from its own flags).
var flags = &Kit{}

func init() {
	k := flags
	flag.DurationVar(&k.Onset, "onset", 0, "when the leak starts, after start-up")
	flag.Float64Var(&k.Rate, "rate", 10, "leaked units per second once the leak has started")
	flag.IntVar(&k.MaxUnits, "max-units", 10000, "bound on the total leak")
	flag.DurationVar(&k.Duration, "duration", 10*time.Minute, "exit after this long (safety net)")
	flag.Uint64Var(&k.Seed, "seed", 1, "seed for any randomness")
	flag.BoolVar(&k.Fixed, "fixed", false, "run the non-leaking twin")
	flag.Float64Var(&k.OpsRate, "ops-rate", 2000, "background workload, ops per second (0 = as fast as possible)")
	flag.IntVar(&k.Workers, "workers", 4, "background workload goroutines")
}

// Main parses the flags, starts serving, prints the readiness line, starts the workload and
// runs the fixture's leak logic in run. It never returns: the process exits on a signal, when
// the parent dies or after -duration. site is the leaking function as profiles name it
// (e.g. "main.sendResult"). Fixtures register their own flags (package flag) before calling Main,
// and may call flag.Parse themselves first.
func Main(site string, run func(k *Kit)) {
	k := flags
	k.site, k.start = site, time.Now()
	k.counts = make([]atomic.Uint64, len(bounds)+1)
	if !flag.Parsed() {
		flag.Parse()
	}
	if k.Rate <= 0 || k.MaxUnits < 0 || k.Workers < 0 || k.OpsRate < 0 || k.Duration <= 0 {
		fail("bad flags: need -rate > 0, -max-units >= 0, -workers >= 0, -ops-rate >= 0, -duration > 0")
	}

	ln, err := listen()
	if err != nil {
		fail(err.Error())
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index) // serves every registered profile by name
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	mux.HandleFunc("/leakbench/metrics", serveMetrics)
	mux.HandleFunc("/leakbench/truth", k.serveTruth)
	mux.HandleFunc("/leakbench/work", k.serveWork)
	mux.HandleFunc("/leakbench/runtime", serveRuntime)
	go func() {
		err := http.Serve(ln, mux)
		fail("http: " + err.Error())
	}()

	for i := 0; i < k.Workers; i++ {
		go k.worker(i)
	}
	waitExit := k.watchExit()
	// The fixture's goroutine exists before goleak's snapshot and starts its leak logic after:
	// it runs for the whole life of a fixture (a leak driver, its twin too) as main does, so
	// it is not a leak, but anything it starts may be.
	start := make(chan struct{})
	go func() {
		<-start
		run(k)
	}()
	// goleak's snapshot: the server, the workers, the exit watcher and the idle fixture
	// goroutine are running, the fixture's leak logic is not, so goleak reports only
	// goroutines the fixture starts and never ends (and in a twin, nothing). Registered
	// before the readiness line, so no probe finds it missing.
	mux.HandleFunc("/leakbench/goleak", GoleakHandler())
	close(start)

	// The listener is bound and the server goroutine started: connections queue in the
	// kernel backlog until Serve accepts them, so the fixture is ready.
	fmt.Fprintf(os.Stdout, "LEAKBENCH READY %s\n", ln.Addr())
	os.Stdout.Sync()
	// The main goroutine waits for the end here. (Not in `select {}`: a goroutine blocked on
	// nothing is exactly what the goroutineleak profile reports, so it would show in every
	// fixture's profile as a false leak.)
	waitExit()
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "leakbench fixture:", msg)
	os.Exit(2)
}

// listen binds LEAKBENCH_LISTEN, refusing anything but a loopback address: a fixture serves
// pprof and leaks on purpose; it must never be reachable from the network.
func listen() (net.Listener, error) {
	addr := os.Getenv("LEAKBENCH_LISTEN")
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("LEAKBENCH_LISTEN=%q: %v", addr, err)
	}
	ip := net.ParseIP(host)
	if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("LEAKBENCH_LISTEN=%q: refusing a non-loopback address (use 127.0.0.1, ::1 or localhost)", addr)
	}
	return net.Listen("tcp", addr)
}

// watchExit starts watching for the end now (the signal handler is armed on return) and
// returns the wait, which never returns: it ends the process on SIGTERM/SIGINT, when the
// parent changes (it died and we were re-parented) and after -duration. os.Exit skips
// deferred work on purpose: nothing to flush.
func (k *Kit) watchExit() (wait func()) {
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	ppid := os.Getppid()
	tick := time.NewTicker(250 * time.Millisecond)
	deadline := time.After(k.Duration)
	return func() {
		for {
			select {
			case <-sig:
				os.Exit(0)
			case <-deadline:
				os.Exit(0)
			case <-tick.C:
				if os.Getppid() != ppid {
					os.Exit(0)
				}
			}
		}
	}
}

// --- ground truth ---

// MonoNow reads CLOCK_MONOTONIC in nanoseconds, the clock the harness reads too.
func MonoNow() int64 {
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, 1 /* CLOCK_MONOTONIC */, uintptr(unsafe.Pointer(&ts)), 0)
	return ts.Nano()
}

// MarkOnset records the leak's onset now, unless it is already recorded. Call it at the moment
// the first leaked unit is created.
func (k *Kit) MarkOnset() {
	if k.onsetNs.Load() == 0 {
		k.onsetNs.CompareAndSwap(0, MonoNow())
	}
}

// Leaked records n more leaked units (and the onset, on the first call). Twins never call it.
func (k *Kit) Leaked(n int) {
	k.MarkOnset()
	k.units.Add(int64(n))
}

// SetUnits sets the number of leaked units that exist now, for leaks measured as a level
// (retained map capacity, finalizer backlog) rather than counted. n > 0 marks the onset.
func (k *Kit) SetUnits(n int) {
	if n > 0 {
		k.MarkOnset()
	}
	k.units.Store(int64(n))
}

// UnitsFrom makes f the source of the units, read each time the truth is asked for: for a
// level that moves both ways and is cheaper to read than to track (a backlog). It does not
// mark the onset (call MarkOnset when the first unit is created). Reading on demand needs no
// reporting goroutine of the fixture's own, which goleak would report as a goroutine the
// program started and never ended.
func (k *Kit) UnitsFrom(f func() int) { k.unitsFrom.Store(&f) }

// Units is the number of leaked units recorded so far.
func (k *Kit) Units() int {
	if f := k.unitsFrom.Load(); f != nil {
		return (*f)()
	}
	return int(k.units.Load())
}

type truth struct {
	OnsetMonoNs *int64 `json:"onset_mono_ns"`
	Units       int64  `json:"units"`
	Site        string `json:"site"`
}

func (k *Kit) serveTruth(w http.ResponseWriter, _ *http.Request) {
	t := truth{Units: int64(k.Units()), Site: k.site}
	if ns := k.onsetNs.Load(); ns != 0 {
		t.OnsetMonoNs = &ns
	}
	writeJSON(w, t)
}

// runtimeFacts is what the Go runtime says this process runs with: the harness compares it
// with the values it meant to set (a matrix axis), so a setting that did not reach the
// program shows.
type runtimeFacts struct {
	GoVersion  string `json:"go_version"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	GOGC       string `json:"gogc"`       // an integer, or "off"
	GOMEMLIMIT string `json:"gomemlimit"` // bytes, or "off"
}

func serveRuntime(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, readRuntime())
}

// readRuntime reads the settings from runtime/metrics, which only reads them: setting GOGC to
// itself with debug.SetGCPercent would read it too, but the placeholder in between can start a
// GC in a program running with GOGC=off, the very cells this check is for.
func readRuntime() runtimeFacts {
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/gomemlimit:bytes"}}
	metrics.Read(s)
	f := runtimeFacts{
		GoVersion:  runtime.Version(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		GOGC:       "off",
		GOMEMLIMIT: "off",
	}
	// GOGC=off is a percent of -1, which the metric reports as a uint64.
	if s[0].Value.Kind() == metrics.KindUint64 {
		if pct := int64(s[0].Value.Uint64()); pct >= 0 {
			f.GOGC = strconv.FormatInt(pct, 10)
		}
	}
	// MaxInt64 is "no limit".
	if s[1].Value.Kind() == metrics.KindUint64 {
		if lim := s[1].Value.Uint64(); lim != math.MaxInt64 {
			f.GOMEMLIMIT = strconv.FormatUint(lim, 10)
		}
	}
	return f
}

// --- leak driver ---

// WaitOnset sleeps until -onset after start-up.
func (k *Kit) WaitOnset() {
	time.Sleep(time.Until(k.start.Add(k.Onset)))
}

// Drive runs the leak: from -onset on, it calls step at -rate/unitsPerStep times per second,
// ceil(-max-units/unitsPerStep) times in all, then returns. step leaks unitsPerStep units
// (and calls Leaked); in the twin the same step runs the fixed code, so both do the same work.
// Steps are paced against the clock (catching up after a slow step), not by sleeping a fixed
// interval, so the leak rate holds even when each step takes time.
func (k *Kit) Drive(unitsPerStep int, step func()) {
	total := (k.MaxUnits + unitsPerStep - 1) / unitsPerStep
	perSec := k.Rate / float64(unitsPerStep)
	tick := time.Duration(float64(time.Second) / perSec)
	tick = max(tick, 10*time.Millisecond)
	k.WaitOnset()
	t0 := time.Now()
	for done := 0; done < total; {
		due := min(total, int(time.Since(t0).Seconds()*perSec)+1)
		for ; done < due; done++ {
			step()
		}
		time.Sleep(tick)
	}
}

// Rand returns a generator seeded from -seed; stream separates independent users.
func (k *Kit) Rand(stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(k.Seed, stream))
}

// --- workload ---

// request is what a background op encodes and hashes: a small, realistic unit of CPU and
// allocation work, so GC cycles happen and lost throughput is measurable.
type request struct {
	ID    uint64   `json:"id"`
	User  string   `json:"user"`
	Tags  []string `json:"tags"`
	Score float64  `json:"score"`
	Body  []byte   `json:"body"`
}

var sink atomic.Uint64

// worker does ops at -ops-rate/-workers per second (as fast as it can if -ops-rate is 0).
func (k *Kit) worker(i int) {
	r := k.Rand(1000 + uint64(i))
	var interval time.Duration
	if k.OpsRate > 0 {
		interval = time.Duration(float64(time.Second) * float64(k.Workers) / k.OpsRate)
	}
	next := time.Now()
	for {
		t := time.Now()
		op(r)
		k.Observe(time.Since(t))
		if interval == 0 {
			continue
		}
		next = next.Add(interval)
		now := time.Now()
		switch d := next.Sub(now); {
		case d >= time.Millisecond: // short waits accumulate into one sleep
			time.Sleep(d)
		case d < -100*time.Millisecond: // far behind (starved): do not burst to catch up
			next = now
		}
	}
}

func op(r *rand.Rand) {
	req := request{
		ID:    r.Uint64(),
		User:  fmt.Sprintf("user-%d", r.IntN(10000)),
		Tags:  []string{"a", "bb", "ccc"},
		Score: r.Float64(),
		Body:  make([]byte, 256+r.IntN(512)),
	}
	b, _ := json.Marshal(&req)
	h := sha256.Sum256(b)
	sink.Add(uint64(h[0]))
}

// Observe counts one op of latency d. Fixtures may count their own ops too.
func (k *Kit) Observe(d time.Duration) {
	i := sort.SearchFloat64s(bounds, d.Seconds()) // first bound >= d
	k.counts[i].Add(1)
	k.ops.Add(1)
}

type work struct {
	Ops    uint64    `json:"ops"`
	Bounds []float64 `json:"bounds_s"`
	Counts []uint64  `json:"counts"`
}

func (k *Kit) serveWork(w http.ResponseWriter, _ *http.Request) {
	wk := work{Bounds: bounds, Counts: make([]uint64, len(k.counts))}
	for i := range k.counts {
		wk.Counts[i] = k.counts[i].Load()
	}
	wk.Ops = k.ops.Load()
	writeJSON(w, wk)
}

// --- runtime metrics ---

var (
	metricsOnce    sync.Once
	metricsSamples []metrics.Sample
	metricsMu      sync.Mutex
)

func serveMetrics(w http.ResponseWriter, _ *http.Request) {
	metricsOnce.Do(func() {
		for _, d := range metrics.All() {
			if d.Kind == metrics.KindUint64 || d.Kind == metrics.KindFloat64 {
				metricsSamples = append(metricsSamples, metrics.Sample{Name: d.Name})
			}
		}
	})
	metricsMu.Lock()
	defer metricsMu.Unlock()
	metrics.Read(metricsSamples)
	// uint64 values stay uint64 so that large counters are encoded exactly.
	out := make(map[string]any, len(metricsSamples))
	for _, s := range metricsSamples {
		switch s.Value.Kind() {
		case metrics.KindUint64:
			out[s.Name] = s.Value.Uint64()
		case metrics.KindFloat64:
			if v := s.Value.Float64(); !math.IsNaN(v) && !math.IsInf(v, 0) {
				out[s.Name] = v
			}
		}
	}
	writeJSON(w, out)
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(b, '\n'))
}
