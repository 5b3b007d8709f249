// waitgroup-missing-done: each request fans out to -shards lookup workers and hands the
// results to a collector goroutine, which waits on a sync.WaitGroup and then merges them. A
// worker that finds its shard empty returns early, on a path that skips wg.Done(); the
// counter never reaches zero, so the collector blocks in wg.Wait forever, holding the
// request's partial results (4 KiB per shard). The request itself does not wait (it answers
// from a cache), so nothing else notices. The WaitGroup is reachable only from the blocked
// collector and from workers that have exited, so Go's goroutineleak profile lists the
// collector (sync.WaitGroup.Wait).
//
// From -onset on, every request has an empty shard (the data were moved: a realistic way for
// a rare path to become the common one).
//
// Twin (-fixed): `defer wg.Done()` at the top of the worker, so every path counts down.
package main

import (
	"flag"
	"sync"

	"leakbench/fixtures/kit"
)

var shards = flag.Int("shards", 4, "lookup workers per request")

type partial struct{ rows []byte }

var merged int

// lookup fills its shard's partial result; an empty shard returns early.
//
//go:noinline
func lookup(wg *sync.WaitGroup, out *partial, shard int, empty bool) {
	if empty {
		return // the bug: this path forgets wg.Done()
	}
	out.rows = make([]byte, 4096)
	out.rows[0] = byte(shard)
	wg.Done()
}

// lookupFixed counts down on every path.
//
//go:noinline
func lookupFixed(wg *sync.WaitGroup, out *partial, shard int, empty bool) {
	defer wg.Done()
	if empty {
		return
	}
	out.rows = make([]byte, 4096)
	out.rows[0] = byte(shard)
}

// collect waits for every shard, then merges. It is the leaking goroutine.
//
//go:noinline
func collect(wg *sync.WaitGroup, parts []partial) {
	wg.Wait()
	for _, p := range parts {
		merged += len(p.rows)
	}
}

// request fans out; shard 0 is empty.
func request(k *kit.Kit) {
	var wg sync.WaitGroup
	parts := make([]partial, *shards)
	wg.Add(*shards)
	for i := range parts {
		if k.Fixed {
			go lookupFixed(&wg, &parts[i], i, i == 0)
		} else {
			go lookup(&wg, &parts[i], i, i == 0)
		}
	}
	go collect(&wg, parts)
	if !k.Fixed {
		// The empty shard's worker will never count down: the collector is doomed from here.
		k.Leaked(1)
	}
}

func main() {
	kit.Main("main.collect", func(k *kit.Kit) {
		k.Drive(1, func() { request(k) })
	})
}
