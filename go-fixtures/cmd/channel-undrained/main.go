// channel-undrained: an audit subsystem publishes one event per request (a 16 KiB snapshot,
// -event-size) on a buffered channel with room for -max-units events, sent without blocking so
// requests never wait on auditing. The consumer goroutine was never started (it is started by
// an option the service forgot to set), so every event sits in the channel's buffer: the heap
// grows at the function that builds the events, and nothing looks blocked. The channel's own
// buffer (8 bytes per slot) is allocated once at start-up and does not grow.
//
// Events are published from -onset on (the feature is switched on then). When the buffer is
// full, events are dropped, so the leak is bounded by -max-units.
//
// Twin (-fixed): the consumer is started and drains the channel. It starts before kit.Main,
// as a service starts its long-lived workers at start-up, so goleak's start-up snapshot
// counts it as the program's own.
package main

import (
	"flag"
	"strconv"

	"leakbench/fixtures/kit"
)

var eventSize = flag.Int("event-size", 16<<10, "bytes per event")

type event struct {
	seq      int
	snapshot []byte
}

var sink int

// newEvent builds an audit event: the allocation that piles up in the channel.
//
//go:noinline
func newEvent(seq int) *event {
	e := &event{seq: seq, snapshot: make([]byte, *eventSize)}
	for i := 0; i < len(e.snapshot); i += 1024 {
		e.snapshot[i] = byte(seq)
	}
	return e
}

// consume is the consumer the buggy build never starts.
func consume(events <-chan *event) {
	for e := range events {
		sink += int(e.snapshot[0])
	}
}

// publish hands an event to the auditor without blocking the request.
//
//go:noinline
func publish(k *kit.Kit, events chan<- *event, e *event) {
	select {
	case events <- e:
		if !k.Fixed {
			k.Leaked(1) // queued, and nobody will ever receive it
		}
	default: // full: dropped
	}
}

func main() {
	flag.Parse()
	maxUnits, _ := strconv.Atoi(flag.Lookup("max-units").Value.String())
	events := make(chan *event, maxUnits)
	if flag.Lookup("fixed").Value.String() == "true" {
		go consume(events) // the fix: the consumer runs
	}
	kit.Main("main.newEvent", func(k *kit.Kit) {
		seq := 0
		k.Drive(1, func() { seq++; publish(k, events, newEvent(seq)) })
	})
}
