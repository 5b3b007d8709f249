// finalizer-cycle: sessions come in pairs pointing at each other (a <-> b), and the session
// has a finalizer to close it. The GC treats everything reachable from an object with a
// finalizer as live; since a reaches itself through b, a is never found unreachable, the
// finalizer never runs and the pair (with its 4 KiB buffer) is never freed.
//
// Twin (-fixed): the same cyclic pairs with runtime.AddCleanup instead, which does not keep
// the object alive (the cleanup gets only an id), so the cycle is collected.
package main

import (
	"runtime"
	"sync/atomic"

	"leakbench/fixtures/kit"
)

type session struct {
	id   int
	peer *session
	buf  []byte
}

var closed atomic.Int64

func (s *session) close() { closed.Add(1) }

func closeSession(id int) { closed.Add(1) }

// newSession allocates a session pair with its buffer and arranges for it to be closed.
//
//go:noinline
func newSession(k *kit.Kit, id int) *session {
	a := &session{id: id, buf: make([]byte, 4096)}
	b := &session{id: id, peer: a}
	a.peer = b
	if k.Fixed {
		runtime.AddCleanup(a, closeSession, id) // the fix: does not resurrect the cycle
	} else {
		runtime.SetFinalizer(a, (*session).close) // the bug: a finalizer on a cycle
		k.Leaked(1)
	}
	return a
}

func main() {
	kit.Main("main.newSession", func(k *kit.Kit) {
		id := 0
		k.Drive(1, func() { id++; newSession(k, id) })
	})
}
