package main

// Analysis of the test programs with go/types: which cases each program registers, and
// whether a case can be started again and again in one long-lived process (leakbench's service
// mode) or only once (test mode).
//
// A case cannot be repeated when, from its registered function, the code it can reach (calls,
// function values, goroutines, methods — through an interface, every method of that name in the
// program):
//   - reads a package-level variable that outlives one run: one the program writes somewhere,
//     or one whose value is shared by reference (channel, map, slice, pointer, struct, array).
//     A second run would see the first run's state (NoLeakGlobal's goroutines all wait on one
//     global channel). Write-only variables and never-written plain values (a nil error
//     sentinel) are harmless;
//   - ends the process on purpose (os.Exit, syscall.Exit): it is written to be the whole
//     program. Such a case also runs on the main goroutine (OnMain), as in Go's program;
//   - is registered with registerInit: Go's program runs it during package initialisation.
// Nothing here knows a case by name.

import (
	"fmt"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"path/filepath"
	"sort"
	"strings"
)

// Analysis is what the program's code says about one case.
type Analysis struct {
	// Entry is the registered function, or "func literal".
	Entry string `json:"entry"`
	// InitRegistered: registered with registerInit (Go's program runs it during init).
	InitRegistered bool `json:"init_registered"`
	// ExitsProcess: it can reach os.Exit (or syscall.Exit).
	ExitsProcess bool `json:"exits_process"`
	// OnMain: run on the main goroutine, as the program it was written as.
	OnMain bool `json:"on_main"`
	// SharedState are the package-level variables it reads that outlive a run, with why.
	SharedState []string `json:"shared_state"`
	// Repeatable: it can be started again and again in one process.
	Repeatable bool `json:"repeatable"`
	// NotRepeatable says why not, in one line.
	NotRepeatable string `json:"not_repeatable,omitempty"`
}

type registered struct {
	name     string
	file     string // base name
	pkg      string
	analysis Analysis
}

type program struct {
	fset       *token.FileSet
	files      []*ast.File
	info       *types.Info
	pkg        *types.Package
	registered []*registered
}

// Registration functions of the programs' main.go: register(name, f) adds f to the cases,
// registerInit(name, f) runs f during init when the program is asked for that case.
const (
	registerFunc     = "register"
	registerInitFunc = "registerInit"
)

func parseDir(fset *token.FileSet, dir string) ([]*ast.File, error) {
	names, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var files []*ast.File
	for _, n := range names {
		if strings.HasSuffix(n, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, n, nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no Go files")
	}
	return files, nil
}

func typeCheck(fset *token.FileSet, files []*ast.File) (*types.Package, *types.Info, error) {
	// Export data through `go list -export` first (fast); the source importer if that fails
	// (a toolchain whose go command is not on hand).
	var first error
	for _, imp := range []types.Importer{importer.Default(), importer.ForCompiler(fset, "source", nil)} {
		info := &types.Info{
			Uses:      map[*ast.Ident]types.Object{},
			Defs:      map[*ast.Ident]types.Object{},
			Implicits: map[ast.Node]types.Object{},
		}
		pkg, err := (&types.Config{Importer: imp}).Check("main", fset, files, info)
		if err == nil {
			return pkg, info, nil
		}
		if first == nil {
			first = err
		}
	}
	return nil, nil, first
}

func analyzePackage(dir string) (*program, error) {
	fset := token.NewFileSet()
	files, err := parseDir(fset, dir)
	if err != nil {
		return nil, err
	}
	pkg, info, err := typeCheck(fset, files)
	if err != nil {
		return nil, fmt.Errorf("type check: %v", err)
	}
	a := &analyzer{
		pkg:     pkg,
		info:    info,
		decls:   map[*types.Func]*ast.FuncDecl{},
		methods: map[string][]*types.Func{},
		written: map[*types.Var]bool{},
	}
	for _, f := range files {
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok {
				continue
			}
			fn, ok := info.Defs[fd.Name].(*types.Func)
			if !ok {
				continue
			}
			a.decls[fn] = fd
			if fd.Recv != nil {
				a.methods[fn.Name()] = append(a.methods[fn.Name()], fn)
			}
		}
		a.findWrites(f)
	}
	p := &program{fset: fset, files: files, info: info, pkg: pkg}
	for _, f := range files {
		file := filepath.Base(fset.Position(f.Pos()).Filename)
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 2 {
				return true
			}
			id, ok := call.Fun.(*ast.Ident)
			if !ok {
				return true
			}
			fn, ok := info.Uses[id].(*types.Func)
			if !ok || fn.Pkg() != pkg || (fn.Name() != registerFunc && fn.Name() != registerInitFunc) {
				return true
			}
			name, ok := stringLit(call.Args[0])
			if !ok {
				return true
			}
			r := &registered{name: name, file: file}
			r.analysis = a.analyze(call.Args[1], fn.Name() == registerInitFunc)
			p.registered = append(p.registered, r)
			return true
		})
	}
	return p, nil
}

type analyzer struct {
	pkg     *types.Package
	info    *types.Info
	decls   map[*types.Func]*ast.FuncDecl
	methods map[string][]*types.Func
	written map[*types.Var]bool // package-level variables assigned, incremented or addressed in a function
}

// global is the package-level variable an identifier uses, if it is one.
func (a *analyzer) global(id *ast.Ident) *types.Var {
	v, ok := a.info.Uses[id].(*types.Var)
	if !ok || v.Parent() != a.pkg.Scope() {
		return nil
	}
	return v
}

// root is the variable at the bottom of x.f[i].g or *p.
func root(e ast.Expr) *ast.Ident {
	for {
		switch x := e.(type) {
		case *ast.Ident:
			return x
		case *ast.SelectorExpr:
			e = x.X
		case *ast.IndexExpr:
			e = x.X
		case *ast.StarExpr:
			e = x.X
		case *ast.ParenExpr:
			e = x.X
		default:
			return nil
		}
	}
}

func (a *analyzer) findWrites(f *ast.File) {
	mark := func(e ast.Expr) {
		if id := root(e); id != nil {
			if v := a.global(id); v != nil {
				a.written[v] = true
			}
		}
	}
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Body == nil {
			continue
		}
		ast.Inspect(fd.Body, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.AssignStmt:
				for _, l := range n.Lhs {
					mark(l)
				}
			case *ast.IncDecStmt:
				mark(n.X)
			case *ast.UnaryExpr:
				if n.Op == token.AND {
					mark(n.X)
				}
			case *ast.RangeStmt:
				if n.Tok == token.ASSIGN {
					if n.Key != nil {
						mark(n.Key)
					}
					if n.Value != nil {
						mark(n.Value)
					}
				}
			}
			return true
		})
	}
}

// byReference: a value a run can change without assigning the variable.
func byReference(t types.Type) bool {
	switch t.Underlying().(type) {
	case *types.Chan, *types.Map, *types.Slice, *types.Pointer, *types.Struct, *types.Array:
		return true
	}
	return false
}

// exits is a function that ends the process on purpose. log.Fatal* is not: like a panic, it
// ends a program that failed (Hugo5379 calls it on an error path that never runs).
func exits(fn *types.Func) bool {
	if fn.Pkg() == nil {
		return false
	}
	p := fn.Pkg().Path()
	return (p == "os" || p == "syscall") && fn.Name() == "Exit"
}

func (a *analyzer) analyze(entry ast.Expr, init bool) Analysis {
	res := Analysis{InitRegistered: init, SharedState: []string{}}
	var work []ast.Node
	seen := map[*types.Func]bool{}
	enqueue := func(fn *types.Func) {
		if seen[fn] {
			return
		}
		seen[fn] = true
		if d := a.decls[fn]; d != nil && d.Body != nil {
			work = append(work, d.Body)
		}
	}
	switch e := entry.(type) {
	case *ast.Ident:
		res.Entry = e.Name
		if fn, ok := a.info.Uses[e].(*types.Func); ok {
			enqueue(fn)
		}
	case *ast.FuncLit:
		res.Entry = "func literal"
		work = append(work, e.Body)
	default:
		res.Entry = fmt.Sprintf("%T", e)
	}
	shared := map[string]string{}
	for len(work) > 0 {
		n := work[len(work)-1]
		work = work[:len(work)-1]
		writeOnly := map[*ast.Ident]bool{}
		ast.Inspect(n, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.AssignStmt:
				if n.Tok == token.ASSIGN {
					for _, l := range n.Lhs {
						if id, ok := l.(*ast.Ident); ok {
							writeOnly[id] = true
						}
					}
				}
			case *ast.Ident:
				switch obj := a.info.Uses[n].(type) {
				case *types.Func:
					if exits(obj) {
						res.ExitsProcess = true
					}
					if sig, ok := obj.Type().(*types.Signature); ok && sig.Recv() != nil && types.IsInterface(sig.Recv().Type()) {
						for _, m := range a.methods[obj.Name()] {
							enqueue(m)
						}
					}
					enqueue(obj)
				case *types.Var:
					if obj.Parent() != a.pkg.Scope() || writeOnly[n] {
						return true
					}
					switch {
					case a.written[obj]:
						shared[obj.Name()] = fmt.Sprintf("%s (%s, written by the program)", obj.Name(), obj.Type())
					case byReference(obj.Type()):
						shared[obj.Name()] = fmt.Sprintf("%s (%s, shared by reference)", obj.Name(), obj.Type())
					}
				}
			}
			return true
		})
	}
	for _, k := range sortedKeys(shared) {
		res.SharedState = append(res.SharedState, shared[k])
	}
	res.OnMain = res.ExitsProcess
	var why []string
	if init {
		why = append(why, "registered with registerInit: Go's program runs it during package initialisation, once")
	}
	if res.ExitsProcess {
		why = append(why, "ends the process itself (os.Exit): written to be the whole program, so it runs once, on the main goroutine, with os.Exit ending only its goroutine")
	}
	if len(res.SharedState) > 0 {
		why = append(why, "reads package-level state a second run would share: "+strings.Join(res.SharedState, ", "))
	}
	res.Repeatable = len(why) == 0
	res.NotRepeatable = strings.Join(why, "; ")
	return res
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
