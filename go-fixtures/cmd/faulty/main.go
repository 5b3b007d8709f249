// faulty: a fixture that misbehaves on purpose, for the harness's own fault tests
// (harness/tests/). It leaks nothing; it is not a benchmark scenario.
//
// Every mode first writes its argument vector to stderr as one line, `faulty args: [...]`
// (JSON), so a test can check that the harness passed scenario strings literally.
//
// -mode selects the fault:
//   - ok: a well-behaved kit fixture.
//   - crash: ready, then exits with status 3 after -after.
//   - hang: never ready; prints nothing, ignores SIGTERM, sleeps forever.
//   - exit-early: prints a reason to stderr and exits 1 before it is ready.
//   - spew: never ready; writes endless bytes without a newline to stdout.
//   - chatty: a well-behaved kit fixture that also writes 64 MiB of log lines to stderr, as
//     fast as it can (four times what the harness keeps of a fixture's output).
//   - garbage: ready; every endpoint answers 200 with bytes that are neither JSON nor pprof.
//   - slow: ready; every endpoint waits a minute before answering.
//   - huge: ready; every endpoint streams an endless body.
//   - not-loopback: serves on loopback but announces a wildcard address in its ready line.
//   - port-taken: fails to bind because the port is in use (Go's own error text), every time.
//   - port-taken-once: like port-taken on the first start (no -state file yet), ok after.
//   - balloon: a kit fixture that also allocates and touches -balloon-mib MiB, 32 MiB a
//     second from -after.
//   - stubborn: ready; serves nothing useful, ignores SIGTERM and does not watch its parent, so
//     only the harness (process group kill, parent-death signal) can end it. With -children N
//     it first starts N copies of itself in -mode hang, in its own process group.
//
// -marker is ignored: tests give each run a unique one to find its processes in /proc.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"leakbench/fixtures/kit"
)

var (
	mode       = flag.String("mode", "ok", "the fault; see the package comment")
	after      = flag.Duration("after", time.Second, "crash, balloon: when the fault starts")
	balloonMiB = flag.Int("balloon-mib", 256, "balloon: how much to allocate")
	state      = flag.String("state", "", "port-taken-once: a file that marks the first start")
	children   = flag.Int("children", 0, "stubborn: copies of itself to start in its group")
	_          = flag.String("marker", "", "ignored; lets tests find their processes")
)

func main() {
	flag.Parse()
	args, _ := json.Marshal(os.Args[1:])
	fmt.Fprintf(os.Stderr, "faulty args: %s\n", args)
	switch *mode {
	case "ok":
		kit.Main("main.noLeak", func(k *kit.Kit) {})
	case "chatty":
		go func() {
			line := strings.Repeat("y", 64<<10-1) + "\n"
			for i := 0; i < 1024; i++ {
				os.Stderr.WriteString(line)
			}
			fmt.Fprintln(os.Stderr, "faulty: done chatting")
		}()
		kit.Main("main.noLeak", func(k *kit.Kit) {})
	case "crash":
		kit.Main("main.noLeak", func(k *kit.Kit) {
			time.Sleep(*after)
			fmt.Fprintln(os.Stderr, "faulty: crashing on purpose")
			os.Exit(3)
		})
	case "hang":
		signal.Ignore(syscall.SIGTERM)
		sleepForever()
	case "exit-early":
		fmt.Fprintln(os.Stderr, "faulty: giving up before ready")
		os.Exit(1)
	case "spew":
		chunk := []byte(strings.Repeat("x", 64<<10))
		for {
			if _, err := os.Stdout.Write(chunk); err != nil {
				os.Exit(1)
			}
		}
	case "garbage":
		serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("\x00\xffnot json, not a profile{{{\x1f\x8b\x08garbage"))
		}), "")
	case "slow":
		serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-time.After(time.Minute):
			case <-r.Context().Done():
			}
		}), "")
	case "huge":
		serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			chunk := make([]byte, 1<<20)
			for {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}), "")
	case "not-loopback":
		serve(http.NotFoundHandler(), "0.0.0.0")
	case "port-taken", "port-taken-once":
		if *mode == "port-taken-once" && *state != "" {
			if _, err := os.Stat(*state); err == nil {
				kit.Main("main.noLeak", func(k *kit.Kit) {})
			}
			os.WriteFile(*state, []byte("started once\n"), 0o644)
		}
		// Take the port first, as another process would, then try to bind it.
		addr := os.Getenv("LEAKBENCH_LISTEN")
		first, err := net.Listen("tcp", addr)
		if err == nil {
			defer first.Close()
			_, err = net.Listen("tcp", addr)
		}
		fmt.Fprintln(os.Stderr, "faulty: listen:", err)
		os.Exit(2)
	case "balloon":
		kit.Main("main.balloon", func(k *kit.Kit) {
			time.Sleep(*after)
			var held [][]byte
			for i := 0; i < *balloonMiB; i++ {
				b := make([]byte, 1<<20)
				for j := range b {
					b[j] = byte(j)
				}
				held = append(held, b)
				time.Sleep(time.Second / 32)
			}
			for {
				time.Sleep(time.Second)
				_ = held[len(held)-1][0]
			}
		})
	case "stubborn":
		signal.Ignore(syscall.SIGTERM)
		for i := 0; i < *children; i++ {
			// Same process group (the default for exec): the harness's group kill reaches them.
			c := exec.Command(os.Args[0], append([]string{"-mode=hang"}, markerArgs()...)...)
			c.Stderr = os.Stderr
			if err := c.Start(); err != nil {
				fmt.Fprintln(os.Stderr, "faulty: could not start a child:", err)
				os.Exit(1)
			}
			fmt.Fprintf(os.Stderr, "faulty: started child %d\n", c.Process.Pid)
		}
		serve(http.NotFoundHandler(), "")
	default:
		fmt.Fprintf(os.Stderr, "faulty: unknown -mode %q\n", *mode)
		os.Exit(2)
	}
}

// markerArgs passes -marker on to children, so tests find them too.
func markerArgs() []string {
	if f := flag.Lookup("marker"); f != nil && f.Value.String() != "" {
		return []string{"-marker=" + f.Value.String()}
	}
	return nil
}

// serve answers every path with h on LEAKBENCH_LISTEN, prints the readiness line (with
// announce as the host, when set) and never returns. It does not watch its parent: in these
// modes only the harness can stop the fixture.
func serve(h http.Handler, announce string) {
	ln, err := net.Listen("tcp", os.Getenv("LEAKBENCH_LISTEN"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "faulty: listen:", err)
		os.Exit(2)
	}
	go http.Serve(ln, h)
	addr := ln.Addr().String()
	if announce != "" {
		_, port, _ := net.SplitHostPort(addr)
		addr = net.JoinHostPort(announce, port)
	}
	fmt.Printf("LEAKBENCH READY %s\n", addr)
	sleepForever()
}

// sleepForever blocks without looking like a deadlock to the Go runtime.
func sleepForever() {
	for {
		time.Sleep(time.Hour)
	}
}
