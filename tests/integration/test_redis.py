"""Redis commands as database spans (session/redis.c), from a real redis-server (Debian's) on
loopback: a Python web service with redis-py (threads) and a Go one with go-redis (goroutines);
every request's trace is exactly the web service's server span with its nine Redis client spans
under it, through a pool of four connections shared by 16 concurrent clients."""
import os
import re
import subprocess
import tempfile
import time
import urllib.request

import pytest

import gobuild
from harness import APPS, OTLP_HTTP, free_port
from gotopology import parent

THREADS, PER_THREAD = 16, 15
SETUP = {"HELLO", "CLIENT"}  # what a client sends on each new connection


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        return r.read().decode()


def db_count(text, svc, op, error):
    m = re.search(rf'^db_client_operation_duration_seconds_count{{service_name="{svc}",'
                  rf'db_system_name="redis",db_operation_name="{op}",error_type="{error}"}} '
                  rf'(\d+)$', text, re.M)
    return int(m.group(1)) if m else None


def start_redis(procs):
    port = free_port()
    data = tempfile.mkdtemp(prefix="zt-redis-")
    procs.start(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", data], wait_port=port, stdout=subprocess.DEVNULL)
    return port


# the app, and the commands its handler sends (redis-py's incr is INCRBY, go-redis's INCR)
CLIENTS = {
    "redis-py": (lambda: ["python3", os.path.join(APPS, "redis_service.py")],
                 ["SET", "GET", "INCRBY", "GET", "MULTI", "SET", "INCRBY", "EXEC", "INCRBY"]),
    "go-redis": (lambda: [gobuild.build("redis_go", "local", "default")],
                 ["SET", "GET", "INCR", "GET", "MULTI", "SET", "INCR", "EXEC", "INCR"]),
}


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_redis_commands_in_their_requests(agent_factory, jaeger, procs, nonce, client):
    app, commands = CLIENTS[client]
    app = app()  # built before the agent starts
    svc = f"redissvc-{nonce.strip('/')[-6:]}"
    mport = free_port()
    agent = agent_factory("--metrics", f"127.0.0.1:{mport}",
                          env_extra={"OTEL_EXPORTER_OTLP_ENDPOINT": OTLP_HTTP})
    redis_port, web_port = start_redis(procs), free_port()
    procs.start(app + [str(web_port), str(redis_port)], env_extra={"OTEL_SERVICE_NAME": svc},
                wait_port=web_port, stdout=subprocess.DEVNULL)
    out = subprocess.run(["python3", os.path.join(APPS, "loadgen.py"), "127.0.0.1",
                          str(web_port), nonce, str(THREADS), str(PER_THREAD)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    requests = THREADS * PER_THREAD
    # db.client.operation.duration, per operation and error type: the two SETs and the two
    # INCRs that succeed of every request, the INCR that fails apart
    incr = commands[-1]
    want = {("SET", ""): 2 * requests, (incr, ""): 2 * requests, (incr, "ERR"): requests,
            ("EXEC", ""): requests}
    deadline = time.time() + 15
    while True:
        text = scrape(mport)
        got = {k: db_count(text, svc, *k) for k in want}
        if got == want or time.time() > deadline:
            break
        time.sleep(0.3)
    assert got == want
    # and not as HTTP calls: the service makes none
    assert f'http_client_request_duration_seconds_count{{service_name="{svc}"' not in text
    assert agent.stop() == 0
    spans = jaeger.wait_spans(svc, requests * 10)
    servers = {s["spanID"]: s for s in spans if s["tagmap"]["span.kind"] == "server"
               and s["tagmap"].get("url.path", "").startswith(nonce)}
    assert len(servers) == requests
    calls = {}
    for s in spans:
        if s["tagmap"].get("db.system.name") == "redis":
            calls.setdefault(parent(s), []).append(s)
    failing = commands[-1]
    wrong, setup = [], 0
    for sid, server in servers.items():
        # a request that takes a new connection from the pool also sends the client's
        # connection setup (go-redis: HELLO), in its trace as it should be
        mine = [s for s in calls.get(sid, []) if s["operationName"] not in SETUP]
        setup += len(calls.get(sid, [])) - len(mine)
        # a pipeline's commands are one write: they start together, so compare as a multiset
        got = sorted(s["operationName"] for s in mine)
        if got != sorted(commands) or any(s["traceID"] != server["traceID"] for s in mine):
            wrong.append((server["tagmap"]["url.path"], got))
            continue
        failed = [s for s in mine if s["tagmap"].get("db.response.status_code")]
        if (len(failed) != 1 or failed[0]["operationName"] != failing
                or failed[0]["tagmap"]["db.response.status_code"] != "ERR"
                or failed[0]["tagmap"].get("error.type") != "ERR"
                or not (failed[0]["tagmap"].get("otel.status_code") == "ERROR"
                        or failed[0]["tagmap"].get("error") is True)):
            wrong.append((server["tagmap"]["url.path"], "the failing command", failed))
        for s in mine:
            t = s["tagmap"]
            if (t.get("db.namespace") != "0" or t.get("server.port") != redis_port
                    or t.get("db.query.text", "").split(" ")[0] != s["operationName"]
                    or "value" in t.get("db.query.text", "")
                    or not server["startTime"] <= s["startTime"] <= s["startTime"]
                    + s["duration"] <= server["startTime"] + server["duration"]):
                wrong.append((server["tagmap"]["url.path"], t))
    assert wrong == []
    # no Redis span outside the requests; a connection's setup once per connection at most
    assert sum(len(v) for v in calls.values()) == requests * len(commands) + setup
    assert setup <= THREADS  # 16 clients: at most a connection each
    log = agent.stderr()
    assert " db_calls_evicted=0 " in log and " unmatched_responses=0 " in log
