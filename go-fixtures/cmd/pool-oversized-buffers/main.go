// pool-oversized-buffers: a sync.Pool of render buffers serves a fan-out of -fanout concurrent
// renders every 10 ms (the pool's whole population is in use at once, then put back). Almost
// every response is small (512 B), but from the onset -rate responses per second are large
// (-large, 128 KiB). A buffer grows to fit its response and is put back as it is, so each
// large response leaves one more pooled buffer permanently large: the pool is used all the
// time, so no buffer ever sits out the two GC cycles that would drop it. The pool ratchets up
// towards fanout*large (64 MiB at the defaults), the shape of the reports about pools of
// bytes.Buffer holding huge buffers (golang/go#23199).
//
// Units: pooled buffers made large (each counted when it grows; none is dropped, since every
// buffer is drawn in every fan-out). A large response that lands on a buffer that is already
// large adds nothing, so the growth bends as the pool fills (coupon collector: ~45% of the
// buffers large after 14 s at -rate 20).
//
// Why every 10 ms: a pooled buffer survives one GC cycle unused, not two. This fixture's live
// heap is small, so GC cycles come every ~150 ms, and a sampler that reads the goroutineleak
// profile adds one per sample; with fan-outs 50 ms apart, two cycles often fell between two
// fan-outs and the pool was emptied (measured: no growth under the harness). A busy server
// draws on its pool far more often than that.
//
// Twin (-fixed): buffers larger than -max-pooled (64 KiB, as fmt's own pool does) are dropped
// instead of put back, so the large response's buffer is garbage at once.
package main

import (
	"flag"
	"sync"
	"time"

	"leakbench/fixtures/kit"
)

var (
	fanout    = flag.Int("fanout", 512, "renders in flight at once (the pool's population)")
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

// fanOut serves one fan-out: len(bufs) renders in flight together, `big` of them large. It
// returns how many pooled buffers it made large. bufs and sizes are scratch space, reused.
func fanOut(k *kit.Kit, big int, pick func() int, bufs []*[]byte, sizes []int) int {
	for i := range sizes {
		sizes[i] = small
	}
	for range big {
		sizes[pick()] = *large
	}
	grown := 0
	for i := range bufs {
		bufs[i] = pool.Get().(*[]byte)
		before := cap(*bufs[i])
		render(bufs[i], sizes[i])
		if before <= *maxPooled && cap(*bufs[i]) > *maxPooled {
			grown++
		}
	}
	for i, b := range bufs {
		bufs[i] = nil
		if k.Fixed && cap(*b) > *maxPooled {
			continue // the fix: an oversized buffer is not worth keeping
		}
		*b = (*b)[:0]
		pool.Put(b)
	}
	return grown
}

func main() {
	kit.Main("main.render", func(k *kit.Kit) {
		r := k.Rand(1)
		pick := func() int { return r.IntN(*fanout) }
		// Fan-outs run all the time, 100 per second; the leak driver only decides how many
		// of the responses are large (accumulated here, consumed by the next fan-out).
		var mu sync.Mutex
		pending := 0
		go func() {
			bufs, sizes := make([]*[]byte, *fanout), make([]int, *fanout)
			for range time.Tick(10 * time.Millisecond) {
				mu.Lock()
				big := pending
				pending = 0
				mu.Unlock()
				if n := fanOut(k, big, pick, bufs, sizes); n > 0 && !k.Fixed {
					k.Leaked(n)
				}
			}
		}()
		k.Drive(1, func() { mu.Lock(); pending++; mu.Unlock() })
	})
}
