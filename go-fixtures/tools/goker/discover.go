package main

// Discovery: the expected answers of $GOROOT/src/runtime/goroutineleakprofile_test.go, read
// with go/parser, joined with the registrations of the test programs (analyze.go).
//
// The test file (read in Go 1.26.8 and 1.27.3) declares, inside TestGoroutineLeakProfile,
// case makers as function literals:
//
//	makeAnyTest := func(name string, flaky bool, repetitions int, leaks ...string) testCase {...}
//	makeTest := func(name string, leaks ...string) testCase {
//		tcase := makeAnyTest(name, false, 2, leaks...)
//		tcase.simple = true
//		return tcase
//	}
//	makeFlakyTest := func(name string, leaks ...string) testCase {... return makeAnyTest(name, true, 10, leaks...) }
//
// lists of cases built with them:
//
//	microTests := []testCase{ makeTest("NilRecv", `NilRecv\.func1\(.* \[chan receive \(nil chan\)\]`), ... }
//
// the environment the programs run with, and what a simple case adds:
//
//	cmdEnv := []string{"GODEBUG=asyncpreemptoff=1", "GOEXPERIMENT=goroutineleakprofile"}
//	if tcase.simple { cmdEnv = append(cmdEnv, "GOMAXPROCS=1") }
//
// and which program directory runs which lists:
//
//	testCases := append(microTests, stressTestCases...)
//	runTests("testgoroutineleakprofile", testCases)
//	runTests("testgoroutineleakprofile/goker", gokerTestCases)
//
// A maker's meaning is read from its own body (which parameter is the flaky flag, what a
// wrapper passes for it, whether it sets `.simple`), not from its name, so a renamed maker still
// reads; a list element that is not a call to a maker is reported in Skipped, never dropped
// silently.

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// TestFile and ProgramsDir are where the Go source tree keeps the cases, relative to GOROOT.
const (
	TestFile    = "src/runtime/goroutineleakprofile_test.go"
	ProgramsDir = "src/runtime/testdata/testgoroutineleakprofile"
)

// Sources are the files of one GOROOT.
type Sources struct {
	Goroot    string
	GoVersion string
	TestFile  string
	Programs  string
}

// MissingError says the GOROOT lacks the test file or the programs.
type MissingError struct {
	Path      string
	GoVersion string
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("%s does not exist (GOROOT of %s): the goroutine leak test programs ship in the source tree of Go >= 1.26",
		e.Path, e.GoVersion)
}

// Locate finds the test file and programs under goroot.
func Locate(goroot string) (*Sources, error) {
	s := &Sources{
		Goroot:    goroot,
		GoVersion: goVersion(goroot),
		TestFile:  filepath.Join(goroot, TestFile),
		Programs:  filepath.Join(goroot, ProgramsDir),
	}
	for _, p := range []string{s.TestFile, s.Programs} {
		if _, err := os.Stat(p); err != nil {
			return nil, &MissingError{Path: p, GoVersion: s.GoVersion}
		}
	}
	return s, nil
}

// goVersion is the first line of GOROOT/VERSION (`go1.26.8`), else this binary's Go.
func goVersion(goroot string) string {
	b, err := os.ReadFile(filepath.Join(goroot, "VERSION"))
	if err == nil {
		if l := strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]); l != "" {
			return l
		}
	}
	return runtime.Version()
}

// Case is one case of the test file, with what leakbench needs to run and judge it.
type Case struct {
	Name string `json:"name"`
	// Package is the program directory that registers the case, relative to the programs
	// directory: "" for the top-level program, "goker" for the GoKer kernels.
	Package string `json:"package"`
	// Fixture is the leakbench fixture that runs it (see Wrap).
	Fixture string `json:"fixture"`
	// File registers the case, relative to the programs directory.
	File string `json:"file"`
	// Group is the test file's list: micro, stress, pattern (common leak patterns), goker.
	Group string `json:"group"`
	// Project is the GoKer project (cockroach, etcd, ...) or, outside GoKer, the group.
	Project string `json:"project"`
	// Kernel is the GoBench id (`cockroach_1055`), from the registering file's name.
	Kernel string `json:"kernel,omitempty"`
	// Flaky: the leak shows only in some interleavings (makeFlakyTest).
	Flaky bool `json:"flaky"`
	// Simple: Go's test runs it with GOMAXPROCS=1 (makeTest).
	Simple bool `json:"simple"`
	// Env is the environment Go's test runs the case with, GOEXPERIMENT left out (the
	// toolchain decides that).
	Env []string `json:"env"`
	// Expected are the regexes over "<function>(<args>) [<wait reason>]" that must all match
	// a leaked goroutine (strict cases); FlakyLeaks may match (flaky cases).
	Expected   []string `json:"expected"`
	FlakyLeaks []string `json:"flaky_leaks"`
	// NoLeak: the case must report no leak at all.
	NoLeak bool `json:"no_leak"`
	// TestLine is where the test file declares it.
	TestLine int `json:"test_line"`
	Analysis
}

// Registration is a case a program registers.
type Registration struct {
	Name    string `json:"name"`
	Package string `json:"package"`
	File    string `json:"file"`
}

// Skip is a list element of the test file that discovery did not understand.
type Skip struct {
	Pos  string `json:"pos"`
	Why  string `json:"why"`
	Text string `json:"text"`
}

// Discovery is everything discover prints.
type Discovery struct {
	Goroot    string `json:"goroot"`
	GoVersion string `json:"go_version"`
	TestFile  string `json:"test_file"`
	Programs  string `json:"programs"`
	Cases     []Case `json:"cases"`
	// Untested are registered by a program but absent from the test file (no expected
	// answer, so leakbench cannot judge them).
	Untested []Registration `json:"untested"`
	// Unregistered are in the test file but registered by no program.
	Unregistered []string `json:"unregistered"`
	Skipped      []Skip   `json:"skipped"`

	// programs are the parsed, type-checked program directories, by package ("" or "goker").
	programs map[string]*program
}

// Discover reads the test file and the programs.
func Discover(s *Sources) (*Discovery, error) {
	exp, err := readExpectations(s.TestFile)
	if err != nil {
		return nil, err
	}
	pkgs, err := programPackages(s.Programs)
	if err != nil {
		return nil, err
	}
	regs := map[string][]*registered{} // case name -> registrations (one per package)
	programs := map[string]*program{}
	for _, rel := range pkgs {
		p, err := analyzePackage(filepath.Join(s.Programs, rel))
		if err != nil {
			return nil, fmt.Errorf("%s: %v", filepath.Join(s.Programs, rel), err)
		}
		programs[rel] = p
		for _, r := range p.registered {
			r.pkg = rel
			regs[r.name] = append(regs[r.name], r)
		}
	}
	d := &Discovery{
		Goroot:    s.Goroot,
		GoVersion: s.GoVersion,
		TestFile:  s.TestFile,
		Programs:  s.Programs,
		Skipped:   exp.skipped,
		programs:  programs,
	}
	tested := map[string]bool{}
	for _, tc := range exp.cases {
		tested[tc.name] = true
		r := pick(regs[tc.name], exp.listPackage[tc.list])
		if r == nil {
			d.Unregistered = append(d.Unregistered, tc.name)
			continue
		}
		c := Case{
			Name:       tc.name,
			Package:    r.pkg,
			Fixture:    FixtureName(r.pkg),
			File:       filepath.ToSlash(filepath.Join(r.pkg, r.file)),
			Group:      groupName(tc.list),
			Flaky:      tc.flaky,
			Simple:     tc.simple,
			Env:        exp.env,
			Expected:   []string{},
			FlakyLeaks: []string{},
			TestLine:   tc.line,
			Analysis:   r.analysis,
		}
		if tc.simple {
			c.Env = append(append([]string{}, exp.env...), exp.simpleEnv...)
		}
		if tc.flaky {
			c.FlakyLeaks = tc.leaks
		} else {
			c.Expected = tc.leaks
		}
		c.NoLeak = len(tc.leaks) == 0
		c.Project, c.Kernel = c.Group, ""
		if proj, num, ok := splitKernel(strings.TrimSuffix(r.file, ".go")); ok && c.Package != "" {
			c.Project, c.Kernel = proj, proj+"_"+num
		}
		d.Cases = append(d.Cases, c)
	}
	for name, rs := range regs {
		if !tested[name] {
			for _, r := range rs {
				d.Untested = append(d.Untested, Registration{Name: name, Package: r.pkg, File: filepath.ToSlash(filepath.Join(r.pkg, r.file))})
			}
		}
	}
	sort.Slice(d.Untested, func(i, j int) bool { return d.Untested[i].Name < d.Untested[j].Name })
	sort.Strings(d.Unregistered)
	if len(d.Cases) == 0 {
		return nil, fmt.Errorf("%s: no cases found (the test file's format changed?)", s.TestFile)
	}
	return d, nil
}

// FixtureName is the leakbench fixture of a program directory: `testgoroutineleakprofile`
// for the top level, `testgoroutineleakprofile-goker` for goker/.
func FixtureName(pkg string) string {
	base := filepath.Base(ProgramsDir)
	if pkg == "" {
		return base
	}
	return base + "-" + strings.ReplaceAll(filepath.ToSlash(pkg), "/", "-")
}

// pick chooses among the registrations of one name: the one in the package the test runs
// the case's list in, else the only one.
func pick(rs []*registered, pkg *string) *registered {
	if pkg != nil {
		for _, r := range rs {
			if r.pkg == *pkg {
				return r
			}
		}
		return nil
	}
	if len(rs) == 1 {
		return rs[0]
	}
	return nil
}

// groupName turns a list variable into a group: microTests → micro, gokerTestCases → goker.
func groupName(list string) string {
	for _, suf := range []string{"TestCases", "Tests", "Cases"} {
		if s := strings.TrimSuffix(list, suf); s != list && s != "" {
			return s
		}
	}
	return list
}

// splitKernel splits a GoKer file stem into project and bug number: cockroach1055 →
// (cockroach, 1055).
func splitKernel(stem string) (string, string, bool) {
	i := strings.IndexFunc(stem, unicode.IsDigit)
	if i <= 0 {
		return "", "", false
	}
	proj, num := stem[:i], stem[i:]
	for _, r := range num {
		if !unicode.IsDigit(r) {
			return "", "", false
		}
	}
	return strings.ToLower(proj), num, true
}

// programPackages lists the program directories: the top level ("") and every
// sub-directory holding Go files.
func programPackages(dir string) ([]string, error) {
	out := []string{""}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		gos, _ := filepath.Glob(filepath.Join(dir, e.Name(), "*.go"))
		if len(gos) > 0 {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// --- the test file ---

type testCase struct {
	name   string
	list   string
	flaky  bool
	simple bool
	leaks  []string
	line   int
}

type expectations struct {
	cases       []testCase
	env         []string
	simpleEnv   []string
	listPackage map[string]*string // list variable -> program directory ("" or "goker")
	skipped     []Skip
}

// maker is what a case-making function literal does with its arguments.
type maker struct {
	nameArg   int  // index of the case name
	leaksFrom int  // index where the leak regexes start (variadic)
	flakyArg  int  // index of the flaky flag, or -1 if fixed
	flaky     bool // the fixed flaky value when flakyArg < 0
	simple    bool // sets `.simple = true`
}

func readExpectations(path string) (*expectations, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		return nil, err
	}
	e := &expectations{listPackage: map[string]*string{}}
	makers := map[string]*maker{}
	envVar := ""
	unions := map[string][]string{} // testCases -> [microTests, stressTestCases, ...]
	var errs []string
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.AssignStmt:
			if len(n.Lhs) != 1 || len(n.Rhs) != 1 {
				return true
			}
			lhs, ok := n.Lhs[0].(*ast.Ident)
			if !ok {
				return true
			}
			switch rhs := n.Rhs[0].(type) {
			case *ast.FuncLit:
				if m := readMaker(rhs, makers); m != nil {
					makers[lhs.Name] = m
				}
			case *ast.CompositeLit:
				if env, ok := envLiteral(rhs); ok {
					envVar, e.env = lhs.Name, env
					return true
				}
				for _, el := range rhs.Elts {
					call, ok := el.(*ast.CallExpr)
					var m *maker
					if ok {
						if id, ok := call.Fun.(*ast.Ident); ok {
							m = makers[id.Name]
						}
					}
					if m == nil {
						if isTestCaseList(rhs) {
							e.skipped = append(e.skipped, Skip{Pos: fset.Position(el.Pos()).String(), Why: "not a call to a case maker", Text: nodeText(fset, el)})
						}
						continue
					}
					tc, err := applyMaker(m, call)
					if err != nil {
						errs = append(errs, fmt.Sprintf("%s: %v", fset.Position(call.Pos()), err))
						continue
					}
					tc.list, tc.line = lhs.Name, fset.Position(call.Pos()).Line
					e.cases = append(e.cases, tc)
				}
			case *ast.CallExpr:
				// testCases := append(microTests, stressTestCases...) / testCases = append(testCases, x...)
				if id, ok := rhs.Fun.(*ast.Ident); ok && id.Name == "append" && len(rhs.Args) == 2 {
					var parts []string
					for _, a := range rhs.Args {
						if ai, ok := a.(*ast.Ident); ok {
							if u, ok := unions[ai.Name]; ok {
								parts = append(parts, u...)
							} else {
								parts = append(parts, ai.Name)
							}
						}
					}
					unions[lhs.Name] = parts
				}
			}
		case *ast.IfStmt:
			// if tcase.simple { cmdEnv = append(cmdEnv, "GOMAXPROCS=1") }
			if sel, ok := n.Cond.(*ast.SelectorExpr); ok && sel.Sel.Name == "simple" && envVar != "" {
				for _, st := range n.Body.List {
					as, ok := st.(*ast.AssignStmt)
					if !ok || len(as.Rhs) != 1 {
						continue
					}
					call, ok := as.Rhs[0].(*ast.CallExpr)
					if !ok || len(call.Args) < 2 {
						continue
					}
					if a0, ok := call.Args[0].(*ast.Ident); !ok || a0.Name != envVar {
						continue
					}
					for _, a := range call.Args[1:] {
						if s, ok := stringLit(a); ok {
							e.simpleEnv = append(e.simpleEnv, s)
						}
					}
				}
			}
		case *ast.CallExpr:
			// runTests("testgoroutineleakprofile/goker", gokerTestCases)
			if len(n.Args) != 2 {
				return true
			}
			dir, ok := stringLit(n.Args[0])
			list, ok2 := n.Args[1].(*ast.Ident)
			base := filepath.Base(ProgramsDir)
			if !ok || !ok2 || (dir != base && !strings.HasPrefix(dir, base+"/")) {
				return true
			}
			pkg := strings.TrimPrefix(strings.TrimPrefix(dir, base), "/")
			lists := unions[list.Name]
			if lists == nil {
				lists = []string{list.Name}
			}
			for _, l := range lists {
				p := pkg
				e.listPackage[l] = &p
			}
		}
		return true
	})
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	var env []string
	for _, kv := range e.env {
		if !strings.HasPrefix(kv, "GOEXPERIMENT=") {
			env = append(env, kv)
		}
	}
	e.env = env
	return e, nil
}

// readMaker reads a case maker's parameters and body; nil if the literal is not one (it does
// not return testCase).
func readMaker(fl *ast.FuncLit, known map[string]*maker) *maker {
	res := fl.Type.Results
	if res == nil || len(res.List) != 1 {
		return nil
	}
	if id, ok := res.List[0].Type.(*ast.Ident); !ok || id.Name != "testCase" {
		return nil
	}
	m := &maker{nameArg: -1, leaksFrom: -1, flakyArg: -1}
	i := 0
	for _, field := range fl.Type.Params.List {
		n := max(1, len(field.Names))
		for k := 0; k < n; k++ {
			switch t := field.Type.(type) {
			case *ast.Ellipsis:
				m.leaksFrom = i
			case *ast.Ident:
				switch {
				case t.Name == "bool":
					m.flakyArg = i
				case t.Name == "string" && m.nameArg < 0:
					m.nameArg = i
				}
			}
			i++
		}
	}
	if m.nameArg < 0 || m.leaksFrom < 0 {
		return nil
	}
	if m.flakyArg >= 0 {
		return m
	}
	// A wrapper: what it passes for the flaky flag in its last call to another maker, and
	// whether it sets .simple = true.
	found := false
	ast.Inspect(fl.Body, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.CallExpr:
			id, ok := n.Fun.(*ast.Ident)
			if !ok {
				return true
			}
			inner := known[id.Name]
			if inner == nil || inner.flakyArg < 0 || inner.flakyArg >= len(n.Args) {
				return true
			}
			if b, ok := n.Args[inner.flakyArg].(*ast.Ident); ok && (b.Name == "true" || b.Name == "false") {
				m.flaky, found = b.Name == "true", true
			}
		case *ast.AssignStmt:
			if len(n.Lhs) == 1 && len(n.Rhs) == 1 {
				sel, ok := n.Lhs[0].(*ast.SelectorExpr)
				val, ok2 := n.Rhs[0].(*ast.Ident)
				if ok && ok2 && sel.Sel.Name == "simple" && val.Name == "true" {
					m.simple = true
				}
			}
		}
		return true
	})
	if !found {
		return nil
	}
	return m
}

func applyMaker(m *maker, call *ast.CallExpr) (testCase, error) {
	var tc testCase
	if m.nameArg >= len(call.Args) {
		return tc, fmt.Errorf("case maker call without a name")
	}
	name, ok := stringLit(call.Args[m.nameArg])
	if !ok {
		return tc, fmt.Errorf("case name is not a string literal")
	}
	tc.name, tc.flaky, tc.simple = name, m.flaky, m.simple
	if m.flakyArg >= 0 {
		b, ok := call.Args[m.flakyArg].(*ast.Ident)
		if !ok || (b.Name != "true" && b.Name != "false") {
			return tc, fmt.Errorf("case %s: flaky flag is not true or false", name)
		}
		tc.flaky = b.Name == "true"
	}
	tc.leaks = []string{}
	for _, a := range call.Args[min(m.leaksFrom, len(call.Args)):] {
		s, ok := stringLit(a)
		if !ok {
			return tc, fmt.Errorf("case %s: an expected leak is not a string literal", name)
		}
		tc.leaks = append(tc.leaks, s)
	}
	return tc, nil
}

// envLiteral reads []string{"K=V", ...} with every element a K=V string literal.
func envLiteral(cl *ast.CompositeLit) ([]string, bool) {
	at, ok := cl.Type.(*ast.ArrayType)
	if !ok || len(cl.Elts) == 0 {
		return nil, false
	}
	if id, ok := at.Elt.(*ast.Ident); !ok || id.Name != "string" {
		return nil, false
	}
	var out []string
	for _, el := range cl.Elts {
		s, ok := stringLit(el)
		if !ok || !strings.Contains(s, "=") || strings.ToUpper(s[:strings.Index(s, "=")]) != s[:strings.Index(s, "=")] {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

func isTestCaseList(cl *ast.CompositeLit) bool {
	at, ok := cl.Type.(*ast.ArrayType)
	if !ok {
		return false
	}
	id, ok := at.Elt.(*ast.Ident)
	return ok && id.Name == "testCase"
}

// stringLit is the value of a string literal, or of literals joined with +.
func stringLit(e ast.Expr) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(e.Value)
		return s, err == nil
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return "", false
		}
		a, ok := stringLit(e.X)
		b, ok2 := stringLit(e.Y)
		return a + b, ok && ok2
	case *ast.ParenExpr:
		return stringLit(e.X)
	}
	return "", false
}

func nodeText(fset *token.FileSet, n ast.Node) string {
	var b strings.Builder
	if err := formatNode(&b, fset, n); err != nil {
		return fmt.Sprintf("%T", n)
	}
	s := b.String()
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}
