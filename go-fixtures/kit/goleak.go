package kit

// goleak as a detector: GoleakHandler serves what go.uber.org/goleak finds, as JSON, so the
// harness can probe it like any other source (docs/fixture-contract.md, /leakbench/goleak).

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"go.uber.org/goleak"
)

// leakedGoroutine is one goroutine goleak reports, in the endpoint's JSON.
type leakedGoroutine struct {
	ID int `json:"id"`
	// State is the goroutine's wait reason (`chan send`, `sync.Mutex.Lock`, `select`, ...),
	// without the notes the runtime appends to it in a dump (see waitReason).
	State string `json:"state"`
	// Function is the first function on the stack, as goleak names it ("with F on top of
	// the stack"); runtime frames are not in a dump, library frames are.
	Function string `json:"function"`
	// CreatedBy is the function whose `go` statement started the goroutine; empty for the
	// main goroutine.
	CreatedBy string `json:"created_by"`
	// Stack is the goroutine's stack as goleak prints it: function and file lines, down to
	// and including the `created by` line and its file line.
	Stack string `json:"stack"`
}

type goleakReport struct {
	Goroutines []leakedGoroutine `json:"goroutines"`
	// FindS is how long goleak.Find took, in seconds (its retries included).
	FindS float64 `json:"find_s"`
	Error string  `json:"error,omitempty"`
}

// GoleakHandler takes goleak.IgnoreCurrent() now (call it once at start-up, after the
// program's own long-lived goroutines have started and before anything that may leak), and
// returns the handler of GET /leakbench/goleak: each request runs goleak.Find with the
// library's default retries, the start-up snapshot, ignoreHTTPServer and opts, and answers
//
//	{"goroutines":[{"id":7,"state":"chan send","function":"main.sendResult",
//	  "created_by":"main.handle","stack":"..."}],"find_s":0.43}
//
// with an empty list when goleak finds nothing, and an `error` field (and no goroutines) when
// Find failed for another reason or its report could not be read.
func GoleakHandler(opts ...goleak.Option) http.HandlerFunc {
	all := append([]goleak.Option{goleak.IgnoreCurrent()}, ignoreHTTPServer()...)
	all = append(all, opts...)
	return func(w http.ResponseWriter, _ *http.Request) {
		t0 := time.Now()
		err := goleak.Find(all...)
		rep := goleakReport{Goroutines: []leakedGoroutine{}, FindS: time.Since(t0).Seconds()}
		if err != nil {
			gs, perr := parseGoleakError(err.Error())
			if perr != nil {
				rep.Error = perr.Error()
			} else {
				rep.Goroutines = gs
			}
		}
		writeJSON(w, rep)
	}
}

// ignoreHTTPServer ignores the goroutines net/http starts per connection and per request of
// the server that serves this endpoint (the harness's probes, over keep-alive connections):
// they appear after the start-up snapshot and come and go with the harness's connections, so
// they are the prober's footprint, not a leak of the program. Only goroutines with these
// functions on their own stack are ignored: a goroutine that a handler starts with `go` has
// its own stack (net/http appears only in its `created by` line), so a handler that leaks
// goroutines is still reported.
func ignoreHTTPServer() []goleak.Option {
	return []goleak.Option{
		// One per open connection: reads the next request, runs its handler.
		goleak.IgnoreAnyFunction("net/http.(*conn).serve"),
		// One per request in flight: watches the connection for the client going away.
		goleak.IgnoreAnyFunction("net/http.(*connReader).backgroundRead"),
	}
}

// goleakPrefix starts the error goleak.Find returns when it finds goroutines.
const goleakPrefix = "found unexpected goroutines:\n["

// parseGoleakError reads the goroutines out of goleak.Find's error text, the only place
// goleak reports them. In goleak v1.3.0 Find returns
// fmt.Errorf("found unexpected goroutines:\n%s", stacks) where stacks is a []stack.Stack,
// so the list is in brackets, its items separated by one space, and each item is
// Stack.String(): "Goroutine %v in state %v, with %v on top of the stack:\n%s" over the
// goroutine's ID, state (the dump header's bracket text), first function and full stack,
// which ends in a newline:
//
//	found unexpected goroutines:
//	[Goroutine 7 in state chan send, with main.sendResult on top of the stack:
//	main.sendResult(0xc000020120, 0x1)
//		/src/cmd/x/main.go:24 +0x3c
//	created by main.handle in goroutine 6
//		/src/cmd/x/main.go:35 +0x8a
//	 Goroutine 9 in state select, 2 minutes, with main.wait on top of the stack:
//	main.wait()
//		/src/cmd/x/main.go:40 +0x55
//	created by main.start in goroutine 1
//		/src/cmd/x/main.go:12 +0x1c
//	]
//
// Items are split at "\n Goroutine ": stack lines start with a function name or a tab,
// never with a space. Any other error text is returned as an error.
func parseGoleakError(text string) ([]leakedGoroutine, error) {
	body, ok := strings.CutPrefix(text, goleakPrefix)
	if !ok {
		return nil, errors.New("goleak: " + firstLine(text))
	}
	body, ok = strings.CutSuffix(body, "]")
	if !ok {
		return nil, errors.New("goleak report without its closing bracket: " + firstLine(text))
	}
	var gs []leakedGoroutine
	for i, item := range strings.Split(body, "\n Goroutine ") {
		if i == 0 {
			if item, ok = strings.CutPrefix(item, "Goroutine "); !ok {
				return nil, errors.New("goleak report item without `Goroutine `: " + firstLine(item))
			}
		}
		g, err := parseGoleakItem(item)
		if err != nil {
			return nil, err
		}
		gs = append(gs, g)
	}
	return gs, nil
}

// parseGoleakItem reads one item after its "Goroutine ":
//
//	7 in state chan send, with main.sendResult on top of the stack:
//	main.sendResult(...)
//	...
func parseGoleakItem(item string) (leakedGoroutine, error) {
	header, stack, _ := strings.Cut(item, "\n")
	bad := func(why string) (leakedGoroutine, error) {
		return leakedGoroutine{}, errors.New("goleak report item " + why + ": " + header)
	}
	header2, ok := strings.CutSuffix(header, " on top of the stack:")
	if !ok {
		return bad("without ` on top of the stack:`")
	}
	idText, rest, ok := strings.Cut(header2, " in state ")
	if !ok {
		return bad("without ` in state `")
	}
	id, err := strconv.Atoi(idText)
	if err != nil {
		return bad("with a bad goroutine ID")
	}
	// The state may hold ", " itself (", 2 minutes"); the function never does.
	cut := strings.LastIndex(rest, ", with ")
	if cut < 0 {
		return bad("without `, with `")
	}
	if stack != "" && !strings.HasSuffix(stack, "\n") {
		stack += "\n" // the split at "\n Goroutine " took the newline of all but the last
	}
	return leakedGoroutine{
		ID:        id,
		State:     waitReason(rest[:cut]),
		Function:  rest[cut+len(", with "):],
		CreatedBy: createdBy(stack),
		Stack:     stack,
	}, nil
}

// waitReason is the wait reason of a dump header's bracket text, which the runtime writes
// (traceback.go, goroutineheader) as the reason, then " (leaked)" (Go 1.26 with the
// goroutineleak profile, once a leak detection cycle has found the goroutine), " (scan)"
// (the GC is scanning its stack), then ", N minutes" and ", locked to thread": so
// `chan send, 2 minutes`, `select, locked to thread` and `chan send (leaked)` give
// `chan send` and `select`. The runtime's wait reasons contain no ", " (runtime2.go's
// waitReasonStrings), so the text up to the first one is the reason with its marks. The
// `(leaked)` mark is another detector's verdict, which goleak's own report must not carry.
func waitReason(state string) string {
	state, _, _ = strings.Cut(state, ", ")
	state = strings.TrimSuffix(state, " (scan)")
	return strings.TrimSuffix(state, " (leaked)")
}

// createdBy is the function of a stack's last line of the form
// "created by F in goroutine N" (Go 1.21 and later) or "created by F" (before).
func createdBy(stack string) string {
	lines := strings.Split(stack, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if f, ok := strings.CutPrefix(lines[i], "created by "); ok {
			f, _, _ = strings.Cut(f, " in goroutine ")
			return f
		}
	}
	return ""
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
