"""HTTP/2 and gRPC spans read off the socket: gRPC between Python (grpcio) and Go (grpc-go) in
both directions and from Node (@grpc/grpc-js) to Go, and h2c from curl to nginx — all
uninstrumented, spans read back from Jaeger."""
import collections
import json
import os
import subprocess

from harness import APPS, GRPC_GO, free_port, nginx_server

CONCURRENT = 100  # calls in flight at once on the one connection: gRPC batches their frames
STREAM_MESSAGES = 4
# the client plan (apps/grpc_py.py, apps/grpc_go/main.go): a warm-up call, CONCURRENT calls
# at once, two failing calls, a stream that succeeds and one that fails after two messages
UNARY = 1 + CONCURRENT + 2
CALLS = UNARY + 2
CLIENT_SAW = {"unary:OK": 1 + CONCURRENT, "unary:NotFound": 1, "unary:Internal": 1,
              f"stream:OK:{STREAM_MESSAGES}": 1, "stream:Aborted:2": 1}
# grpc status codes: OK 0, NOT_FOUND 5, ABORTED 10, INTERNAL 13
STATUS_CODES = {0: 1 + CONCURRENT + 1, 5: 1, 13: 1, 10: 1}


def grpc_cmd(runtime, *args):
    if runtime == "go":
        return [GRPC_GO, *args]
    if runtime == "node":  # a client only
        return ["node", os.path.join(APPS, "grpc_node", "client.js"), *args]
    return ["python3", os.path.join(APPS, "grpc_py.py"), *args]


def parent_of(span):
    refs = [r for r in span.get("references", []) if r["refType"] == "CHILD_OF"]
    return refs[0]["spanID"] if refs else None


def is_error(span):
    return span["tagmap"].get("otel.status_code") == "ERROR" or span["tagmap"].get("error") is True


def check_grpc_spans(spans, kind):
    assert len(spans) == CALLS, collections.Counter(s["operationName"] for s in spans)
    names = collections.Counter(s["operationName"] for s in spans)
    assert names == {"zt.test.Echo/Unary": UNARY, "zt.test.Echo/ServerStream": 2}
    codes = collections.Counter(s["tagmap"]["rpc.grpc.status_code"] for s in spans)
    assert codes == STATUS_CODES
    for s in spans:
        t = s["tagmap"]
        assert t["span.kind"] == kind
        assert t["rpc.system"] == "grpc"
        assert t["rpc.service"] == "zt.test.Echo"
        assert t["rpc.method"] == s["operationName"].split("/")[1]
        assert t["network.protocol.version"] == "2"
        assert t["http.request.method"] == "POST"
        assert t["http.response.status_code"] == 200
        assert "zerotrace.incomplete" not in t
        code = t["rpc.grpc.status_code"]
        # gRPC semantic conventions: any non-OK fails a client span; a server span only fails
        # for the server's own faults (INTERNAL here, not NOT_FOUND or ABORTED)
        assert is_error(s) == (code != 0 if kind == "client" else code == 13), (kind, code)
        assert t["zerotrace.rpc.request_messages"] == 1
        if t["rpc.method"] == "ServerStream":
            want = STREAM_MESSAGES if code == 0 else 2
            assert t["zerotrace.rpc.response_messages"] == want
        else:
            assert t["zerotrace.rpc.response_messages"] == (1 if code == 0 else 0)


def run_grpc(procs, client, server, nonce):
    port = free_port()
    server_svc, client_svc = f"grpc{server}-srv{nonce}", f"grpc{client}-cli{nonce}"
    procs.start(grpc_cmd(server, "server", str(port)),
                env_extra={"OTEL_SERVICE_NAME": server_svc}, wait_port=port)
    out = subprocess.run(grpc_cmd(client, "client", f"127.0.0.1:{port}", str(CONCURRENT),
                                  str(STREAM_MESSAGES)),
                         env=dict(os.environ, OTEL_SERVICE_NAME=client_svc),
                         capture_output=True, text=True, check=True, timeout=120)
    assert json.loads(out.stdout) == CLIENT_SAW
    return port, server_svc, client_svc


def check_one_trace_per_call(server_spans, client_spans, port):
    clients = {s["spanID"]: s for s in client_spans}
    for s in server_spans:
        parent = clients.get(parent_of(s))
        assert parent is not None, s["operationName"]
        assert parent["traceID"] == s["traceID"]
        assert parent["operationName"] == s["operationName"]
        assert parent["tagmap"]["rpc.grpc.status_code"] == s["tagmap"]["rpc.grpc.status_code"]
        assert parent["tagmap"]["server.port"] == port
    # every call went over the one connection the client opened
    assert len({s["tagmap"]["network.peer.port"] for s in server_spans}) == 1


def check_grpc_pair(otlp_agent, jaeger, procs, nonce, client, server):
    """A client in one runtime calls a server in another: both sides' spans, one trace per
    call."""
    port, server_svc, client_svc = run_grpc(procs, client, server, nonce.strip("/"))
    assert otlp_agent.stop() == 0
    server_spans = jaeger.wait_spans(server_svc, CALLS)
    client_spans = jaeger.wait_spans(client_svc, CALLS)
    check_grpc_spans(server_spans, "server")
    check_grpc_spans(client_spans, "client")
    check_one_trace_per_call(server_spans, client_spans, port)


def test_grpc_python_client_go_server(otlp_agent, jaeger, procs, nonce):
    check_grpc_pair(otlp_agent, jaeger, procs, nonce, "py", "go")


def test_grpc_go_client_python_server(otlp_agent, jaeger, procs, nonce):
    check_grpc_pair(otlp_agent, jaeger, procs, nonce, "go", "py")


def test_grpc_node_client_go_server(otlp_agent, jaeger, procs, nonce):
    check_grpc_pair(otlp_agent, jaeger, procs, nonce, "node", "go")


def test_h2c_curl_to_nginx(otlp_agent, jaeger, procs, nonce, tmp_path):
    port = free_port()
    nginx_server(procs, tmp_path, port, nonce, http2=True)
    plan = [(f"{nonce}/api/users/{n}", 200) for n in (1, 2, 3)] + [(f"{nonce}/fail", 503)]
    for path, status in plan:
        got = subprocess.run(["curl", "-sS", "--http2-prior-knowledge", "-o", "/dev/null",
                              "-w", "%{http_version} %{http_code}",
                              f"http://127.0.0.1:{port}{path}"],
                             capture_output=True, text=True, check=True, timeout=30).stdout
        assert got == f"2 {status}"
    assert otlp_agent.stop() == 0
    spans = jaeger.wait_spans("nginx", len(plan),
                              match=lambda s: s["tagmap"].get("url.path", "").startswith(nonce))
    assert len(spans) == len(plan)
    ops = collections.Counter((s["operationName"], s["tagmap"]["http.response.status_code"])
                              for s in spans)
    assert ops == {(f"GET {nonce}/api/users/{{id}}", 200): 3, (f"GET {nonce}/fail", 503): 1}
    for s in spans:
        t = s["tagmap"]
        assert t["span.kind"] == "server"
        assert t["network.protocol.version"] == "2"
        assert t["http.route"] == s["operationName"].split(" ", 1)[1]
        assert t["server.port"] == port
        assert "rpc.system" not in t
        assert is_error(s) == (t["http.response.status_code"] >= 500)
        # curl's own CLIENT span is the parent, on this node
        parent = parent_of(s)
        assert parent is not None
        curl = [c for c in jaeger.spans("curl", lambda c, p=parent: c["spanID"] == p)]
        assert len(curl) == 1 and curl[0]["traceID"] == s["traceID"]
        assert curl[0]["tagmap"]["span.kind"] == "client"
