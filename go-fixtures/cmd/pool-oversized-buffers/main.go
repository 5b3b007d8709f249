// pool-oversized-buffers: a server keeps -fanout requests in flight, each holding a render
// buffer from a sync.Pool while its response is written (10 ms); when a request finishes its
// buffer goes back to the pool and the next request takes one. Almost every response is small
// (512 B), but from the onset -rate responses per second are large (-large, 128 KiB). A buffer
// grows to fit its response and is put back as it is, so each large response leaves one more
// circulating buffer permanently large, although the next requests need 512 B: the pool's
// circulation ratchets up towards fanout*large (64 MiB at the defaults), the shape of the
// reports about pools of bytes.Buffer holding huge buffers (golang/go#23199).
//
// Units: circulating buffers made large (each counted when it grows). A large response that
// lands on a buffer that is already large adds nothing, so the growth bends as the buffers
// fill (coupon collector: ~42% of them large after 14 s at -rate 20).
//
// Why the buffers are held between requests rather than resting in the pool: a pooled buffer
// survives one GC cycle unused, not two, and the harness's goroutineleak probe runs a GC per
// sample on top of this small heap's own ~6 per second. Buffers that rested in the pool for
// 10-50 ms between batches were often dropped by two cycles in a row (measured: no growth
// under the harness), which is the pool working as designed, not this bug.
//
// Twin (-fixed): buffers larger than -max-pooled (64 KiB, as fmt's own pool does) are dropped
// instead of put back, so the large response's buffer is garbage once it is written.
//
// The server's request loop starts before kit.Main, as a server's workers do, so goleak's
// start-up snapshot counts it as the program's own; it waits for the Kit from the fixture.
package main

import (
	"flag"
	"sync"
	"sync/atomic"
	"time"

	"leakbench/fixtures/kit"
)

var (
	fanout    = flag.Int("fanout", 512, "requests in flight at once, each holding a pooled buffer")
	large     = flag.Int("large", 128<<10, "size of a large response in bytes")
	maxPooled = flag.Int("max-pooled", 64<<10, "twin: largest buffer put back in the pool")
)

const small = 512

var pool = sync.Pool{New: func() any { b := make([]byte, 0, small); return &b }}

// render writes a response of n bytes into its buffer, growing the buffer when it is too
// small. This is where the large buffers are allocated.
//
//go:noinline
func render(b *[]byte, n int) {
	if cap(*b) < n {
		*b = make([]byte, 0, n)
	}
	*b = (*b)[:n]
	for i := 0; i < n; i += 4096 {
		(*b)[i] = byte(i)
	}
}

// serveRound finishes every in-flight request and starts the next in its place, `big` of
// them large: a finished request puts its buffer back (the fix drops an oversized one), the
// next takes one from the pool and renders into it. It returns how many buffers it made
// large. inflight holds each slot's buffer between rounds; sizes is scratch space.
func serveRound(k *kit.Kit, big int, pick func() int, inflight []*[]byte, sizes []int) int {
	for i := range sizes {
		sizes[i] = small
	}
	for range big {
		sizes[pick()] = *large
	}
	grown := 0
	for i, b := range inflight {
		if b != nil && !(k.Fixed && cap(*b) > *maxPooled) { // the fix: not worth keeping
			*b = (*b)[:0]
			pool.Put(b)
		}
		inflight[i] = pool.Get().(*[]byte)
		before := cap(*inflight[i])
		render(inflight[i], sizes[i])
		if before <= *maxPooled && cap(*inflight[i]) > *maxPooled {
			grown++
		}
	}
	return grown
}

// serve turns the in-flight requests over every 10 ms, for the life of the process. big
// carries how many of the next round's responses are large (the leak driver adds to it).
func serve(kits <-chan *kit.Kit, big *atomic.Int64) {
	k := <-kits
	r := k.Rand(1)
	pick := func() int { return r.IntN(*fanout) }
	inflight, sizes := make([]*[]byte, *fanout), make([]int, *fanout)
	for range time.Tick(10 * time.Millisecond) {
		if n := serveRound(k, int(big.Swap(0)), pick, inflight, sizes); n > 0 && !k.Fixed {
			k.Leaked(n)
		}
	}
}

func main() {
	flag.Parse()
	kits := make(chan *kit.Kit, 1)
	var big atomic.Int64
	go serve(kits, &big)
	kit.Main("main.render", func(k *kit.Kit) {
		kits <- k
		// The leak driver only decides how many responses are large.
		k.Drive(1, func() { big.Add(1) })
	})
}
