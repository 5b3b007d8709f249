// cgo-cstring: every request passes a 4-16 KiB string to a C library with C.CString, which
// copies it into C.malloc'd memory, and never frees it. The copy touches every page, so the
// memory is resident: RSS grows while the Go heap (and every Go profile) stays flat. Only
// RSS minus the Go runtime's own memory (/memory/classes/total:bytes minus
// /memory/classes/heap/released:bytes) shows it.
//
// Twin (-fixed): C.free after the call.
//
// Needs CGO_ENABLED=1.
package main

/*
#include <stdlib.h>
#include <string.h>

// consume stands for the C library call that reads the string.
static size_t consume(const char *s) { return strlen(s); }
*/
import "C"

import (
	"strings"
	"unsafe"

	"leakbench/fixtures/kit"
)

var text = strings.Repeat("leakbench-", 16<<10/10+1)

// passToC hands s to the C library; the C copy is the leaked unit.
//
//go:noinline
func passToC(k *kit.Kit, s string) {
	cs := C.CString(s) // C.malloc + copy: resident memory outside the Go heap
	C.consume(cs)
	if k.Fixed {
		C.free(unsafe.Pointer(cs)) // the fix
	} else {
		k.Leaked(1)
	}
}

func main() {
	kit.Main("main.passToC", func(k *kit.Kit) {
		r := k.Rand(1)
		k.Drive(1, func() { passToC(k, text[:4<<10+r.IntN(12<<10)]) })
	})
}
