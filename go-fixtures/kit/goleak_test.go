package kit

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// blockedG is a goroutine that signals started, then blocks on a send until unblocked, as
// goleak's own tests make a deterministic leak.
type blockedG struct {
	started chan struct{}
	wait    chan struct{}
}

func startBlockedG() *blockedG {
	bg := &blockedG{started: make(chan struct{}), wait: make(chan struct{})}
	go bg.run()
	<-bg.started
	return bg
}

//go:noinline
func (bg *blockedG) run() {
	close(bg.started)
	bg.wait <- struct{}{}
}

func (bg *blockedG) unblock() { <-bg.wait }

func getGoleak(t *testing.T, h http.Handler) goleakReport {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest("GET", "/leakbench/goleak", nil))
	if w.Code != 200 || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("HTTP %d, %q: %s", w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	var rep goleakReport
	if err := json.Unmarshal(w.Body.Bytes(), &rep); err != nil {
		t.Fatalf("bad JSON %s: %v", w.Body, err)
	}
	return rep
}

func TestGoleakHandlerReportsARealLeakedGoroutine(t *testing.T) {
	h := GoleakHandler()

	// Nothing started since the snapshot: an empty list (not null), found at once.
	rep := getGoleak(t, h)
	if rep.Goroutines == nil || len(rep.Goroutines) != 0 || rep.Error != "" {
		t.Fatalf("before the leak: %+v", rep)
	}
	if rep.FindS < 0 || rep.FindS > 0.3 { // no retry: 0.43 s of sleeps if it had retried
		t.Errorf("find_s = %v with nothing to retry", rep.FindS)
	}

	bg := startBlockedG()
	rep = getGoleak(t, h)
	if rep.Error != "" || len(rep.Goroutines) != 1 {
		t.Fatalf("with one blocked goroutine: %+v", rep)
	}
	g := rep.Goroutines[0]
	const fn = "leakbench/fixtures/kit.(*blockedG).run"
	if g.ID <= 0 || g.State != "chan send" || g.Function != fn ||
		g.CreatedBy != "leakbench/fixtures/kit.startBlockedG" {
		t.Errorf("goroutine = %+v", g)
	}
	if !strings.HasPrefix(g.Stack, fn+"(") || !strings.Contains(g.Stack, "goleak_test.go:") ||
		!strings.Contains(g.Stack, "\ncreated by leakbench/fixtures/kit.startBlockedG in goroutine ") ||
		!strings.HasSuffix(g.Stack, "\n") {
		t.Errorf("stack = %q", g.Stack)
	}
	// goleak retried (about 0.43 s of sleeps in all) before it gave its verdict.
	if rep.FindS < 0.3 {
		t.Errorf("find_s = %v: goleak's default retries should take longer", rep.FindS)
	}

	bg.unblock()
	deadline := time.Now().Add(5 * time.Second)
	for rep = getGoleak(t, h); len(rep.Goroutines) != 0 && time.Now().Before(deadline); rep = getGoleak(t, h) {
	}
	if len(rep.Goroutines) != 0 || rep.Error != "" {
		t.Errorf("after the goroutine ended: %+v", rep)
	}
}

func TestGoleakHandlerIgnoresTheHTTPServersConnections(t *testing.T) {
	// As in kit.Main: the server runs before the snapshot. The client's goroutines (the
	// callers waiting in Client.do, a reader and a writer per connection) are ignored here
	// by name: in a fixture the client is the harness, another process.
	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	mux.Handle("/", GoleakHandler(
		goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
		goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
		goleak.IgnoreAnyFunction("net/http.(*Client).do"),
	))
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	get := func() (goleakReport, error) {
		var rep goleakReport
		resp, err := c.Get(srv.URL)
		if err != nil {
			return rep, err
		}
		defer resp.Body.Close()
		return rep, json.NewDecoder(resp.Body).Decode(&rep)
	}
	// Two requests at once open two keep-alive connections; the third reuses one while
	// the other idles: the server holds a goroutine per connection all along.
	var reps [3]goleakReport
	var errs [3]error
	done := make(chan struct{})
	for i := range 2 {
		go func() { reps[i], errs[i] = get(); done <- struct{}{} }()
	}
	<-done
	<-done
	reps[2], errs[2] = get()
	for i, rep := range reps {
		if errs[i] != nil || rep.Error != "" || len(rep.Goroutines) != 0 {
			t.Errorf("request %d: %v, %+v", i, errs[i], rep)
		}
	}
}

func TestParseGoleakError(t *testing.T) {
	// The text goleak v1.3.0 builds (two items; the second one blocked for minutes).
	text := goleakPrefix +
		"Goroutine 7 in state chan send, with main.sendResult on top of the stack:\n" +
		"main.sendResult(0xc000020120, 0x1)\n" +
		"\t/src/cmd/x/main.go:24 +0x3c\n" +
		"created by main.handle in goroutine 6\n" +
		"\t/src/cmd/x/main.go:35 +0x8a\n" +
		" Goroutine 9 in state select, 2 minutes, with main.wait on top of the stack:\n" +
		"main.wait()\n" +
		"\t/src/cmd/x/main.go:40 +0x55\n" +
		"created by main.start\n" +
		"\t/src/cmd/x/main.go:12 +0x1c\n" +
		"]"
	gs, err := parseGoleakError(text)
	if err != nil || len(gs) != 2 {
		t.Fatalf("%v, %+v", err, gs)
	}
	want := []leakedGoroutine{
		{ID: 7, State: "chan send", Function: "main.sendResult", CreatedBy: "main.handle",
			Stack: "main.sendResult(0xc000020120, 0x1)\n\t/src/cmd/x/main.go:24 +0x3c\ncreated by main.handle in goroutine 6\n\t/src/cmd/x/main.go:35 +0x8a\n"},
		{ID: 9, State: "select", Function: "main.wait", CreatedBy: "main.start",
			Stack: "main.wait()\n\t/src/cmd/x/main.go:40 +0x55\ncreated by main.start\n\t/src/cmd/x/main.go:12 +0x1c\n"},
	}
	for i := range want {
		if gs[i] != want[i] {
			t.Errorf("item %d:\n got %+v\nwant %+v", i, gs[i], want[i])
		}
	}

	for _, bad := range []string{
		"Cleanup can only be passed to VerifyNone or VerifyTestMain",
		goleakPrefix + "Goroutine 7 in state chan send, with main.f on top of the stack:\nmain.f()\n", // no ]
		goleakPrefix + "Goroutine x in state chan send, with main.f on top of the stack:\n]",
		goleakPrefix + "Goroutine 7 in state chan send with main.f on top of the stack:\n]",
		goleakPrefix + "Goroutine 7 state chan send, with main.f on top:\n]",
		goleakPrefix + "7 in state chan send, with main.f on top of the stack:\n]",
	} {
		if gs, err := parseGoleakError(bad); err == nil {
			t.Errorf("%q parsed as %+v", bad, gs)
		}
	}
}

func TestWaitReasonDropsTheDumpsNotes(t *testing.T) {
	for in, want := range map[string]string{
		"chan send":                        "chan send",
		"chan send, 2 minutes":             "chan send",
		"select, locked to thread":         "select",
		"chan send (leaked)":               "chan send",
		"chan receive (nil chan)":          "chan receive (nil chan)",
		"sync.Mutex.Lock, 5 minutes":       "sync.Mutex.Lock",
		"chan receive (leaked), 1 minutes": "chan receive",
		"sync.Mutex.Lock (leaked) (scan)":  "sync.Mutex.Lock",
		"select (scan)":                    "select",
	} {
		if got := waitReason(in); got != want {
			t.Errorf("waitReason(%q) = %q, want %q", in, got, want)
		}
	}
}
