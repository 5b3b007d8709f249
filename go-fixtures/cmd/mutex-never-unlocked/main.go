// mutex-never-unlocked: requests update an account under the account's sync.Mutex, each in
// its own goroutine. The update has an early return on a validation error that skips the
// Unlock. At -onset the first request with a bad amount arrives: it returns with the lock
// held, and every later request for that account blocks in Lock forever. The account table is
// a global, so the mutex stays reachable and Go's goroutineleak profile does not list the
// blocked goroutines; the goroutine count and the goroutine profile (sync.Mutex.Lock) do.
//
// Units: goroutines blocked on the lock that will never be released (the first bad request
// itself returns and is not one).
//
// Twin (-fixed): `defer a.mu.Unlock()`, so the error path releases the lock too.
package main

import (
	"errors"
	"sync"
	"sync/atomic"

	"leakbench/fixtures/kit"
)

type account struct {
	mu      sync.Mutex
	balance int64
	history []int64
}

// accounts is the service's account table (global, long-lived).
var accounts = map[string]*account{"acct-1": {}}

// poisoned is set once the lock has been leaked, so the fixture knows that the goroutines it
// starts after that are doomed (the truth; the code under test does not look at it).
var poisoned atomic.Bool

var errBadAmount = errors.New("bad amount")

// applyUpdate applies one update under the account lock. It is the leaking site: goroutines
// block here in Lock.
//
//go:noinline
func applyUpdate(a *account, amount int64) error {
	a.mu.Lock()
	if amount <= 0 {
		poisoned.Store(true)
		return errBadAmount // the bug: the lock is never released
	}
	a.balance += amount
	a.history = append(a.history[max(0, len(a.history)-99):], amount)
	a.mu.Unlock()
	return nil
}

// applyUpdateFixed releases the lock on every path.
//
//go:noinline
func applyUpdateFixed(a *account, amount int64) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if amount <= 0 {
		return errBadAmount
	}
	a.balance += amount
	a.history = append(a.history[max(0, len(a.history)-99):], amount)
	return nil
}

func main() {
	kit.Main("main.applyUpdate", func(k *kit.Kit) {
		a := accounts["acct-1"]
		n := 0
		k.Drive(1, func() {
			n++
			amount := int64(n)
			if n == 1 {
				amount = -1 // the first request from the onset on carries a bad amount
			}
			if k.Fixed {
				go applyUpdateFixed(a, amount)
				return
			}
			if poisoned.Load() {
				k.Leaked(1) // this request will block on a lock nobody will release
			}
			go applyUpdate(a, amount)
		})
	})
}
