"""Go services get the right trees: goroutines followed, not threads (gofollow, gohttp).

A Go gateway (net/http, goroutine per connection) calls a Go backend from its handler, then at
once from two goroutines a Go backend and a Python service, all over net/http's keep-alive
pool, under 16 concurrent keep-alive clients (a Python load generator): Python → Go, Go → Go
and Go → Python hops. Each request's trace must be exactly the expected tree of 8 spans."""
import collections
import json
import os
import random
import string
import subprocess
import urllib.request

import gobuild
from harness import APPS, OTLP_HTTP, free_port, py_server

THREADS, PER_THREAD = 16, 25


def names():
    tag = "".join(random.choice(string.ascii_lowercase) for _ in range(6))
    return {k: f"{k}-{tag}" for k in ("loadgen", "gogw", "goleaf", "pyleaf")}


def start_apps(procs, binary, prefix, svc):
    go_port, py_port, gw_port = free_port(), free_port(), free_port()
    env = lambda s: {"OTEL_SERVICE_NAME": s}
    procs.start([binary, "backend", str(go_port), prefix], env_extra=env(svc["goleaf"]),
                wait_port=go_port, stderr=subprocess.DEVNULL)
    py_server(procs, py_port, prefix, svc["pyleaf"])
    procs.start([binary, "gateway", str(gw_port), prefix, str(go_port), str(py_port)],
                env_extra=env(svc["gogw"]), wait_port=gw_port, stderr=subprocess.DEVNULL)
    return gw_port


def drive(port, prefix, svc, route="api", threads=THREADS, per_thread=PER_THREAD):
    out = subprocess.run(["python3", os.path.join(APPS, "loadgen.py"), "127.0.0.1", str(port),
                          prefix, str(threads), str(per_thread), route],
                         env=dict(os.environ, OTEL_SERVICE_NAME=svc["loadgen"]),
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def by_request(jaeger, svc, prefix):
    """{request id: [spans]} of every service's spans under prefix (PREFIX/ROUTE/<id>/...)."""
    out, seen = collections.defaultdict(list), set()
    for name in svc.values():
        for s in jaeger.spans(name):
            path = s["tagmap"].get("url.path", "")
            if s["spanID"] in seen or not path.startswith(prefix):
                continue
            seen.add(s["spanID"])
            out[path[len(prefix):].split("/")[2]].append(s)
    return out


def parent(s):
    refs = [r for r in s.get("references", []) if r["refType"] == "CHILD_OF"]
    return refs[0]["spanID"] if refs else None


def one(spans, svc, kind, path):
    found = [s for s in spans if s["serviceName"] == svc and s["tagmap"]["span.kind"] == kind
             and s["tagmap"].get("url.path") == path]
    return found[0] if len(found) == 1 else None


def check_tree(spans, svc, prefix, rid, root_path):
    """None when spans are exactly the request's tree, else what is wrong."""
    root = one(spans, svc["loadgen"], "client", root_path)
    gw = one(spans, svc["gogw"], "server", root_path)
    if not root or not gw or len(spans) != 8:
        return f"{len(spans)} spans"
    if parent(root) or parent(gw) != root["spanID"]:
        return "gateway server not the root's child"
    for path, leaf in ((f"{prefix}/leaf/{rid}/0", "goleaf"), (f"{prefix}/leaf/{rid}/1", "goleaf"),
                       (f"{prefix}/items/{rid}", "pyleaf")):
        call = one(spans, svc["gogw"], "client", path)
        server = one(spans, svc[leaf], "server", path)
        if not call or not server:
            return f"missing {path}"
        if parent(call) != gw["spanID"]:
            return f"gateway client {path.split('/')[-2:]} has the wrong parent"
        if parent(server) != call["spanID"]:
            return f"{leaf} server not its client's child"
    if len({s["traceID"] for s in spans}) != 1:
        return "several traces"
    return None


def exact_trees(jaeger, svc, prefix, latencies):
    reqs = by_request(jaeger, svc, prefix)
    problems = collections.Counter()
    for rid in latencies:
        problem = check_tree(reqs.get(rid, []), svc, prefix, rid, f"{prefix}/api/{rid}")
        if problem:
            problems[problem] += 1
    return len(latencies) - sum(problems.values()), dict(problems)


MATRIX = [("go1.19", "default"), ("go1.19", "stripped"), ("local", "default"),
          ("local", "stripped"), ("local", "pie"), ("local", "cgo"), ("go1.27.3", "default"),
          ("go1.27.3", "stripped")]


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
        for i in range(4):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{nonce}/api/warm{i}") as r:
                assert r.status == 200
        agent = agent_factory(env_extra=env)
    latencies = drive(port, nonce, svc)
    assert len(latencies) == THREADS * PER_THREAD
    assert agent.stop() == 0
    jaeger.wait_spans(svc["pyleaf"], THREADS * PER_THREAD)
    exact, problems = exact_trees(jaeger, svc, nonce, latencies)
    assert (exact, problems) == (THREADS * PER_THREAD, {})
    log = agent.stderr()
    version = gobuild.version_of(binary)
    assert f"go: following /proc/" in log and f", {version})" in log
    assert "binaries_unfollowed=0 attach_failed=0" in log


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


def pytest_generate_tests(metafunc):
    if "toolchain" in metafunc.fixturenames:
        metafunc.parametrize("toolchain,variant", MATRIX,
                             ids=[f"{t}-{v}" for t, v in MATRIX])
