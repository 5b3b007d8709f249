// goroutine-global-workers: each job batch starts its own workers, which range over a job
// queue held in a package-level variable. The queue is never closed, so once a batch is done
// its workers block on the receive forever. The channel stays reachable from a global, so
// Go's goroutineleak profile (which finds goroutines blocked on unreachable channels) cannot
// see these; only the growing goroutine count and the goroutine profile do.
//
// Twin (-fixed): each batch gets its own queue and closes it when all jobs are submitted,
// so its workers return.
package main

import (
	"crypto/sha256"
	"flag"
	"sync"

	"leakbench/fixtures/kit"
)

var perBatch = flag.Int("batch-workers", 4, "workers started per job batch (= units leaked per batch)")

type job struct {
	data []byte
	wg   *sync.WaitGroup
}

// jobQueue is the shared, never-closed queue: the bug.
var jobQueue = make(chan job)

// batchWorker processes jobs until its queue is closed; on jobQueue that is never.
//
//go:noinline
func batchWorker(jobs <-chan job) {
	for j := range jobs {
		sha256.Sum256(j.data)
		j.wg.Done()
	}
}

// runBatch starts this batch's workers and feeds them its jobs, then waits for the jobs.
func runBatch(k *kit.Kit) {
	q := jobQueue
	if k.Fixed {
		q = make(chan job)
	}
	for range *perBatch {
		go batchWorker(q)
	}
	if !k.Fixed {
		// The workers are started and nothing will ever stop them: leaked now.
		k.Leaked(*perBatch)
	}
	var wg sync.WaitGroup
	for range 2 * *perBatch {
		wg.Add(1)
		q <- job{data: make([]byte, 1024), wg: &wg}
	}
	wg.Wait()
	if k.Fixed {
		close(q)
	}
}

func main() {
	kit.Main("main.batchWorker", func(k *kit.Kit) {
		k.Drive(*perBatch, func() { runBatch(k) })
	})
}
