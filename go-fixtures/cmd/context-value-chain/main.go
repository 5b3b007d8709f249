// context-value-chain: a long-lived worker keeps "its" context in a field and, for each
// request, stores the request's context derived from it back into the field:
// `w.ctx = context.WithValue(w.ctx, reqKey, req)`. Each request's valueCtx points to the
// previous one, so the chain grows by one node per request and every request's 4 KiB payload
// (-payload-size) stays reachable from the worker. Looking up a value set at the root walks
// the whole chain, so lookups slow down as it grows, too.
//
// Twin (-fixed): each request derives its context from the worker's base context and drops it
// when the request is done; the field is never reassigned.
package main

import (
	"context"
	"flag"

	"leakbench/fixtures/kit"
)

var payloadSize = flag.Int("payload-size", 4<<10, "bytes of request payload carried in each context")

type ctxKey int

const (
	tenantKey ctxKey = iota // set once, at the root
	reqKey                  // set per request
)

type request struct {
	id      int
	payload []byte
}

type worker struct {
	base context.Context
	ctx  context.Context // the bug's accumulator: reassigned per request
}

var served int

// withRequest derives the request's context; the payload allocated here is what the chain
// retains.
//
//go:noinline
func withRequest(parent context.Context, id int) context.Context {
	req := &request{id: id, payload: make([]byte, *payloadSize)}
	req.payload[0] = byte(id)
	return context.WithValue(parent, reqKey, req)
}

// handle serves one request with its context.
func handle(ctx context.Context) {
	if ctx.Value(tenantKey) != nil { // walks up to the root
		served += len(ctx.Value(reqKey).(*request).payload)
	}
}

// serve handles one request.
//
//go:noinline
func (w *worker) serve(k *kit.Kit, id int) {
	if k.Fixed {
		handle(withRequest(w.base, id))
		return
	}
	w.ctx = withRequest(w.ctx, id) // the bug: the request context becomes the worker's
	k.Leaked(1)
	handle(w.ctx)
}

func main() {
	kit.Main("main.withRequest", func(k *kit.Kit) {
		base := context.WithValue(context.Background(), tenantKey, "tenant-1")
		w := &worker{base: base, ctx: base}
		id := 0
		k.Drive(1, func() { id++; w.serve(k, id) })
	})
}
