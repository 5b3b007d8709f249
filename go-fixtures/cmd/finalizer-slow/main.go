// finalizer-slow: connections are closed by a finalizer that blocks (20 ms, like a network
// round trip). All finalizers run on one goroutine, so it drains at most ~50 per second; when
// more objects than that become garbage per second, the finalizer queue grows without bound,
// and every queued object (with its 16 KiB buffer) stays in the heap until its turn.
// /gc/finalizers/queued:finalizers minus /gc/finalizers/executed:finalizers grows.
//
// Units: objects created and not yet finalized (the backlog).
//
// Twin (-fixed): the same objects with a finalizer that does no blocking work.
package main

import (
	"flag"
	"runtime"
	"sync/atomic"
	"time"

	"leakbench/fixtures/kit"
)

var slow = flag.Duration("finalizer-cost", 20*time.Millisecond, "how long the slow finalizer blocks")

type conn struct {
	buf []byte
}

var created, finalized atomic.Int64

// closeConn is the slow finalizer: the bug.
//
//go:noinline
func closeConn(c *conn) {
	time.Sleep(*slow)
	finalized.Add(1)
}

// closeConnFast is the fixed finalizer.
func closeConnFast(c *conn) {
	finalized.Add(1)
}

// openConn allocates a short-lived connection object with a finalizer; it is dropped at once.
//
//go:noinline
func openConn(k *kit.Kit) *conn {
	c := &conn{buf: make([]byte, 16<<10)}
	if k.Fixed {
		runtime.SetFinalizer(c, closeConnFast)
	} else {
		runtime.SetFinalizer(c, closeConn)
		k.MarkOnset() // created faster than closeConn can drain: the backlog starts here
	}
	created.Add(1)
	return c
}

func main() {
	kit.Main("main.closeConn", func(k *kit.Kit) {
		if !k.Fixed {
			// The backlog as it moves (both ways). finalized first: it never passes created.
			k.UnitsFrom(func() int { f := finalized.Load(); return int(created.Load() - f) })
		}
		k.Drive(1, func() { openConn(k) })
	})
}
