"""HTTP/1 spans from uninstrumented processes, read back from a real Jaeger."""
import collections
import json
import os
import random
import string
import subprocess

from harness import APPS, OTLP_HTTP, free_port, nginx_server, py_server

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"
PLAN = [("GET", "/items/{n}", 200), ("POST", "/items", 201), ("HEAD", "/items/{n}", 200),
        ("GET", "/missing", 404), ("GET", "/boom", 500), ("GET", "/items/{n}?q=1&token=s3cret", 200)]


def name(prefix):
    return prefix.strip("/") + "-" + "".join(random.choice(string.ascii_lowercase) for _ in range(6))


def expected_ops(prefix, threads, per_thread):
    ops = collections.Counter()
    for i in range(per_thread):
        method, path, status = PLAN[i % len(PLAN)]
        route = path.split("?")[0].replace("{n}", "{id}")
        ops[(f"{method} {prefix}{route}", status)] += threads
    return ops


def parent_of(span):
    refs = [r for r in span.get("references", []) if r["refType"] == "CHILD_OF"]
    return refs[0]["spanID"] if refs else None


def is_error(span):
    return span["tagmap"].get("otel.status_code") == "ERROR" or span["tagmap"].get("error") is True


def test_python_service_keepalive_concurrent(otlp_agent, jaeger, procs, nonce):
    port = free_port()
    server_svc, client_svc = name("pysrv" + nonce), name("pycli" + nonce)
    server = py_server(procs, port, nonce, server_svc)
    threads, per_thread = 8, 24
    out = subprocess.run(["python3", os.path.join(APPS, "py_client.py"), "127.0.0.1", str(port),
                          nonce, str(threads), str(per_thread)],
                         env=dict(os.environ, OTEL_SERVICE_NAME=client_svc),
                         capture_output=True, text=True, check=True, timeout=120)
    statuses = json.loads(out.stdout)
    assert sum(statuses.values()) == threads * per_thread + 4
    # curl: several URLs on one keep-alive connection, with a caller's traceparent
    urls = [f"http://127.0.0.1:{port}{nonce}/items/{n}" for n in (1, 2, 3, 4)]
    curl = ["curl", "-sS", "-H", f"traceparent: {TRACEPARENT}", "-H", "tracestate: k=v"]
    for u in urls:
        curl += ["-o", "/dev/null", u]
    subprocess.run(curl, check=True, timeout=30)
    assert otlp_agent.stop() == 0

    total = threads * per_thread + 4 + 4
    spans = jaeger.wait_spans(server_svc, total)
    assert len(spans) == total, collections.Counter(
        (s["tagmap"]["span.kind"], s["operationName"], s["tagmap"].get("http.response.status_code"))
        for s in spans)
    ops = collections.Counter((s["operationName"], s["tagmap"]["http.response.status_code"])
                              for s in spans)
    want = expected_ops(nonce, threads, per_thread)
    want[(f"GET {nonce}/items/{{id}}", 200)] += 8  # urllib 4 + curl 4
    assert ops == want
    for s in spans:
        t = s["tagmap"]
        assert t["span.kind"] == "server"
        assert t["http.route"] == s["operationName"].split(" ", 1)[1]
        assert t["url.path"].startswith(nonce)
        assert t["server.port"] == port
        assert t["client.address"] == "127.0.0.1"
        assert t["network.peer.address"] == "127.0.0.1"
        assert 1024 <= t["network.peer.port"] <= 65535
        assert t["network.protocol.version"] == "1.1"
        assert t["http.request.method"] == s["operationName"].split(" ")[0]
        assert is_error(s) == (t["http.response.status_code"] >= 500)
        assert "zerotrace.incomplete" not in t
        assert s["process_tags"]["process.pid"] == server.pid
        assert s["duration"] > 0
        if "url.query" in t:
            assert t["url.query"] == "q=1&token=REDACTED"
        assert "s3cret" not in json.dumps(t)
    assert sum(1 for s in spans if s["tagmap"].get("url.query")) == threads * (per_thread // 6)
    agents = collections.Counter(s["tagmap"].get("user_agent.original", "") for s in spans)
    assert agents["curl/7.88.1"] == 4
    assert agents["Python-urllib/3.11"] == 4
    # the caller's trace context is joined, parent = the caller's span
    joined = [s for s in spans if s["traceID"] == TRACE_ID]
    assert len(joined) == 4
    assert all(parent_of(s) == PARENT_ID for s in joined)

    # the python client's side: one CLIENT span per request, 4xx/5xx are errors
    cspans = jaeger.wait_spans(client_svc, threads * per_thread + 4)
    assert len(cspans) == threads * per_thread + 4
    for s in cspans:
        t = s["tagmap"]
        assert t["span.kind"] == "client"
        assert t["server.port"] == port
        assert is_error(s) == (t["http.response.status_code"] >= 400)
        assert parent_of(s) is None
    # every python request's server span is the child of the client span that sent it
    by_id = {s["spanID"]: s for s in cspans}
    for s in spans:
        if s["traceID"] == TRACE_ID:
            continue
        client = by_id[parent_of(s)]
        assert client["traceID"] == s["traceID"]
        assert client["tagmap"]["url.path"] == s["tagmap"]["url.path"]
        assert client["startTime"] <= s["startTime"]
    # the agent's own export traffic was not traced
    assert jaeger.spans("jaeger", lambda s: s["tagmap"].get("url.path") == "/v1/traces") == []


def test_nginx_static_sendfile_ipv6(otlp_agent, jaeger, procs, nonce, tmp_path):
    port = free_port()
    nginx_server(procs, tmp_path, port, nonce)
    base = f"http://127.0.0.1:{port}{nonce}"
    reqs = [("GET", "/index.html", 200), ("GET", "/big.bin", 200), ("GET", "/api/7", 200),
            ("GET", "/nope.html", 404), ("GET", "/fail", 503)]
    curl = ["curl", "-sS"]
    for _ in range(10):
        for _, path, _ in reqs:
            curl += ["-o", "/dev/null", base + path]
    subprocess.run(curl, check=True, timeout=60)
    subprocess.run(["curl", "-sS", "-I", "-o", "/dev/null", base + "/index.html"], check=True)
    subprocess.run(["curl", "-sS", "-6", "-o", "/dev/null", "-H", f"traceparent: {TRACEPARENT}",
                    f"http://[::1]:{port}{nonce}/index.html"], check=True)
    assert otlp_agent.stop() == 0

    match = lambda s: s["tagmap"].get("url.path", "").startswith(nonce)
    spans = jaeger.wait_spans("nginx", 52, match)
    assert len(spans) == 52
    ops = collections.Counter((s["operationName"], s["tagmap"]["http.response.status_code"])
                              for s in spans)
    assert ops == {
        (f"GET {nonce}/index.html", 200): 11,
        (f"GET {nonce}/big.bin", 200): 10,
        (f"GET {nonce}/api/{{id}}", 200): 10,
        (f"GET {nonce}/nope.html", 404): 10,
        (f"GET {nonce}/fail", 503): 10,
        (f"HEAD {nonce}/index.html", 200): 1,
    }
    for s in spans:
        assert s["tagmap"]["span.kind"] == "server"
        assert "zerotrace.incomplete" not in s["tagmap"]
        assert is_error(s) == (s["tagmap"]["http.response.status_code"] >= 500)
        assert s["process_tags"]["process.executable.name"] == "nginx"
    v6 = [s for s in spans if s["tagmap"]["client.address"] == "::1"]
    assert len(v6) == 1 and v6[0]["traceID"] == TRACE_ID and parent_of(v6[0]) == PARENT_ID
    # the 256 KiB body goes out with sendfile: the span ends with its last byte, so it is
    # no shorter than the small files' spans on the same connection
    big = sorted(s["duration"] for s in spans if s["operationName"].endswith("/big.bin"))
    small = sorted(s["duration"] for s in spans if s["operationName"].endswith("/api/{id}"))
    assert big[len(big) // 2] > small[len(small) // 2]

    # curl's requests are CLIENT spans, except the one that carried its own traceparent: that
    # call is already traced by whoever made the header, and is not traced twice
    cspans = jaeger.wait_spans("curl", 51, match)
    assert len(cspans) == 51
    assert all(s["tagmap"]["span.kind"] == "client" for s in cspans)
    assert collections.Counter(is_error(s) for s in cspans) == {False: 31, True: 20}
    # and each of curl's other requests is the parent of nginx's server span for it
    by_id = {s["spanID"]: s for s in cspans}
    assert sum(1 for s in spans if parent_of(s) in by_id) == 51


def test_in_process_child(otlp_agent, jaeger, procs, nonce):
    back_port, front_port = free_port(), free_port()
    back_svc, front_svc = name("back" + nonce), name("front" + nonce)
    py_server(procs, back_port, nonce, back_svc)
    py_server(procs, front_port, nonce, front_svc, backend=back_port)
    for _ in range(5):
        subprocess.run(["curl", "-sS", "-o", "/dev/null", f"http://127.0.0.1:{front_port}{nonce}/front"],
                       check=True)
    assert otlp_agent.stop() == 0
    spans = jaeger.wait_spans(front_svc, 10)
    servers = {s["spanID"]: s for s in spans if s["tagmap"]["span.kind"] == "server"}
    clients = [s for s in spans if s["tagmap"]["span.kind"] == "client"]
    assert len(servers) == 5 and len(clients) == 5
    for c in clients:
        assert c["operationName"] == f"GET {nonce}/items/{{id}}"
        parent = servers[parent_of(c)]
        assert parent["traceID"] == c["traceID"]
        assert parent["operationName"] == f"GET {nonce}/front"
        assert parent["startTime"] <= c["startTime"]
        assert c["startTime"] + c["duration"] <= parent["startTime"] + parent["duration"]
    assert len(jaeger.wait_spans(back_svc, 5)) == 5


def test_otlp_file_exporter(agent_factory, procs, nonce, tmp_path):
    out = tmp_path / "spans.jsonl"
    agent = agent_factory("--otlp-file", str(out))
    port = free_port()
    svc = name("filesvc" + nonce)
    py_server(procs, port, nonce, svc)
    curl = ["curl", "-sS"]
    for n in range(10):
        curl += ["-o", "/dev/null", f"http://127.0.0.1:{port}{nonce}/items/{n}"]
    curl += ["-o", "/dev/null", f"http://127.0.0.1:{port}{nonce}/chunked"]
    subprocess.run(curl, check=True)
    assert agent.stop() == 0

    spans = []
    for line in out.read_text().splitlines():
        req = json.loads(line)
        for rs in req["resourceSpans"]:
            res = {a["key"]: a["value"] for a in rs["resource"]["attributes"]}
            for ss in rs["scopeSpans"]:
                assert ss["scope"]["name"] == "zerotrace"
                for s in ss["spans"]:
                    s["resource"] = res
                    s["attrs"] = {a["key"]: a["value"] for a in s["attributes"]}
                    spans.append(s)
    mine = [s for s in spans if s["resource"]["service.name"] == {"stringValue": svc}]
    assert len(mine) == 11
    assert collections.Counter(s["name"] for s in mine) == {
        f"GET {nonce}/items/{{id}}": 10, f"GET {nonce}/chunked": 1}
    for s in mine:
        assert s["kind"] == 2
        assert len(s["traceId"]) == 32 and len(s["spanId"]) == 16
        assert int(s["endTimeUnixNano"]) > int(s["startTimeUnixNano"])
        assert s["attrs"]["http.response.status_code"] == {"intValue": "200"}
        assert s["attrs"]["server.port"] == {"intValue": str(port)}
    curl_spans = [s for s in spans if s["resource"]["service.name"] == {"stringValue": "curl"}
                  and s["attrs"]["url.path"]["stringValue"].startswith(nonce)]
    assert len(curl_spans) == 11 and all(s["kind"] == 3 for s in curl_spans)


# Four exchanges on one connection: a 4 MiB response read slowly (the server's one write
# blocks and goes into the queue piece by piece), a 3 MiB request body in one write, then
# small ones. Every byte after the big ones is parsed right only if each write was shipped
# once, from its start.
BIG_CLIENT = """
import socket, sys, time
port, prefix = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port))
f = s.makefile("rb")
def exchange(req, slow=False):
    s.sendall(req)
    n = 0
    while True:
        line = f.readline()
        if line.lower().startswith(b"content-length:"):
            n = int(line.split(b":")[1])
        if line == b"\\r\\n":
            break
    while n:
        got = f.read1(min(n, 65536))
        n -= len(got)
        if slow:
            time.sleep(0.002)
exchange(b"GET %s/blob/4194304 HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n" % prefix.encode(), slow=True)
body = b"y" * (3 << 20)
exchange(b"POST %s/items HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: %d\\r\\n\\r\\n" % (prefix.encode(), len(body)) + body)
exchange(b"GET %s/blob/10 HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n" % prefix.encode())
exchange(b"GET %s/items/5 HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n" % prefix.encode())
"""


def test_large_writes_keep_the_stream(otlp_agent, jaeger, procs, nonce):
    port = free_port()
    server_svc, client_svc = name("bigsrv" + nonce), name("bigcli" + nonce)
    py_server(procs, port, nonce, server_svc)
    subprocess.run(["python3", "-c", BIG_CLIENT, str(port), nonce], check=True, timeout=120,
                   env=dict(os.environ, OTEL_SERVICE_NAME=client_svc))
    assert otlp_agent.stop() == 0
    assert " seq_gaps=0 " in otlp_agent.stderr()

    servers = jaeger.wait_spans(server_svc, 4)
    clients = {s["spanID"]: s for s in jaeger.wait_spans(client_svc, 4)}
    assert len(servers) == 4 and len(clients) == 4
    assert collections.Counter(s["operationName"] for s in servers) == {
        f"GET {nonce}/blob/{{id}}": 2, f"POST {nonce}/items": 1, f"GET {nonce}/items/{{id}}": 1}
    for s in servers:
        assert "zerotrace.incomplete" not in s["tagmap"]
        assert clients[parent_of(s)]["traceID"] == s["traceID"]
    status = {s["tagmap"]["url.path"]: s["tagmap"]["http.response.status_code"] for s in servers}
    assert status == {f"{nonce}/blob/4194304": 200, f"{nonce}/items": 201,
                      f"{nonce}/blob/10": 200, f"{nonce}/items/5": 200}
    # the client read the 4 MiB in 64 pieces 2 ms apart: its span lasts to the last one
    big = [c for c in clients.values() if c["tagmap"]["url.path"].endswith("/4194304")]
    assert len(big) == 1 and big[0]["duration"] > 100_000


def test_heads_longer_than_the_capture(agent_factory, jaeger, procs, nonce, tmp_path):
    """--capture-bytes 64: curl's ~90-byte request heads and nginx's ~240-byte response heads
    are cut. Every request still gets its span from the lines before the cut, joined to its
    client, and ends at its response's status line, incomplete."""
    agent = agent_factory("--capture-bytes", "64",
                          env_extra={"OTEL_EXPORTER_OTLP_ENDPOINT": OTLP_HTTP})
    port = free_port()
    nginx_server(procs, tmp_path, port, nonce)
    curl = ["curl", "-sS"]  # one curl: one keep-alive connection for all twenty
    for _ in range(10):
        for path in ("/index.html", "/nope.html"):
            curl += ["-o", "/dev/null", f"http://127.0.0.1:{port}{nonce}{path}"]
    subprocess.run(curl, check=True, timeout=60)
    assert agent.stop() == 0
    assert " http1_requests_evicted=0 " in agent.stderr()

    match = lambda s: s["tagmap"].get("url.path", "").startswith(nonce)
    spans = jaeger.wait_spans("nginx", 20, match)
    assert collections.Counter((s["operationName"], s["tagmap"]["http.response.status_code"])
                               for s in spans) == {(f"GET {nonce}/index.html", 200): 10,
                                                   (f"GET {nonce}/nope.html", 404): 10}
    assert all(s["tagmap"]["zerotrace.incomplete"] is True for s in spans)
    assert all(s["tagmap"]["server.address"] == "127.0.0.1" for s in spans)
    clients = {s["spanID"]: s for s in jaeger.wait_spans("curl", 20, match)}
    assert len(clients) == 20
    assert all(parent_of(s) in clients for s in spans)
