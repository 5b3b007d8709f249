package main

// Tests on a small GOROOT written here, in the shape of Go's own (discover.go quotes it), so
// they check the reading rules without copying Go's files. The Rust integration tests read the
// installed GOROOT.

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const fakeTest = "package runtime_test\n\n" +
	"func TestGoroutineLeakProfile(t *testing.T) {\n" +
	"\ttype testCase struct{ name string; simple bool }\n" +
	"\tmakeAnyTest := func(name string, flaky bool, repetitions int, leaks ...string) testCase { return testCase{name: name} }\n" +
	"\tmakeTest := func(name string, leaks ...string) testCase {\n" +
	"\t\ttcase := makeAnyTest(name, false, 2, leaks...)\n" +
	"\t\ttcase.simple = true\n" +
	"\t\treturn tcase\n" +
	"\t}\n" +
	"\tmakeFlakyTest := func(name string, leaks ...string) testCase {\n" +
	"\t\tif testing.Short() {\n" +
	"\t\t\treturn makeAnyTest(name, true, 2, leaks...)\n" +
	"\t\t}\n" +
	"\t\treturn makeAnyTest(name, true, 10, leaks...)\n" +
	"\t}\n" +
	"\tmicroTests := []testCase{\n" +
	"\t\tmakeTest(\"Send\", `Send\\.func1\\(.* \\[chan send\\]`),\n" +
	"\t\tmakeTest(\"Global\"),\n" +
	"\t\tmakeTest(\"Quit\", `Quit\\.func1\\(.* \\[chan receive\\]`),\n" +
	"\t\ttestCase{name: \"Odd\"},\n" +
	"\t}\n" +
	"\tkernelTestCases := []testCase{\n" +
	"\t\tmakeFlakyTest(\"Acme12\", `Acme12\\.func2\\(.* \\[sync\\.Mutex\\.Lock\\]`, " + "`x`" + "+`y`),\n" +
	"\t}\n" +
	"\trunTests := func(dir string, cs []testCase) {\n" +
	"\t\tcmdEnv := []string{\"GODEBUG=asyncpreemptoff=1\", \"GOEXPERIMENT=goroutineleakprofile\"}\n" +
	"\t\tvar tcase testCase\n" +
	"\t\tif tcase.simple {\n" +
	"\t\t\tcmdEnv = append(cmdEnv, \"GOMAXPROCS=1\")\n" +
	"\t\t}\n" +
	"\t}\n" +
	"\ttestCases := append(microTests)\n" +
	"\trunTests(\"testgoroutineleakprofile\", testCases)\n" +
	"\trunTests(\"testgoroutineleakprofile/goker\", kernelTestCases)\n" +
	"}\n"

const fakeMain = `package main

import "os"

var cmds = map[string]func(){}

func register(name string, f func()) { cmds[name] = f }

func registerInit(name string, f func()) {
	if len(os.Args) >= 2 && os.Args[1] == name {
		f()
	}
}

func main() { cmds[os.Args[1]]() }
`

const fakeTop = `package main

import (
	"os"
	"runtime/pprof"
)

func init() {
	register("Send", Send)
	register("Global", Global)
	registerInit("Quit", Quit)
}

var ch = make(chan int)

var errSentinel error

var written int

func Send() {
	prof := pprof.Lookup("goroutineleak")
	go func() { make(chan int) <- 0 }()
	written = 1 // write-only: harmless
	if errSentinel != nil {
		return
	}
	prof.WriteTo(os.Stdout, 2)
}

func Global() {
	go func() { <-ch }()
}

func Quit() {
	go func() { <-make(chan int) }()
	go func() { os.Exit(0) }()
	select {}
}
`

const fakeKernel = `package main

import "sync"

func init() { register("Acme12", Acme12) }

type locker interface{ lock() }

type store_acme12 struct{ mu sync.Mutex }

var counter int

func (s *store_acme12) lock() { counter++; s.mu.Lock() }

func Acme12() {
	var l locker = &store_acme12{}
	go func() { l.lock(); l.lock() }()
}
`

func fakeGoroot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for path, body := range map[string]string{
		TestFile:                              fakeTest,
		ProgramsDir + "/main.go":              fakeMain,
		ProgramsDir + "/simple.go":            fakeTop,
		ProgramsDir + "/goker/main.go":        fakeMain,
		ProgramsDir + "/goker/acme12.go":      fakeKernel,
		ProgramsDir + "/goker/unlisted999.go": "package main\n\nfunc init() { register(\"Unlisted999\", func() {}) }\n",
		"VERSION":                             "go1.26.8\ntime 2026\n",
	} {
		p := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func discoverFake(t *testing.T) (*Sources, *Discovery) {
	t.Helper()
	s, err := Locate(fakeGoroot(t))
	if err != nil {
		t.Fatal(err)
	}
	d, err := Discover(s)
	if err != nil {
		t.Fatal(err)
	}
	return s, d
}

func caseNamed(t *testing.T, d *Discovery, name string) Case {
	t.Helper()
	for _, c := range d.Cases {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no case %s in %+v", name, d.Cases)
	return Case{}
}

func TestDiscoverReadsMakersListsEnvAndPackages(t *testing.T) {
	_, d := discoverFake(t)
	if d.GoVersion != "go1.26.8" || len(d.Cases) != 4 {
		t.Fatalf("version %s, %d cases", d.GoVersion, len(d.Cases))
	}
	send := caseNamed(t, d, "Send")
	if send.Flaky || !send.Simple || send.Package != "" || send.Group != "micro" || send.Project != "micro" {
		t.Errorf("Send: %+v", send)
	}
	if !reflect.DeepEqual(send.Env, []string{"GODEBUG=asyncpreemptoff=1", "GOMAXPROCS=1"}) {
		t.Errorf("Send env %v (GOEXPERIMENT is the toolchain's business)", send.Env)
	}
	if !reflect.DeepEqual(send.Expected, []string{`Send\.func1\(.* \[chan send\]`}) || len(send.FlakyLeaks) != 0 {
		t.Errorf("Send leaks %v %v", send.Expected, send.FlakyLeaks)
	}
	acme := caseNamed(t, d, "Acme12")
	if !acme.Flaky || acme.Simple || acme.Package != "goker" || acme.Fixture != "testgoroutineleakprofile-goker" ||
		acme.Project != "acme" || acme.Kernel != "acme_12" || acme.File != "goker/acme12.go" {
		t.Errorf("Acme12: %+v", acme)
	}
	if !reflect.DeepEqual(acme.FlakyLeaks, []string{`Acme12\.func2\(.* \[sync\.Mutex\.Lock\]`, "xy"}) {
		t.Errorf("Acme12 flaky leaks %v", acme.FlakyLeaks)
	}
	if !reflect.DeepEqual(acme.Env, []string{"GODEBUG=asyncpreemptoff=1"}) {
		t.Errorf("Acme12 env %v", acme.Env)
	}
	if g := caseNamed(t, d, "Global"); !g.NoLeak {
		t.Errorf("Global must be a no-leak case: %+v", g)
	}
	if len(d.Skipped) != 1 || !strings.Contains(d.Skipped[0].Text, "Odd") {
		t.Errorf("skipped %+v", d.Skipped)
	}
	if len(d.Untested) != 1 || d.Untested[0].Name != "Unlisted999" {
		t.Errorf("untested %+v", d.Untested)
	}
}

func TestAnalysisFindsSharedStateExitsAndInit(t *testing.T) {
	_, d := discoverFake(t)
	if c := caseNamed(t, d, "Send"); !c.Repeatable || len(c.SharedState) != 0 {
		t.Errorf("Send only writes a global and reads a never-written error: %+v", c.Analysis)
	}
	g := caseNamed(t, d, "Global")
	if g.Repeatable || len(g.SharedState) != 1 || !strings.HasPrefix(g.SharedState[0], "ch (chan int") {
		t.Errorf("Global reads a global channel: %+v", g.Analysis)
	}
	q := caseNamed(t, d, "Quit")
	if q.Repeatable || !q.ExitsProcess || !q.OnMain || !q.InitRegistered {
		t.Errorf("Quit: %+v", q.Analysis)
	}
	a := caseNamed(t, d, "Acme12")
	if a.Repeatable || len(a.SharedState) != 1 || !strings.HasPrefix(a.SharedState[0], "counter (int, written") {
		t.Errorf("Acme12 reaches counter through an interface method: %+v", a.Analysis)
	}
}

func TestLocateMissing(t *testing.T) {
	_, err := Locate(t.TempDir())
	if _, ok := err.(*MissingError); !ok {
		t.Fatalf("want MissingError, got %v", err)
	}
}

func TestWrapRewritesOnTheSyntaxTree(t *testing.T) {
	s, d := discoverFake(t)
	fixtures := t.TempDir()
	os.WriteFile(filepath.Join(fixtures, "go.mod"), []byte("module leakbench/fixtures\n"), 0o644)
	out := t.TempDir()
	if err := Wrap(s, d, fixtures, out); err != nil {
		t.Fatal(err)
	}
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join(out, p))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	top := read("cmd/testgoroutineleakprofile/simple.go")
	for _, want := range []string{`pprof "leakbench/goker/cmd/testgoroutineleakprofile/casepprof"`, "leakbenchCaseExit(0)", `register("Quit", Quit)`, `"os"`} {
		if !strings.Contains(top, want) {
			t.Errorf("simple.go lacks %q:\n%s", want, top)
		}
	}
	if strings.Contains(top, "os.Exit") || strings.Contains(top, "registerInit(\"Quit\"") {
		t.Errorf("simple.go still exits or registers at init:\n%s", top)
	}
	if m := read("cmd/testgoroutineleakprofile/main.go"); !strings.Contains(m, "func leakbenchOriginalMain()") {
		t.Errorf("main not renamed:\n%s", m)
	}
	w := read("cmd/testgoroutineleakprofile/leakbench_main.go")
	if !strings.Contains(w, `{site: "main.Global", leaks: false, onMain: false, repeatable: false`) ||
		!strings.Contains(w, `{site: "main.Quit", leaks: true, onMain: true`) {
		t.Errorf("case table:\n%s", w)
	}
	if !strings.Contains(read("go.mod"), "// kit: sha256 ") || !strings.Contains(read("go.work"), fixtures) {
		t.Errorf("go.mod/go.work:\n%s\n%s", read("go.mod"), read("go.work"))
	}
	if _, err := os.Stat(filepath.Join(out, "cmd/testgoroutineleakprofile-goker/casepprof/casepprof.go")); err != nil {
		t.Error(err)
	}
}
