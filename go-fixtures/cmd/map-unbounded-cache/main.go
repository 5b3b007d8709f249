// map-unbounded-cache: a map used as a response cache; every request adds an entry under a
// unique key (~1 KiB value) and nothing ever deletes. The heap grows linearly at the function
// that fills the cache.
//
// Twin (-fixed): the cache is bounded; above -cap entries it evicts one before inserting, so the
// heap is flat once the cache is full (after -cap/-rate seconds).
package main

import (
	"flag"

	"leakbench/fixtures/kit"
)

var capEntries = flag.Int("cap", 500, "twin: cache bound in entries")

var cache = map[uint64][]byte{}

// cacheResult stores a request's rendered response under its (unique) key.
//
//go:noinline
func cacheResult(k *kit.Kit, key uint64) {
	if k.Fixed && len(cache) >= *capEntries {
		for old := range cache { // evict an arbitrary entry
			delete(cache, old)
			break
		}
	}
	v := make([]byte, 1024)
	v[0] = byte(key)
	cache[key] = v
	if !k.Fixed {
		k.Leaked(1)
	}
}

func main() {
	kit.Main("main.cacheResult", func(k *kit.Kit) {
		var key uint64
		k.Drive(1, func() { key++; cacheResult(k, key) })
	})
}
