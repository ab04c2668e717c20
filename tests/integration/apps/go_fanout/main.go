// A Go gateway and backend as an uninstrumented user would write them: net/http's goroutine per
// connection, http.Get over the default keep-alive pool, a fan-out from goroutines.
//
//	go_fanout backend PORT PREFIX
//	    GET PREFIX/leaf/<rid>/<n>   200 "ok"
//	go_fanout gateway PORT PREFIX GO_BACKEND_PORT PY_BACKEND_PORT
//	    GET PREFIX/api/<rid>   calls GO_BACKEND PREFIX/leaf/<rid>/0 from the handler, then at
//	                           once from two goroutines GO_BACKEND PREFIX/leaf/<rid>/1 and
//	                           PY_BACKEND PREFIX/items/<rid>; 200 when all three answered 200
//	    GET PREFIX/pool/<rid>  the same three calls made by a worker pool fed by a channel
//	                           (workers started at start-up, not by the request)
package main

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strings"
	"sync"
)

func get(url string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: %d", url, resp.StatusCode)
	}
	return nil
}

type job struct {
	url  string
	done chan error
}

func main() {
	mode, port, prefix := os.Args[1], os.Args[2], os.Args[3]
	mux := http.NewServeMux()
	switch mode {
	case "backend":
		mux.HandleFunc(prefix+"/leaf/", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "ok")
		})
	case "gateway":
		goBackend := "http://127.0.0.1:" + os.Args[4] + prefix
		pyBackend := "http://127.0.0.1:" + os.Args[5] + prefix
		urls := func(rid string) []string {
			return []string{goBackend + "/leaf/" + rid + "/0", goBackend + "/leaf/" + rid + "/1",
				pyBackend + "/items/" + rid}
		}
		mux.HandleFunc(prefix+"/api/", func(w http.ResponseWriter, r *http.Request) {
			u := urls(strings.TrimPrefix(r.URL.Path, prefix+"/api/"))
			errs := make([]error, 3)
			errs[0] = get(u[0])
			var wg sync.WaitGroup
			for i := 1; i < 3; i++ {
				wg.Add(1)
				go func(i int) {
					defer wg.Done()
					errs[i] = get(u[i])
				}(i)
			}
			wg.Wait()
			reply(w, errs)
		})
		jobs := make(chan job)
		for i := 0; i < 4; i++ {
			go func() {
				for j := range jobs {
					j.done <- get(j.url)
				}
			}()
		}
		mux.HandleFunc(prefix+"/pool/", func(w http.ResponseWriter, r *http.Request) {
			u := urls(strings.TrimPrefix(r.URL.Path, prefix+"/pool/"))
			errs := make([]error, 3)
			for i := range u {
				done := make(chan error, 1)
				jobs <- job{u[i], done}
				errs[i] = <-done
			}
			reply(w, errs)
		})
	default:
		log.Fatalf("unknown mode %q", mode)
	}
	log.Fatal(http.ListenAndServe("127.0.0.1:"+port, mux))
}

func reply(w http.ResponseWriter, errs []error) {
	for _, err := range errs {
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
	}
	io.WriteString(w, "ok")
}
