// http-body-unclosed: a client calls a backend (an HTTP server inside the fixture, on a
// loopback port of its own) and looks only at the status code; the response body is neither
// read nor closed. The Transport cannot reuse or release a connection whose body is open, so
// every request dials a new one and leaves it behind: per request, the client's
// persistConn.readLoop and writeLoop goroutines, the server's connection goroutine, two
// sockets and their bufio buffers (4 KiB each side, both ways) stay forever.
//
// The leaked goroutines block in the net/http package (readLoop in select, writeLoop in
// select, the server conn in a network read), not in fixture code, so the truth site is
// net/http's readLoop: the function a profile shows. The connections stay reachable (the
// Transport's connection map, the netpoller), so the goroutineleak profile does not list them.
//
// Twin (-fixed): the body is drained and closed, so the connection goes back to the idle pool
// and the next request reuses it: one connection for the whole run.
//
// The backend starts before kit.Main, so goleak's start-up snapshot holds its accept loop;
// the twin's one idle connection (its readLoop and writeLoop) starts later, as in any
// client, and goleak reports it.
package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"

	"leakbench/fixtures/kit"
)

var payload = strings.Repeat("x", 2048)

// backend starts the in-fixture server on a loopback port and returns its URL.
func backend() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "http-body-unclosed: backend:", err)
		os.Exit(2)
	}
	go http.Serve(ln, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, payload)
	}))
	return "http://" + ln.Addr().String() + "/status"
}

// checkStatus is the buggy call: it returns as soon as it has the status line.
//
//go:noinline
func checkStatus(c *http.Client, url string) (bool, error) {
	resp, err := c.Get(url)
	if err != nil {
		return false, err
	}
	return resp.StatusCode == http.StatusOK, nil // the body stays open: the connection is lost
}

// checkStatusFixed drains and closes the body, which returns the connection to the pool.
//
//go:noinline
func checkStatusFixed(c *http.Client, url string) (bool, error) {
	resp, err := c.Get(url)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode == http.StatusOK, nil
}

func main() {
	url := backend()
	kit.Main("net/http.(*persistConn).readLoop", func(k *kit.Kit) {
		c := &http.Client{Transport: &http.Transport{}} // its own pool, apart from the kit's server
		k.Drive(1, func() {
			if k.Fixed {
				checkStatusFixed(c, url)
				return
			}
			if _, err := checkStatus(c, url); err == nil {
				k.Leaked(1) // the response is back with its body open: that connection is gone
			}
		})
	})
}
