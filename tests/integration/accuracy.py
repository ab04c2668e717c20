"""`make accuracy`: drive the correlation topology (topology.py) and the Go topology
(gotopology.py) with the real agent and a real Jaeger, then print the share of requests whose
trace is exactly the expected tree and how far span durations are from what each caller
measured. Exits 1 below 100% in either.

usage: accuracy.py [THREADS] [PER_THREAD]      (default 16 x 50 = 800 requests)
"""
import os
import random
import re
import string
import sys

import gobuild
import gotopology
import topology
from harness import OTLP_HTTP, Agent, Jaeger, JaegerProcess, Procs


def go_topology(jaeger, env, threads, per_thread):
    """The Go fan-out topology on its own agent run: (exact, total, problems, links)."""
    binary = gobuild.build("go_fanout", "local", "default")
    svc = gotopology.names()
    prefix = "/accgo" + svc["gogw"].rsplit("-", 1)[1]
    procs = Procs()
    agent = Agent([], env)
    try:
        port = gotopology.start_apps(procs, binary, prefix, svc)
        gotopology.warm_up(port, prefix)
        latencies = gotopology.drive(port, prefix, svc, threads=threads, per_thread=per_thread)
        if agent.stop() != 0:
            sys.exit("agent did not exit cleanly:\n" + agent.stderr())
        jaeger.wait_spans(svc["pyleaf"], len(latencies), timeout=60)
        exact, problems = gotopology.exact_trees(jaeger, svc, prefix, latencies)
        links = re.search(r"final go: (.*)", agent.stderr())
        return exact, len(latencies), problems, links.group(1) if links else "?"
    finally:
        agent.kill()
        procs.stop()


def main():
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 16
    per_thread = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    tag = "".join(random.choice(string.ascii_lowercase) for _ in range(6))
    prefix = "/acc" + tag
    names = {"loadgen": f"loadgen-{tag}", "node": f"gateway-{tag}", "python": f"pysvc-{tag}",
             "java": f"javasvc-{tag}"}
    jaeger_proc = JaegerProcess()
    procs = Procs()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "ZEROTRACE_"))}
    env.update({"OTEL_EXPORTER_OTLP_ENDPOINT": OTLP_HTTP, "ZEROTRACE_BATCH_DELAY_MS": "200"})
    agent = None
    try:
        agent = Agent([], env)
        port = topology.start(procs, prefix, names)
        latencies = topology.drive(port, prefix, threads, per_thread, names["loadgen"])
        if agent.stop() != 0:
            sys.exit("agent did not exit cleanly:\n" + agent.stderr())
        jaeger = Jaeger()
        jaeger.wait_spans(names["java"], len(latencies), timeout=60)
        report = topology.evaluate(jaeger, names, prefix, latencies)
        print(f"topology: loadgen ({threads} threads, keep-alive) -> node event loop -> "
              f"python threads (shared pool) -> java thread pool; {len(latencies)} requests")
        print(topology.summary(report))
        links = re.search(r"final links: (.*)", agent.stderr())
        print("agent links:", links.group(1) if links else "?")
        exact, total, problems, go_links = go_topology(jaeger, env, threads, per_thread)
        print(f"topology: loadgen ({threads} threads, keep-alive) -> Go gateway -> a Go call "
              f"from the handler, then a Go and a Python call at once from two goroutines; "
              f"{total} requests after 4 warm-up requests (the first call out starts the "
              f"following of goroutine creation)")
        print(f"exact trace trees: {exact}/{total} requests ({100.0 * exact / total:.2f}%)"
              + (f"; wrong: {problems}" if problems else ""))
        print("agent go:", go_links)
        sys.exit(0 if report["exact"] == report["total"] and exact == total else 1)
    finally:
        if agent:
            agent.kill()
        procs.stop()
        jaeger_proc.stop()


if __name__ == "__main__":
    main()
