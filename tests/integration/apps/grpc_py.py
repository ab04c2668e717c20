"""A gRPC server and client in Python (grpcio), with no tracing of their own.

Same service and client plan as grpc_go/main.go (zt.test.Echo over StringValue messages):
  server: grpc_py.py server PORT
  client: grpc_py.py client ADDR CONCURRENT STREAM_MESSAGES  -> JSON counts of statuses
"""
import concurrent.futures
import json
import sys
import threading

import grpc
from google.protobuf import wrappers_pb2

SV = wrappers_pb2.StringValue


def unary(request, context):
    if request.value == "fail":
        context.abort(grpc.StatusCode.NOT_FOUND, "no such thing")
    if request.value == "crash":
        context.abort(grpc.StatusCode.INTERNAL, "it broke")
    return SV(value=request.value)


def server_stream(request, context):
    name, _, count = request.value.partition(":")
    for i in range(int(count or 0)):
        yield SV(value=f"{name}-{i}")
    if name == "fail":
        context.abort(grpc.StatusCode.ABORTED, "stream gave up")


def serve(port):
    server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=32))
    handlers = {
        "Unary": grpc.unary_unary_rpc_method_handler(
            unary, request_deserializer=SV.FromString, response_serializer=SV.SerializeToString),
        "ServerStream": grpc.unary_stream_rpc_method_handler(
            server_stream, request_deserializer=SV.FromString,
            response_serializer=SV.SerializeToString),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("zt.test.Echo", handlers),))
    server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    server.wait_for_termination()


def code_name(code):
    # the same spelling as grpc-go's codes.Code.String()
    return "".join(w.capitalize() for w in code.name.split("_")) if code else "OK"


def echo_stubs(ch):
    """(Unary, ServerStream) callables of zt.test.Echo on channel ch."""
    return (ch.unary_unary("/zt.test.Echo/Unary", request_serializer=SV.SerializeToString,
                           response_deserializer=SV.FromString),
            ch.unary_stream("/zt.test.Echo/ServerStream",
                            request_serializer=SV.SerializeToString,
                            response_deserializer=SV.FromString))


def client(addr, concurrent, messages):
    counts = {}
    lock = threading.Lock()

    def record(key):
        with lock:
            counts[key] = counts.get(key, 0) + 1

    with grpc.insecure_channel(addr) as ch:
        call, stream = echo_stubs(ch)

        def do_unary(v):
            try:
                call(SV(value=v), timeout=30)
                record("unary:OK")
            except grpc.RpcError as e:
                record("unary:" + code_name(e.code()))

        def do_stream(v):
            n = 0
            try:
                for _ in stream(SV(value=v), timeout=30):
                    n += 1
                record(f"stream:OK:{n}")
            except grpc.RpcError as e:
                record(f"stream:{code_name(e.code())}:{n}")

        do_unary("warmup")  # opens the connection the rest share
        barrier = threading.Barrier(concurrent)

        def concurrent_call(i):
            barrier.wait()
            do_unary(f"hello-{i}")

        threads = [threading.Thread(target=concurrent_call, args=(i,)) for i in range(concurrent)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        do_unary("fail")
        do_unary("crash")
        do_stream(f"ok:{messages}")
        do_stream("fail:2")
    print(json.dumps(counts))


def traced_client(addr, rounds, concurrent, first):
    """ROUNDS x CONCURRENT calls at once on one connection, call n (from FIRST on) with value
    str(n) and its own W3C traceparent, trace id n (an instrumented caller): whoever serves it
    is known by its trace. Odd calls are unary, even ones server-streaming (value "n:2", two
    messages back). Prints the number of OK calls."""
    ok = 0
    lock = threading.Lock()
    with grpc.insecure_channel(addr) as ch:
        call, stream = echo_stubs(ch)
        call(SV(value="0"), timeout=30)  # opens the connection the rest share

        def one(n):
            nonlocal ok
            md = (("traceparent", f"00-{n:032x}-{n:016x}-01"),)
            if n % 2:
                call(SV(value=str(n)), metadata=md, timeout=30)
            elif len(list(stream(SV(value=f"{n}:2"), metadata=md, timeout=30))) != 2:
                return
            with lock:
                ok += 1

        for r in range(rounds):
            threads = [threading.Thread(target=one, args=(first + r * concurrent + i,))
                       for i in range(concurrent)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    print(ok)


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "server":
        serve(int(sys.argv[2]))
    elif len(sys.argv) >= 5 and sys.argv[1] == "client":
        client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif len(sys.argv) >= 6 and sys.argv[1] == "traced-client":
        traced_client(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    else:
        sys.exit("usage: grpc_py.py server PORT | client ADDR CONCURRENT STREAM_MESSAGES | "
                 "traced-client ADDR ROUNDS CONCURRENT FIRST")
