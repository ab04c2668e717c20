"""One request, one trace, every hop linked: across processes, runtimes (Node event loop,
Python threads, Java thread pool), keep-alive reuse and concurrency."""
import os
import random
import string
import subprocess

import topology
from harness import APPS, OTLP_HTTP, free_port, py_server


def test_three_runtimes_exact_trees(otlp_agent, jaeger, procs, nonce):
    tag = "".join(random.choice(string.ascii_lowercase) for _ in range(6))
    names = {"loadgen": f"loadgen-{tag}", "node": f"gateway-{tag}", "python": f"pysvc-{tag}",
             "java": f"javasvc-{tag}"}
    port = topology.start(procs, nonce, names)
    latencies = topology.drive(port, nonce, threads=16, per_thread=30, service=names["loadgen"])
    assert len(latencies) == 480
    assert otlp_agent.stop() == 0
    jaeger.wait_spans(names["java"], 480)
    report = topology.evaluate(jaeger, names, nonce, latencies)
    print(topology.summary(report))
    assert report["exact"] == report["total"], topology.summary(report)
    assert report["stray_ids"] == 0
    # every link came from the exact same-node join or the thread rule, never a guess
    assert "joined_same_node=1440" in otlp_agent.stderr()
    # spans measure what their callers measure: a server never outlasts its client
    assert all(min(errs) >= 0 for errs in report["hop_err_us"].values())


def parent_of(span):
    return topology.parent_of(span)


def test_connection_opened_before_agent_ipv6(jaeger, agent_factory, procs, nonce):
    """A keep-alive connection (over IPv6 loopback) that predates the agent still joins."""
    port = free_port()
    tag = "".join(random.choice(string.ascii_lowercase) for _ in range(6))
    server_svc, client_svc = f"early-srv-{tag}", f"early-cli-{tag}"
    py_server(procs, port, nonce, server_svc, host="::1")
    client = subprocess.Popen(["python3", os.path.join(APPS, "staged_client.py"), "::1",
                               str(port), nonce, "3", "20"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              env=dict(os.environ, OTEL_SERVICE_NAME=client_svc))
    assert client.stdout.readline().strip() == "phase 1 done"
    agent = agent_factory(env_extra={"OTEL_EXPORTER_OTLP_ENDPOINT": OTLP_HTTP})
    client.stdin.write("go\n")
    client.stdin.flush()
    assert client.stdout.readline().strip() == "phase 2 done"
    client.wait(timeout=30)
    assert agent.stop() == 0
    servers = jaeger.wait_spans(server_svc, 20)
    clients = {s["spanID"]: s for s in jaeger.wait_spans(client_svc, 20)}
    assert len(servers) == 20 and len(clients) == 20
    for s in servers:
        c = clients[parent_of(s)]
        assert c["traceID"] == s["traceID"]
        assert c["tagmap"]["url.path"] == s["tagmap"]["url.path"]
        assert s["tagmap"]["client.address"] == "::1"
    assert "joined_same_node=20 joined_nat=0" in agent.stderr()


def test_network_namespace_join(otlp_agent, jaeger, procs, nonce):
    """A server in its own network namespace (as a container is), called from the host over a
    veth pair: both ends see the same tuple, the join is exact."""
    tag = "".join(random.choice(string.ascii_lowercase) for _ in range(6))
    ns, host_if, ns_if = f"zt-{tag}", f"zth{tag}", f"ztn{tag}"
    octet = random.randint(2, 250)
    host_ip, ns_ip = f"10.231.{octet}.1", f"10.231.{octet}.2"
    sh = lambda *a: subprocess.run(a, check=True)
    sh("ip", "netns", "add", ns)
    try:
        sh("ip", "link", "add", host_if, "type", "veth", "peer", "name", ns_if)
        sh("ip", "link", "set", ns_if, "netns", ns)
        sh("ip", "addr", "add", f"{host_ip}/24", "dev", host_if)
        sh("ip", "link", "set", host_if, "up")
        sh("ip", "netns", "exec", ns, "ip", "addr", "add", f"{ns_ip}/24", "dev", ns_if)
        sh("ip", "netns", "exec", ns, "ip", "link", "set", ns_if, "up")
        sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
        port = 8080
        svc = f"ns-srv-{tag}"
        py_server(procs, port, nonce, svc, host=ns_ip, netns=ns)
        curl = ["curl", "-sS"]
        for n in range(10):
            curl += ["-o", "/dev/null", f"http://{ns_ip}:{port}{nonce}/items/{n}"]
        subprocess.run(curl, check=True, timeout=60)
        assert otlp_agent.stop() == 0
        servers = jaeger.wait_spans(svc, 10)
        match = lambda s: s["tagmap"].get("url.path", "").startswith(nonce)
        clients = {s["spanID"]: s for s in jaeger.wait_spans("curl", 10, match)}
        assert len(servers) == 10 and len(clients) == 10
        for s in servers:
            assert s["tagmap"]["client.address"] == host_ip
            c = clients[parent_of(s)]
            assert c["tagmap"]["network.peer.address"] == ns_ip
            assert c["traceID"] == s["traceID"]
        assert "joined_nat=0" in otlp_agent.stderr()
    finally:
        procs.stop()
        subprocess.run(["ip", "link", "del", host_if], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
