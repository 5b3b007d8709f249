// goroutine-abandoned-sender: each request computes its result in a goroutine that sends it on
// an unbuffered channel; the caller waits with a timeout and gives up first. The sender then
// blocks on the send forever, and since nothing else references the channel, the goroutine is
// unreachable garbage: the case Go's goroutineleak profile is built to catch.
//
// Twin (-fixed): the channel has a buffer of one, so the send completes and the sender exits.
package main

import (
	"time"

	"leakbench/fixtures/kit"
)

type result struct {
	n   int
	buf []byte
}

// sendResult does the slow part of a request and delivers its result. It is the leaking
// goroutine: with an unbuffered channel and no receiver left, the send never completes.
//
//go:noinline
func sendResult(ch chan<- result, n int) {
	time.Sleep(10 * time.Millisecond) // slower than the caller is willing to wait
	ch <- result{n: n, buf: make([]byte, 512)}
}

// handle is one request: start the work, wait at most 2ms for it.
func handle(k *kit.Kit, n int) {
	ch := make(chan result) // the bug: nobody may be left to receive
	if k.Fixed {
		ch = make(chan result, 1) // the fix: the send always completes
	}
	go sendResult(ch, n)
	select {
	case <-ch:
	case <-time.After(2 * time.Millisecond):
		// The caller gives up. The sender goroutine (already running) is now doomed in the
		// leaky build: this is the moment the unit is leaked.
		if !k.Fixed {
			k.Leaked(1)
		}
	}
}

func main() {
	kit.Main("main.sendResult", func(k *kit.Kit) {
		n := 0
		k.Drive(1, func() { n++; handle(k, n) })
	})
}
