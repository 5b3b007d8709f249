// map-delete-no-shrink: each long-lived session (think: a connection) keeps an index of its
// in-flight requests in a map. A session sees one burst of requests, which are inserted and
// then all deleted, so len(map) is back to 0; but Go maps never shrink, so the empty map keeps
// the table memory of its burst for as long as the session lives. One session opens per
// -burst-every, so retained memory ratchets up stepwise while every map is empty. Values are
// [128]byte: the largest size Go stores inline in the map's slots (larger values are stored
// indirectly and freed on delete, which would hide most of the effect).
//
// Why many maps and not one map with growing bursts: a growing transient burst grows the
// live heap at every GC that happens mid-burst, in the twin too; with one burst size the
// twin's heap is flat and only the retained capacity grows.
//
// Units: retained capacity in entries (sum over sessions of each map's peak length).
//
// Twin (-fixed): the same sessions and bursts, but the emptied map is replaced by a fresh one,
// so its tables are freed.
package main

import (
	"flag"
	"time"

	"leakbench/fixtures/kit"
)

var every = flag.Duration("burst-every", time.Second, "time between bursts (one new session each); a burst is rate*burst-every entries")

type record [128]byte

type session struct {
	inflight map[uint64]record
}

// sessions are long-lived: they are never closed during the run.
var sessions []*session

// fillBurst inserts a burst of n in-flight requests: the map's tables grow here.
//
//go:noinline
func fillBurst(s *session, n int) {
	var r record
	for i := range n {
		r[0] = byte(i)
		s.inflight[uint64(i)] = r
	}
}

// drain completes and deletes every in-flight request.
func drain(k *kit.Kit, s *session) {
	for key := range s.inflight {
		delete(s.inflight, key)
	}
	if k.Fixed {
		s.inflight = map[uint64]record{} // the fix: let the big, empty map be collected
	}
}

func main() {
	kit.Main("main.fillBurst", func(k *kit.Kit) {
		n := max(1, int(k.Rate*every.Seconds()))
		k.WaitOnset()
		for retained := 0; retained+n <= k.MaxUnits; retained += n {
			s := &session{inflight: map[uint64]record{}}
			sessions = append(sessions, s)
			if !k.Fixed {
				k.MarkOnset() // the burst below creates the first retained slots
			}
			fillBurst(s, n)
			if !k.Fixed {
				k.SetUnits(retained + n)
			}
			drain(k, s)
			time.Sleep(*every)
		}
	})
}
