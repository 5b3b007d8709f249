// subslice-pins-buffer: each message is read into a fresh 64 KiB buffer (-msg-size); the
// service keeps the message's 16-byte ID in a long-lived log of seen IDs. The ID is a
// subslice of the buffer, so it shares the buffer's backing array, and the GC keeps all
// 64 KiB alive for the sake of 16 bytes. The heap grows at the function that allocated the
// buffers, not where the IDs are kept: the profile points one step away from the bug.
//
// Twin (-fixed): the ID is copied (bytes.Clone) before it is kept, so the buffer is garbage
// once the message is handled. The twin keeps the same IDs (16 B each: ~5 KiB over a run at
// -rate 20), at another site.
package main

import (
	"bytes"
	"flag"

	"leakbench/fixtures/kit"
)

var msgSize = flag.Int("msg-size", 64<<10, "size of each message buffer in bytes")

// seenIDs is the long-lived log of message IDs (kept by design in both builds).
var seenIDs [][]byte

// readMessage reads one message into a new buffer: the large allocation that gets pinned.
//
//go:noinline
func readMessage(seq int) []byte {
	msg := make([]byte, *msgSize)
	for i := 0; i < len(msg); i += 512 {
		msg[i] = byte(seq + i)
	}
	copy(msg[10:26], []byte("id-0000000000000"))
	return msg
}

// keepID records the message's ID.
//
//go:noinline
func keepID(k *kit.Kit, msg []byte) {
	id := msg[10:26] // the bug: a view into the 64 KiB buffer
	if k.Fixed {
		id = bytes.Clone(id) // the fix: 16 bytes of its own
	}
	seenIDs = append(seenIDs, id)
	if !k.Fixed {
		k.Leaked(1)
	}
}

func main() {
	kit.Main("main.readMessage", func(k *kit.Kit) {
		seq := 0
		k.Drive(1, func() { seq++; keepID(k, readMessage(seq)) })
	})
}
