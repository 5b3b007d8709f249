// context-custom-parent: the application context is a custom type (it implements
// context.Context around a done channel; it is not derived from a context.cancelCtx and has
// no AfterFunc method). context.WithCancel cannot register a child with such a parent, so it
// starts a goroutine per child that waits for either the parent or the child to be done. Jobs
// never call their CancelFunc, so each job leaves one such watcher goroutine behind. The
// leaked goroutines run a closure in package context, not the application's code, and they
// wait on a channel that stays reachable (the parent's), so goroutineleak cannot flag them.
//
// Twin (-fixed): jobs call cancel when done, which ends the watcher goroutine.
package main

import (
	"context"
	"time"

	"leakbench/fixtures/kit"
)

// shutdownCtx is the application's own context type: done when the process shuts down.
type shutdownCtx struct{ done chan struct{} }

func (c *shutdownCtx) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c *shutdownCtx) Done() <-chan struct{}       { return c.done }
func (c *shutdownCtx) Value(key any) any           { return nil }
func (c *shutdownCtx) Err() error {
	select {
	case <-c.done:
		return context.Canceled
	default:
		return nil
	}
}

var appCtx = &shutdownCtx{done: make(chan struct{})}

type job struct {
	ctx    context.Context
	cancel context.CancelFunc // must be called when the job is done
}

// newJobContext derives the job's context from the custom parent; this starts the watcher
// goroutine (context.(*cancelCtx).propagateCancel.func2).
//
//go:noinline
func newJobContext() *job {
	ctx, cancel := context.WithCancel(appCtx)
	return &job{ctx: ctx, cancel: cancel}
}

func runJob(k *kit.Kit) {
	j := newJobContext()
	if k.Fixed {
		defer j.cancel() // the fix
	} else {
		k.Leaked(1) // the watcher goroutine is running and its child will never be done
	}
	_ = j.ctx.Err()
}

func main() {
	kit.Main("context.(*cancelCtx).propagateCancel.func2", func(k *kit.Kit) {
		k.Drive(1, func() { runJob(k) })
	})
}
