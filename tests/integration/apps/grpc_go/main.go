// A gRPC server and client with no tracing of their own, for the agent to trace from outside.
// Service zt.test.Echo (messages are google.protobuf.StringValue, so no code generation):
//
//	Unary(v)        → v, or status NOT_FOUND when v is "fail", INTERNAL when v is "crash"
//	ServerStream(v) → "<v>-0" … "<v>-<n-1>" for v "name:n"; status ABORTED after them when
//	                  name is "fail"
//
// server: grpc_go server PORT [BACKEND] — with BACKEND, each Unary(v) and each ServerStream(v)
// first calls another service: BACKEND_URL/v over net/http, or for "grpc://ADDR" the same
// method with v at ADDR, every call on one connection (a gRPC service calling another)
// client: grpc_go client ADDR CONCURRENT STREAM_MESSAGES — one connection; CONCURRENT unary
// calls at once, two failing ones, one stream that succeeds, one that fails; prints JSON counts
// of the status codes it saw.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

type echoServer interface{}

var backend string // see server

// backendConn: the one connection to a gRPC backend ("grpc://ADDR"), every call on it
var backendConn *grpc.ClientConn

func callBackend(ctx context.Context, v string, streaming bool) error {
	if backendConn != nil {
		code := codes.OK
		if streaming {
			_, code = serverStream(ctx, backendConn, v)
		} else {
			code = unary(ctx, backendConn, v)
		}
		if code != codes.OK {
			return status.Error(codes.Unavailable, "backend: "+code.String())
		}
		return nil
	}
	if backend == "" {
		return nil
	}
	resp, err := http.Get(backend + "/" + v)
	if err != nil {
		return status.Error(codes.Unavailable, err.Error())
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return nil
}

type echo struct{}

func unaryHandler(srv interface{}, ctx context.Context, dec func(interface{}) error,
	_ grpc.UnaryServerInterceptor) (interface{}, error) {
	in := new(wrapperspb.StringValue)
	if err := dec(in); err != nil {
		return nil, err
	}
	if err := callBackend(ctx, in.Value, false); err != nil {
		return nil, err
	}
	switch in.Value {
	case "fail":
		return nil, status.Error(codes.NotFound, "no such thing")
	case "crash":
		return nil, status.Error(codes.Internal, "it broke")
	}
	return wrapperspb.String(in.Value), nil
}

func streamHandler(srv interface{}, stream grpc.ServerStream) error {
	in := new(wrapperspb.StringValue)
	if err := stream.RecvMsg(in); err != nil {
		return err
	}
	if err := callBackend(stream.Context(), in.Value, true); err != nil {
		return err
	}
	name, count, _ := strings.Cut(in.Value, ":")
	n, _ := strconv.Atoi(count)
	for i := 0; i < n; i++ {
		if err := stream.SendMsg(wrapperspb.String(fmt.Sprintf("%s-%d", name, i))); err != nil {
			return err
		}
	}
	if name == "fail" {
		return status.Error(codes.Aborted, "stream gave up")
	}
	return nil
}

var serviceDesc = grpc.ServiceDesc{
	ServiceName: "zt.test.Echo",
	HandlerType: (*echoServer)(nil),
	Methods:     []grpc.MethodDesc{{MethodName: "Unary", Handler: unaryHandler}},
	Streams: []grpc.StreamDesc{{StreamName: "ServerStream", Handler: streamHandler,
		ServerStreams: true}},
}

func serve(port string) {
	lis, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	s := grpc.NewServer()
	s.RegisterService(&serviceDesc, echo{})
	if err := s.Serve(lis); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

func unary(ctx context.Context, conn *grpc.ClientConn, v string) codes.Code {
	out := new(wrapperspb.StringValue)
	err := conn.Invoke(ctx, "/zt.test.Echo/Unary", wrapperspb.String(v), out)
	return status.Code(err)
}

func serverStream(ctx context.Context, conn *grpc.ClientConn, v string) (int, codes.Code) {
	desc := &grpc.StreamDesc{StreamName: "ServerStream", ServerStreams: true}
	st, err := conn.NewStream(ctx, desc, "/zt.test.Echo/ServerStream")
	if err != nil {
		return 0, status.Code(err)
	}
	if err := st.SendMsg(wrapperspb.String(v)); err != nil {
		return 0, status.Code(err)
	}
	if err := st.CloseSend(); err != nil {
		return 0, status.Code(err)
	}
	n := 0
	for {
		m := new(wrapperspb.StringValue)
		if err := st.RecvMsg(m); err == io.EOF {
			return n, codes.OK
		} else if err != nil {
			return n, status.Code(err)
		}
		n++
	}
}

func client(addr string, concurrent, messages int) {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	counts := map[string]int{}
	var mu sync.Mutex
	record := func(k string) { mu.Lock(); counts[k]++; mu.Unlock() }

	// one call first, so the rest are multiplexed on the connection it opened
	record("unary:" + unary(ctx, conn, "warmup").String())
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < concurrent; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			record("unary:" + unary(ctx, conn, fmt.Sprintf("hello-%d", i)).String())
		}(i)
	}
	close(start)
	wg.Wait()
	record("unary:" + unary(ctx, conn, "fail").String())
	record("unary:" + unary(ctx, conn, "crash").String())
	n, code := serverStream(ctx, conn, fmt.Sprintf("ok:%d", messages))
	record(fmt.Sprintf("stream:%s:%d", code, n))
	n, code = serverStream(ctx, conn, "fail:2")
	record(fmt.Sprintf("stream:%s:%d", code, n))
	json.NewEncoder(os.Stdout).Encode(counts)
}

func main() {
	if len(os.Args) >= 3 && os.Args[1] == "server" {
		if len(os.Args) >= 4 {
			backend = os.Args[3]
		}
		if strings.HasPrefix(backend, "grpc://") { // no strings.CutPrefix in Go 1.19
			var err error
			backendConn, err = grpc.NewClient(strings.TrimPrefix(backend, "grpc://"),
				grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				os.Exit(1)
			}
		}
		serve(os.Args[2])
		return
	}
	if len(os.Args) >= 5 && os.Args[1] == "client" {
		c, _ := strconv.Atoi(os.Args[3])
		m, _ := strconv.Atoi(os.Args[4])
		client(os.Args[2], c, m)
		return
	}
	fmt.Fprintln(os.Stderr, "usage: grpc_go server PORT | client ADDR CONCURRENT STREAM_MESSAGES")
	os.Exit(2)
}
