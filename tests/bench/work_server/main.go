// A service whose handler does about 1 ms of CPU work per request: the benchmark's realistic
// case, where a tracer's per-request cost is small next to the work.
// usage: work_server PORT
package main

import (
	"fmt"
	"net/http"
	"os"
	"time"
)

var sink uint64

func work(d time.Duration) {
	end := time.Now().Add(d)
	x := uint64(1)
	for time.Now().Before(end) {
		for i := 0; i < 1000; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	sink += x
}

func main() {
	http.HandleFunc("/work", func(w http.ResponseWriter, r *http.Request) {
		work(time.Millisecond)
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintln(w, "done")
	})
	fmt.Println("listening")
	if err := http.ListenAndServe("127.0.0.1:"+os.Args[1], nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
