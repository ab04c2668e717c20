// A Go service: /work does about 1 ms of CPU work per request (the benchmark's realistic case,
// where a tracer's per-request cost is small next to the work); /tiny only answers (the worst
// case, where almost all the work is the socket I/O and the goroutines a tracer follows);
// /call answers after one net/http call to /tiny (a gateway's worst case); /grpc after one
// grpc-go unary call to a gRPC server of its own, over one connection (a gRPC client's case).
// usage: work_server PORT
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/wrapperspb"
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
	http.HandleFunc("/tiny", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	// a gateway's worst case: one net/http call (to /tiny, over the keep-alive pool) per request
	self := "http://127.0.0.1:" + os.Args[1] + "/tiny"
	http.DefaultTransport.(*http.Transport).MaxIdleConnsPerHost = 64
	http.HandleFunc("/call", func(w http.ResponseWriter, r *http.Request) {
		resp, err := http.Get(self)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		fmt.Fprintln(w, "ok")
	})
	http.HandleFunc("/grpc", grpcCaller())
	fmt.Println("listening")
	if err := http.ListenAndServe("127.0.0.1:"+os.Args[1], nil); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// zt.bench.Echo/Unary answers its request (a StringValue: no code generation)
var echoDesc = grpc.ServiceDesc{
	ServiceName: "zt.bench.Echo",
	HandlerType: (*interface{})(nil),
	Methods: []grpc.MethodDesc{{MethodName: "Unary", Handler: func(_ interface{},
		_ context.Context, dec func(interface{}) error, _ grpc.UnaryServerInterceptor) (
		interface{}, error) {
		in := new(wrapperspb.StringValue)
		if err := dec(in); err != nil {
			return nil, err
		}
		return in, nil
	}}},
}

func grpcCaller() http.HandlerFunc {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	s := grpc.NewServer()
	s.RegisterService(&echoDesc, nil)
	go s.Serve(lis)
	conn, err := grpc.NewClient(lis.Addr().String(),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	return func(w http.ResponseWriter, r *http.Request) {
		out := new(wrapperspb.StringValue)
		if err := conn.Invoke(r.Context(), "/zt.bench.Echo/Unary", wrapperspb.String("ping"),
			out); err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		fmt.Fprintln(w, "ok")
	}
}
