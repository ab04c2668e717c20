// A Go web service whose handlers share one go-redis client (a pool of four connections), so one
// Redis connection carries the commands of different requests made by different goroutines.
// Each GET PREFIX/ROUTE/<id> runs: SET, GET, a pipeline (INCR, GET), a transaction (MULTI, SET,
// INCR, EXEC) and a failing INCR (the value is no integer) — 9 commands.
//
// usage: redis_go PORT REDIS_PORT
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"

	"github.com/redis/go-redis/v9"
)

func main() {
	rdb := redis.NewClient(&redis.Options{
		Addr:     "127.0.0.1:" + os.Args[2],
		PoolSize: 4,
		// RESP2 and no CLIENT SETINFO: no HELLO or CLIENT command on each new connection,
		// in whichever request first takes it from the pool
		Protocol:        2,
		DisableIdentity: true,
	})
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		ctx := context.Background()
		id := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]
		key := "item:" + id
		rdb.Set(ctx, key, "value", 0)
		rdb.Get(ctx, key)
		rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			p.Incr(ctx, "visits")
			p.Get(ctx, key)
			return nil
		})
		rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Set(ctx, key+":n", "1", 0)
			p.Incr(ctx, key+":n")
			return nil
		})
		if err := rdb.Incr(ctx, key).Err(); err == nil {
			http.Error(w, "INCR of a string succeeded", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	fmt.Println("listening")
	if err := http.ListenAndServe("127.0.0.1:"+os.Args[1], nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
