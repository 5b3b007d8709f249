// A small service of the kind leakbench's users bring: plain net/http/pprof, no leakbench kit.
// Each request to /work starts a goroutine that sends its result on an unbuffered channel;
// after -leak-after the handler stops waiting for the result (a timeout that is too short),
// so every later request leaves one goroutine blocked forever in sendResult.
package main

import (
	"flag"
	"net/http"
	_ "net/http/pprof"
	"time"
)

func sendResult(ch chan int, v int) { ch <- v }

func main() {
	addr := flag.String("addr", "127.0.0.1:6060", "listen address")
	leakAfter := flag.Duration("leak-after", 3*time.Second, "when the handler starts abandoning its workers")
	flag.Parse()
	start := time.Now()
	work := func() {
		ch := make(chan int)
		go sendResult(ch, 42)
		if time.Since(start) < *leakAfter {
			<-ch
		}
	}
	// Its own load: 50 requests' worth of work per second.
	go func() {
		for range time.Tick(20 * time.Millisecond) {
			work()
		}
	}()
	http.HandleFunc("/work", func(w http.ResponseWriter, r *http.Request) { work() })
	if err := http.ListenAndServe(*addr, nil); err != nil {
		panic(err)
	}
}
