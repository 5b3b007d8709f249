// Command goker reads the Go toolchain's own goroutine leak test programs (GoKer and the
// runtime's micro, stress and pattern cases) for leakbench, at run time: nothing of them is
// copied into this repository.
//
//	goker discover -goroot GOROOT
//	    prints, as JSON, every case of $GOROOT/src/runtime/goroutineleakprofile_test.go with
//	    the main package that registers it, strict or flaky, the expected leak regexes, and
//	    whether it can be started again and again in one process (see analyze.go).
//	goker wrap -goroot GOROOT -fixtures DIR -out DIR
//	    prints the same, and writes a Go module into -out whose cmd/goker-top and cmd/goker-kernels are the two
//	    main packages of $GOROOT/src/runtime/testdata/testgoroutineleakprofile, copied with
//	    their main renamed, plus a wrapper main that follows leakbench's fixture contract
//	    (docs/fixture-contract.md) through the kit of the -fixtures module (see wrap.go).
//
// Exit status 2 means the GOROOT lacks the files (one line on stderr says so); 1 any other
// failure. Standard library only, so it builds wherever Go does.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	cmd, args := os.Args[1], os.Args[2:]
	fs := flag.NewFlagSet("goker "+cmd, flag.ExitOnError)
	goroot := fs.String("goroot", "", "the GOROOT whose test programs to read (`go env GOROOT`)")
	fixtures := fs.String("fixtures", "", "wrap: the go-fixtures module directory (for the kit)")
	out := fs.String("out", "", "wrap: the directory to write the wrapped module into")
	fs.Parse(args)
	if *goroot == "" {
		fatal(1, "-goroot is required")
	}
	src, err := Locate(*goroot)
	if err != nil {
		var missing *MissingError
		if errors.As(err, &missing) {
			fatal(2, err.Error())
		}
		fatal(1, err.Error())
	}
	d, err := Discover(src)
	if err != nil {
		fatal(1, err.Error())
	}
	switch cmd {
	case "discover":
	case "wrap":
		if *fixtures == "" || *out == "" {
			fatal(1, "wrap needs -fixtures and -out")
		}
		if err := Wrap(src, d, *fixtures, *out); err != nil {
			fatal(1, err.Error())
		}
	default:
		usage()
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		fatal(1, err.Error())
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: goker discover -goroot GOROOT | goker wrap -goroot GOROOT -fixtures DIR -out DIR")
	os.Exit(1)
}

func fatal(code int, msg string) {
	fmt.Fprintln(os.Stderr, "goker:", msg)
	os.Exit(code)
}
