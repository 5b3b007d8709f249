// Command pprofgen writes the reference pprof profiles the harness's decoder is tested on.
//
// It builds a known, deterministic state and then writes three profiles into the directory
// given as its only argument:
//
//   - goroutine.pb.gz: 7 goroutines blocked in `ch <- v` in main.blockedSender (each on its
//     own channel that nothing else references: leaked), 3 blocked in `<-ch` in
//     main.blockedReceiver (on a channel held by a global: reachable, not leaked), 2 blocked
//     in an empty-case select in main.selectForever, plus main.main itself (running).
//   - goroutineleak.pb.gz: the GC-reachability leak report; expected to list the 7 senders
//     and not the receivers. Needs GOEXPERIMENT=goroutineleakprofile; skipped (with a note
//     on stderr) when the profile does not exist.
//   - heap.pb.gz: with runtime.MemProfileRate = 1 (every allocation sampled, so no
//     statistical scaling), 1000 objects of 1 KiB allocated in main.allocRetained and kept
//     alive by a global.
//
// Run: cd harness/testdata/pprof/gen && GOEXPERIMENT=goroutineleakprofile go run . ..
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"time"
)

const (
	nSenders   = 7
	nReceivers = 3
	nSelects   = 2
	nObjects   = 1000
	objSize    = 1024
)

var (
	// heldChan keeps the receivers reachable from a global: they are blocked, not leaked.
	heldChan = make(chan int)
	// retained keeps the heap allocations live. A fixed array (not a slice) so that its own
	// storage is not a heap allocation attributed to main.allocRetained.
	retained [nObjects][]byte
	// selectBlock keeps the select goroutines reachable.
	selectBlock = make(chan struct{})
)

//go:noinline
func blockedSender(ch chan int) {
	ch <- 1 // nobody ever receives; ch is referenced only by this goroutine.
}

//go:noinline
func blockedReceiver() {
	<-heldChan
}

//go:noinline
func selectForever() {
	select {
	case <-selectBlock:
	case <-heldChan:
	}
}

//go:noinline
func allocRetained() {
	for i := range retained {
		retained[i] = make([]byte, objSize)
	}
}

func write(dir, name, file string) {
	p := pprof.Lookup(name)
	if p == nil {
		fmt.Fprintf(os.Stderr, "pprofgen: no %q profile in this build (GOEXPERIMENT=goroutineleakprofile?); skipping %s\n", name, file)
		return
	}
	f, err := os.Create(filepath.Join(dir, file))
	if err != nil {
		fmt.Fprintln(os.Stderr, "pprofgen:", err)
		os.Exit(1)
	}
	if err := p.WriteTo(f, 0); err != nil {
		fmt.Fprintln(os.Stderr, "pprofgen:", err)
		os.Exit(1)
	}
	if err := f.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "pprofgen:", err)
		os.Exit(1)
	}
}

func main() {
	runtime.MemProfileRate = 1
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: pprofgen OUTDIR")
		os.Exit(2)
	}
	dir := os.Args[1]

	for i := 0; i < nSenders; i++ {
		go blockedSender(make(chan int))
	}
	for i := 0; i < nReceivers; i++ {
		go blockedReceiver()
	}
	for i := 0; i < nSelects; i++ {
		go selectForever()
	}
	allocRetained()

	// Let every goroutine reach its blocking point.
	for runtime.NumGoroutine() < 1+nSenders+nReceivers+nSelects {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)

	runtime.GC()
	write(dir, "goroutine", "goroutine.pb.gz")
	runtime.GC()
	// The heap profile reflects the state as of the most recently completed GC cycle.
	runtime.GC()
	write(dir, "heap", "heap.pb.gz")
	write(dir, "goroutineleak", "goroutineleak.pb.gz")

	runtime.KeepAlive(retained)
}
