// afterfunc-pending: each session arms an idle timeout with time.AfterFunc(-timeout, ...)
// whose closure references the session (and its 8 KiB buffer, -session-size). Each session
// is closed as soon as its request is served, but nobody stops the timer: the runtime's timer
// heap holds the pending timer, the timer holds the closure, the closure holds the session,
// for the full timeout (10 minutes: longer than any run). The heap grows at the function that
// opens sessions; no goroutine is involved until the timers fire, after the run. The runtime
// publishes no count of pending timers, so only the heap shows this leak.
//
// Twin (-fixed): the session's close stops its timer, which releases the closure at once.
package main

import (
	"flag"
	"time"

	"leakbench/fixtures/kit"
)

var (
	timeout     = flag.Duration("timeout", 10*time.Minute, "idle timeout armed per session")
	sessionSize = flag.Int("session-size", 8<<10, "bytes held by each session")
)

type session struct {
	id    int
	buf   []byte
	timer *time.Timer
}

var expired int

// expire is the idle-timeout action.
func (s *session) expire() { expired += len(s.buf) }

// openSession allocates a session and arms its idle timeout: the allocation that is retained.
//
//go:noinline
func openSession(id int) *session {
	s := &session{id: id, buf: make([]byte, *sessionSize)}
	s.buf[0] = byte(id)
	s.timer = time.AfterFunc(*timeout, s.expire)
	return s
}

// closeSession ends a session; the buggy build forgets the timer.
//
//go:noinline
func closeSession(k *kit.Kit, s *session) {
	if k.Fixed {
		s.timer.Stop() // the fix: releases the closure and, with it, the session
		return
	}
	k.Leaked(1) // the pending timer keeps the session alive for -timeout
}

func main() {
	kit.Main("main.openSession", func(k *kit.Kit) {
		id := 0
		k.Drive(1, func() { id++; closeSession(k, openSession(id)) })
	})
}
