"""The correlation topology: a load generator and three hops in three runtimes, keep-alive on
every hop, concurrent clients.

    loadgen (python, 16 threads, one keep-alive connection each)
      → node gateway (single-threaded event loop, keep-alive pool of 4 to the next hop)
        → python service (thread per connection, handlers share a pool of 4 connections)
          → java service (JDK HttpServer on a fixed pool of 8 threads)

Every request carries its id in its path on every hop, so each request's expected trace is
known exactly: six spans, one chain.
"""
import collections
import json
import os
import statistics
import subprocess

from harness import APPS, free_port

HOPS = ("node", "python", "java")


def start(procs, prefix, names):
    java_port, py_port, node_port = free_port(), free_port(), free_port()
    env = lambda svc: {"OTEL_SERVICE_NAME": svc}
    # the JDK server writes head and body separately; see py_service.py on Nagle
    procs.start(["java", "-Dsun.net.httpserver.nodelay=true",
                 os.path.join(APPS, "JavaService.java"), str(java_port), prefix],
                env_extra=env(names["java"]), wait_port=java_port, stdout=subprocess.DEVNULL)
    procs.start(["python3", os.path.join(APPS, "py_service.py"), str(py_port), str(java_port),
                 prefix], env_extra=env(names["python"]), wait_port=py_port,
                stdout=subprocess.DEVNULL)
    procs.start(["node", os.path.join(APPS, "node_gateway.js"), str(node_port), str(py_port),
                 prefix], env_extra=env(names["node"]), wait_port=node_port,
                stdout=subprocess.DEVNULL)
    return node_port


def drive(port, prefix, threads, per_thread, service):
    """Run the load generator; {request id: latency in ns as the caller measured it}."""
    out = subprocess.run(["python3", os.path.join(APPS, "loadgen.py"), "127.0.0.1", str(port),
                          prefix, str(threads), str(per_thread)],
                         env=dict(os.environ, OTEL_SERVICE_NAME=service),
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def expected_chain(prefix, names, rid):
    """(service, kind, name, url.path) from the root down."""
    api, py, java = (f"{prefix}/{hop}" for hop in ("api", "py", "java"))
    return [
        (names["loadgen"], "client", f"GET {api}/{{id}}", f"{api}/{rid}"),
        (names["node"], "server", f"GET {api}/{{id}}", f"{api}/{rid}"),
        (names["node"], "client", f"GET {py}/{{id}}", f"{py}/{rid}"),
        (names["python"], "server", f"GET {py}/{{id}}", f"{py}/{rid}"),
        (names["python"], "client", f"GET {java}/{{id}}", f"{java}/{rid}"),
        (names["java"], "server", f"GET {java}/{{id}}", f"{java}/{rid}"),
    ]


def parent_of(span):
    refs = [r for r in span.get("references", []) if r["refType"] == "CHILD_OF"]
    return refs[0]["spanID"] if refs else None


def check_request(spans, chain):
    """None if spans are exactly the chain, else what is wrong."""
    by_level = []
    for svc, kind, name, path in chain:
        found = [s for s in spans if s["serviceName"] == svc and s["tagmap"]["span.kind"] == kind
                 and s["operationName"] == name and s["tagmap"].get("url.path") == path]
        if len(found) != 1:
            return f"{len(found)} spans for {svc.split('-')[0]} {kind} {name}"
        by_level.append(found[0])
    if len(spans) != len(chain):
        return f"{len(spans)} spans, want {len(chain)}"

    if len({s["traceID"] for s in by_level}) != 1:
        return "spans in several traces"
    if parent_of(by_level[0]) is not None:
        return "root span has a parent"
    for up, down in zip(by_level, by_level[1:]):
        if parent_of(down) != up["spanID"]:
            return f"{down['serviceName']} {down['tagmap']['span.kind']} has the wrong parent"
    return None


def evaluate(jaeger, names, prefix, latencies):
    """Compare Jaeger's traces with the expected trees. Returns a dict report."""
    spans_by_id = collections.defaultdict(list)
    seen = set()
    for svc in names.values():
        for s in jaeger.spans(svc):
            path = s["tagmap"].get("url.path", "")
            if s["spanID"] in seen or not path.startswith(prefix):
                continue
            seen.add(s["spanID"])
            spans_by_id[path.rsplit("/", 1)[1]].append(s)
    exact, problems, root_err = 0, collections.Counter(), []
    hop_err = collections.defaultdict(list)
    for rid, latency_ns in latencies.items():
        chain = expected_chain(prefix, names, rid)
        problem = check_request(spans_by_id.get(rid, []), chain)
        if problem:
            problems[problem] += 1
            continue
        exact += 1
        spans = {(s["serviceName"], s["tagmap"]["span.kind"]): s for s in spans_by_id[rid]}
        levels = [spans[(svc, kind)] for svc, kind, _, _ in chain]
        root_err.append(abs(levels[0]["duration"] - latency_ns / 1000.0))
        for client, server in zip(levels[0::2], levels[1::2]):
            hop = f"{client['serviceName']} -> {server['serviceName']}"
            hop_err[hop].append(client["duration"] - server["duration"])
    stray = set(spans_by_id) - set(latencies)
    report_stray = sorted(stray)[:5]
    return {
        "total": len(latencies),
        "exact": exact,
        "problems": dict(problems),
        "stray_ids": len(stray),
        "stray_examples": [(i, [(s["serviceName"], s["tagmap"]["span.kind"],
                                 s["tagmap"].get("url.path")) for s in spans_by_id[i]])
                           for i in report_stray],
        "root_err_us": root_err,
        "hop_err_us": dict(hop_err),
    }


def summary(report):
    def stats(xs):
        if not xs:
            return "n/a"
        return (f"mean {statistics.mean(xs) / 1000:.3f} ms, "
                f"max {max(xs, key=abs) / 1000:.3f} ms over {len(xs)}")

    share = 100.0 * report["exact"] / report["total"] if report["total"] else 0.0
    lines = [
        f"exact trace trees: {report['exact']}/{report['total']} requests ({share:.2f}%)",
        f"root CLIENT span duration - latency measured by the caller (abs): "
        f"{stats(report['root_err_us'])}",
    ]
    for hop, errs in report["hop_err_us"].items():
        lines.append(f"CLIENT span duration - its SERVER child's duration, {hop}: {stats(errs)}")
    if report["problems"]:
        lines.append(f"problems: {report['problems']}")
    if report["stray_ids"]:
        lines.append(f"spans for requests never sent: {report['stray_ids']}: "
                     f"{report['stray_examples']}")
    return "\n".join(lines)
