// ticker-never-stopped: each subscription starts a refresh goroutine that ranges over a
// time.Ticker's channel and pushes a fresh snapshot to the subscriber. A ticker's channel is
// never closed (not even by Stop), so `for range t.C` has no way out: when the subscriber
// leaves (after -life), the goroutine and its ticker keep running for the rest of the
// process. Each leaked goroutine wakes every -tick, so the leak costs CPU as well as memory.
// The goroutine is not blocked forever (the ticker fires), so Go's goroutineleak profile does
// not list it; the goroutine count and the goroutine profile (chan receive) do.
//
// Twin (-fixed): the loop selects on a done channel as well, which the subscriber closes when
// it leaves; the goroutine stops the ticker and returns. Both run the same subscriptions, so
// the twin holds a steady rate*life refresh goroutines (one per live subscription: 6 at
// -rate 20).
package main

import (
	"flag"
	"time"

	"leakbench/fixtures/kit"
)

var (
	tick = flag.Duration("tick", 100*time.Millisecond, "refresh period of each subscription's ticker")
	life = flag.Duration("life", 300*time.Millisecond, "how long a subscriber stays")
)

type snapshot struct {
	seq  int
	data [64]byte
}

// refreshLoop pushes a snapshot on every tick, dropping it when the subscriber is not reading.
// It is the leaking goroutine: nothing ever ends `for range t.C`.
//
//go:noinline
func refreshLoop(t *time.Ticker, out chan<- snapshot) {
	seq := 0
	for range t.C {
		seq++
		select {
		case out <- snapshot{seq: seq}:
		default: // subscriber busy or gone
		}
	}
}

// refreshLoopFixed is the same loop with a way out.
//
//go:noinline
func refreshLoopFixed(t *time.Ticker, out chan<- snapshot, done <-chan struct{}) {
	defer t.Stop()
	seq := 0
	for {
		select {
		case <-t.C:
			seq++
			select {
			case out <- snapshot{seq: seq}:
			default:
			}
		case <-done:
			return
		}
	}
}

// subscribe starts a subscription and returns its snapshots and the function that ends it.
func subscribe(k *kit.Kit) (<-chan snapshot, func()) {
	t := time.NewTicker(*tick)
	out := make(chan snapshot, 1)
	if k.Fixed {
		done := make(chan struct{})
		go refreshLoopFixed(t, out, done)
		return out, func() { close(done) }
	}
	go refreshLoop(t, out)
	k.Leaked(1) // started with no way to stop: leaked now
	return out, func() {}
}

// subscriber reads snapshots for -life, then leaves.
func subscriber(k *kit.Kit) {
	snaps, unsubscribe := subscribe(k)
	deadline := time.After(*life)
	for {
		select {
		case <-snaps:
		case <-deadline:
			unsubscribe()
			return
		}
	}
}

func main() {
	kit.Main("main.refreshLoop", func(k *kit.Kit) {
		k.Drive(1, func() { go subscriber(k) })
	})
}
