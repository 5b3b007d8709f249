package kit

import (
	"runtime"
	"runtime/debug"
	"strconv"
	"testing"
)

func TestReadRuntimeReportsTheSettingsInForceAndLeavesThem(t *testing.T) {
	old := debug.SetGCPercent(37)
	defer debug.SetGCPercent(old)
	oldLim := debug.SetMemoryLimit(64 << 20)
	defer debug.SetMemoryLimit(oldLim)
	f := readRuntime()
	if f.GOGC != "37" || f.GOMEMLIMIT != strconv.Itoa(64<<20) {
		t.Fatalf("got GOGC=%s GOMEMLIMIT=%s", f.GOGC, f.GOMEMLIMIT)
	}
	if f.GoVersion != runtime.Version() || f.GOMAXPROCS != runtime.GOMAXPROCS(0) {
		t.Fatalf("got %+v", f)
	}
	if now := debug.SetGCPercent(37); now != 37 {
		t.Fatalf("reading GOGC changed it to %d", now)
	}
	debug.SetGCPercent(-1)
	if f := readRuntime(); f.GOGC != "off" {
		t.Fatalf("GOGC off read as %s", f.GOGC)
	}
}
