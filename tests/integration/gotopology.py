"""The Go topology: a Python load generator (keep-alive clients) → a Go gateway (net/http,
goroutine per connection) that calls a Go backend from its handler, then at once from two
goroutines a Go backend and a Python service, all over net/http's keep-alive pool. Each
request's expected trace is 8 spans, one root: Python → Go, Go → Go and Go → Python hops."""
import collections
import json
import os
import random
import string
import subprocess
import time
import urllib.request

from harness import APPS, free_port, py_server

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


def warm_up(port, prefix, tag="warm"):
    """Requests outside the measured set: a Go process's first call out starts the following
    of its goroutines' creation (gofollow.h), so the calls of requests already under way are
    not linked; and keep-alive connections get pooled."""
    for i in range(4):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{prefix}/api/{tag}{i}") as r:
            assert r.status == 200
    time.sleep(0.5)
