// context-never-cancelled: every request derives a cancellable context from the long-lived
// application context and keeps the CancelFunc in its request struct, but the request's close
// path forgets to call it. A cancelCtx registers each child in its children map until the
// child is cancelled, so every request context (and the request-scoped data it carries, here
// a 2 KiB payload) stays reachable from the application context forever.
//
// Twin (-fixed): the request calls cancel when it is done, which unregisters the child.
package main

import (
	"context"

	"leakbench/fixtures/kit"
)

// appCtx lives as long as the process; stopApp would cancel it on shutdown.
var appCtx, stopApp = context.WithCancel(context.Background())

type payloadKey struct{}

type request struct {
	ctx    context.Context
	cancel context.CancelFunc // must be called when the request is done
}

// newRequestContext creates the request's context: request-scoped data, then a cancellable
// child of appCtx (registered in appCtx's children map until cancelled).
//
//go:noinline
func newRequestContext(id int) *request {
	payload := make([]byte, 2048)
	payload[0] = byte(id)
	ctx, cancel := context.WithCancel(context.WithValue(appCtx, payloadKey{}, payload))
	return &request{ctx: ctx, cancel: cancel}
}

func serve(k *kit.Kit, id int) {
	r := newRequestContext(id)
	if k.Fixed {
		defer r.cancel() // the fix
	} else {
		k.Leaked(1) // the child is registered and its cancel func will be dropped
	}
	_ = r.ctx.Value(payloadKey{}).([]byte)[0]
}

func main() {
	kit.Main("main.newRequestContext", func(k *kit.Kit) {
		id := 0
		k.Drive(1, func() { id++; serve(k, id) })
	})
}
