"""Go services get the right trees: goroutines followed, not threads (gofollow, gohttp), on
the Go topology (gotopology.py) under 16 concurrent keep-alive clients, for every Go and build
of the matrix (gobuild.py)."""
import os
import subprocess
import time

import pytest

import gobuild
from gotopology import (PER_THREAD, THREADS, drive, exact_trees, names, parent,
                        start_apps, warm_up)
from harness import APPS, OTLP_HTTP, free_port, py_server

MATRIX = [("go1.19", "default"), ("go1.19", "stripped"), ("local", "default"),
          ("local", "stripped"), ("local", "pie"), ("local", "cgo"), ("go1.27.3", "default"),
          ("go1.27.3", "stripped")]


@pytest.mark.parametrize("toolchain,variant", MATRIX, ids=[f"{t}-{v}" for t, v in MATRIX])
def test_fan_out_exact_trees(agent_factory, jaeger, procs, nonce, toolchain, variant):
    binary = gobuild.build("go_fanout", toolchain, variant)
    svc = names()
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": OTLP_HTTP}
    # the plain build is found on exec; the others were running before the agent started
    early = variant != "default"
    if not early:
        agent = agent_factory(env_extra=env)
    port = start_apps(procs, binary, nonce, svc)
    if early:
        # keep-alive connections in the gateway's pool before the agent, too
        warm_up(port, nonce, "early")
        agent = agent_factory(env_extra=env)
    # its first calls out start following goroutine creation: calls before that are unlinked
    warm_up(port, nonce)
    latencies = drive(port, nonce, svc)
    assert len(latencies) == THREADS * PER_THREAD
    assert agent.stop() == 0
    # every service's spans, stored by Jaeger apart: the load generator's call, the gateway's
    # server and three client spans, the Go backend's two and the Python one's server spans
    for name, per_request in (("loadgen", 1), ("gogw", 4), ("goleaf", 2), ("pyleaf", 1)):
        jaeger.wait_spans(svc[name], per_request * THREADS * PER_THREAD)
    exact, problems = exact_trees(jaeger, svc, nonce, latencies)
    assert (exact, problems) == (THREADS * PER_THREAD, {})
    log = agent.stderr()
    version = gobuild.version_of(binary)
    assert f"go: following /proc/" in log and f", {version})" in log
    assert "binaries_unfollowed=0 attach_failed=0" in log
    assert "calls out: following its goroutines' creation" in log


def test_worker_pool_is_a_counted_missing_link(agent_factory, jaeger, procs, nonce):
    """Work handed over a channel to goroutines that no request created cannot be followed:
    those calls start new traces (counted), never a link to some other request."""
    binary = gobuild.build("go_fanout", "local", "default")
    svc = names()
    agent = agent_factory(env_extra={"OTEL_EXPORTER_OTLP_ENDPOINT": OTLP_HTTP})
    port = start_apps(procs, binary, nonce, svc)
    latencies = drive(port, nonce, svc, route="pool", threads=8, per_thread=10)
    assert agent.stop() == 0
    jaeger.wait_spans(svc["pyleaf"], 80)
    calls = [s for s in jaeger.spans(svc["gogw"]) if s["tagmap"]["span.kind"] == "client"
             and s["tagmap"]["url.path"].startswith(nonce)]
    servers = {s["spanID"]: s for s in jaeger.spans(svc["gogw"])
               if s["tagmap"]["span.kind"] == "server"}
    assert len(calls) == 3 * len(latencies) == 240
    assert all(parent(c) is None for c in calls)
    assert len(servers) >= 80
    assert "client_unlinked=240 " in agent.stderr()


def test_goroutines_off_gives_no_links(agent_factory, jaeger, procs, nonce):
    """capture.go_goroutines=false: no uprobes, and no thread-based guesses either."""
    binary = gobuild.build("go_fanout", "local", "default")
    svc = names()
    agent = agent_factory(env_extra={"OTEL_EXPORTER_OTLP_ENDPOINT": OTLP_HTTP,
                                     "ZEROTRACE_GO_GOROUTINES": "false"})
    port = start_apps(procs, binary, nonce, svc)
    latencies = drive(port, nonce, svc, threads=4, per_thread=10)
    assert agent.stop() == 0
    jaeger.wait_spans(svc["pyleaf"], 40)
    calls = [s for s in jaeger.spans(svc["gogw"]) if s["tagmap"]["span.kind"] == "client"
             and s["tagmap"]["url.path"].startswith(nonce)]
    assert len(calls) == 3 * len(latencies) == 120
    assert all(parent(c) is None for c in calls)
    log = agent.stderr()
    assert "following goroutines is off (capture.go_goroutines)" in log
    assert "binaries_followed=0 " in log and "joined_thread=0 " in log


# grpc-go's three layouts of the handler's stream (user/capture/probe.c): *Stream (v1.65.1, the newest
# Go 1.19 builds), *ServerStream holding a *Stream (v1.76.0, apps/grpc_go/go.mod), ServerStream
# holding a Stream (v1.85.0, the newest)
GRPC_MATRIX = [("go1.19", "go119.mod"), ("local", None), ("go1.27.3", None),
               ("local", "latest.mod"), ("go1.27.3", "latest.mod")]


@pytest.mark.parametrize("toolchain,modfile", GRPC_MATRIX,
                         ids=["go1.19-grpc1.65", "local-grpc1.76", "go1.27.3-grpc1.76",
                              "local-grpc1.85", "go1.27.3-grpc1.85"])
def test_grpc_server_handlers_follow_their_streams(agent_factory, jaeger, procs, nonce,
                                                    toolchain, modfile):
    """A Go gRPC server (grpc-go reads every stream on the connection's goroutine and handles
    each on a goroutine it creates) whose handler calls a Python service over net/http, called
    by a Python client 20 calls at once on one connection, unary and server-streaming, each
    call with its own traceparent (trace id = the call's number): every call's HTTP call is in
    that call's trace, the child of the Go server span of that very stream."""
    server_bin = gobuild.build("grpc_go", toolchain, "default", modfile)
    svc = names()
    agent = agent_factory(env_extra={"OTEL_EXPORTER_OTLP_ENDPOINT": OTLP_HTTP})
    py_port, grpc_port = free_port(), free_port()
    py_server(procs, py_port, nonce, svc["pyleaf"])
    procs.start([server_bin, "server", str(grpc_port), f"http://127.0.0.1:{py_port}{nonce}/items"],
                env_extra={"OTEL_SERVICE_NAME": svc["gogw"]}, wait_port=grpc_port)
    client = ["python3", os.path.join(APPS, "grpc_py.py"), "traced-client",
              f"127.0.0.1:{grpc_port}"]
    # the first call out starts the following of goroutine creation (gofollow.h)
    subprocess.run(client + ["1", "1", "1000"], check=True, capture_output=True)
    time.sleep(0.5)
    out = subprocess.run(client + ["10", "20", "1"], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "200"
    assert agent.stop() == 0
    jaeger.wait_spans(svc["pyleaf"], 203)
    spans = jaeger.spans(svc["gogw"])
    servers = {s["spanID"]: s for s in spans if s["tagmap"]["span.kind"] == "server"}
    calls = {int(s["tagmap"]["url.path"].rsplit("/", 1)[1].split(":")[0]): s for s in spans
             if s["tagmap"]["span.kind"] == "client"
             and s["tagmap"].get("url.path", "").startswith(nonce)}
    for n in range(1, 201):
        call = calls[n]
        server = servers[parent(call)]
        assert int(call["traceID"], 16) == n
        assert server["operationName"] == ("zt.test.Echo/Unary" if n % 2 else
                                           "zt.test.Echo/ServerStream")
        assert parent(server) == f"{n:016x}"  # the caller's own span id, from its traceparent
    assert " h2_handlers_linked=" in agent.stderr()


@pytest.mark.parametrize("toolchain,modfile", GRPC_MATRIX,
                         ids=["go1.19-grpc1.65", "local-grpc1.76", "go1.27.3-grpc1.76",
                              "local-grpc1.85", "go1.27.3-grpc1.85"])
def test_grpc_client_calls_follow_their_callers(agent_factory, jaeger, procs, nonce, toolchain,
                                                 modfile):
    """A Go gRPC server whose handlers call a Go gRPC backend (grpc-go's client writes every
    call's HEADERS from the connection's loopy goroutine), every call to the backend on one
    connection, 20 at once, unary and server-streaming, called by a Python client with a
    traceparent per call (trace id = the call's number): each call's trace is exactly the
    gateway's server span, under it the gateway's client span of its own backend call, and
    under that the backend's server span."""
    binary = gobuild.build("grpc_go", toolchain, "default", modfile)
    svc = names()
    agent = agent_factory(env_extra={"OTEL_EXPORTER_OTLP_ENDPOINT": OTLP_HTTP})
    back_port, gw_port = free_port(), free_port()
    procs.start([binary, "server", str(back_port)],
                env_extra={"OTEL_SERVICE_NAME": svc["goleaf"]}, wait_port=back_port)
    procs.start([binary, "server", str(gw_port), f"grpc://127.0.0.1:{back_port}"],
                env_extra={"OTEL_SERVICE_NAME": svc["gogw"]}, wait_port=gw_port)
    client = ["python3", os.path.join(APPS, "grpc_py.py"), "traced-client",
              f"127.0.0.1:{gw_port}"]
    # the first call out starts the following of goroutine creation (gofollow.h)
    subprocess.run(client + ["1", "1", "1000"], check=True, capture_output=True)
    time.sleep(0.5)
    out = subprocess.run(client + ["10", "20", "1"], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "200"
    assert agent.stop() == 0
    # per call: the gateway's server and client spans, the backend's server span
    jaeger.wait_spans(svc["goleaf"], 202)
    jaeger.wait_spans(svc["gogw"], 404)
    spans = jaeger.spans(svc["gogw"]) + jaeger.spans(svc["goleaf"])
    by_trace = {}
    for s in spans:
        by_trace.setdefault(int(s["traceID"], 16), []).append(s)
    wrong = {}
    for n in range(1, 201):
        method = "zt.test.Echo/Unary" if n % 2 else "zt.test.Echo/ServerStream"
        got = {(s["serviceName"], s["tagmap"]["span.kind"]): s for s in by_trace.get(n, [])}
        server, call = got.get((svc["gogw"], "server")), got.get((svc["gogw"], "client"))
        leaf = got.get((svc["goleaf"], "server"))
        if (len(by_trace.get(n, [])) != 3 or not server or not call or not leaf
                or parent(server) != f"{n:016x}" or parent(call) != server["spanID"]
                or parent(leaf) != call["spanID"]
                or {server["operationName"], call["operationName"], leaf["operationName"]}
                != {method}):
            wrong[n] = sorted((s["serviceName"], s["tagmap"]["span.kind"], s["operationName"])
                              for s in by_trace.get(n, []))
    assert wrong == {}
    log = agent.stderr()
    assert " h2_linked=" in log and " h2_unlinked=0 " in log
