"""Redis commands as database spans (session/redis.c), from a real redis-server (Debian's) on
loopback and redis-py: every request's trace is exactly the web service's server span with its
nine Redis client spans under it, through a pool of four connections shared by 16 concurrent
clients."""
import os
import subprocess
import tempfile

from harness import APPS, OTLP_HTTP, free_port
from gotopology import parent

THREADS, PER_THREAD = 16, 15


def start_redis(procs):
    port = free_port()
    data = tempfile.mkdtemp(prefix="zt-redis-")
    procs.start(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", data], wait_port=port, stdout=subprocess.DEVNULL)
    return port


def test_redis_commands_in_their_requests(agent_factory, jaeger, procs, nonce):
    svc = f"redissvc-{nonce.strip('/')[-6:]}"
    agent = agent_factory(env_extra={"OTEL_EXPORTER_OTLP_ENDPOINT": OTLP_HTTP})
    redis_port, web_port = start_redis(procs), free_port()
    procs.start(["python3", os.path.join(APPS, "redis_service.py"), str(web_port),
                 str(redis_port)], env_extra={"OTEL_SERVICE_NAME": svc}, wait_port=web_port,
                stdout=subprocess.DEVNULL)
    out = subprocess.run(["python3", os.path.join(APPS, "loadgen.py"), "127.0.0.1",
                          str(web_port), nonce, str(THREADS), str(PER_THREAD)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    requests = THREADS * PER_THREAD
    assert agent.stop() == 0
    spans = jaeger.wait_spans(svc, requests * 10)
    servers = {s["spanID"]: s for s in spans if s["tagmap"]["span.kind"] == "server"
               and s["tagmap"].get("url.path", "").startswith(nonce)}
    assert len(servers) == requests
    calls = {}
    for s in spans:
        if s["tagmap"].get("db.system.name") == "redis":
            calls.setdefault(parent(s), []).append(s)
    commands = ["SET", "GET", "INCRBY", "GET", "MULTI", "SET", "INCRBY", "EXEC", "INCRBY"]
    wrong = []
    for sid, server in servers.items():
        mine = calls.get(sid, [])
        # a pipeline's commands are one write: they start together, so compare as a multiset
        got = sorted(s["operationName"] for s in mine)
        if got != sorted(commands) or any(s["traceID"] != server["traceID"] for s in mine):
            wrong.append((server["tagmap"]["url.path"], got))
            continue
        failed = [s for s in mine if s["tagmap"].get("db.response.status_code")]
        if (len(failed) != 1 or failed[0]["operationName"] != "INCRBY"
                or failed[0]["tagmap"]["db.response.status_code"] != "ERR"
                or failed[0]["tagmap"].get("error.type") != "ERR"
                or not (failed[0]["tagmap"].get("otel.status_code") == "ERROR"
                        or failed[0]["tagmap"].get("error") is True)):
            wrong.append((server["tagmap"]["url.path"], "the failing INCRBY", failed))
        for s in mine:
            t = s["tagmap"]
            if (t.get("db.namespace") != "0" or t.get("server.port") != redis_port
                    or t.get("db.query.text", "").split(" ")[0] != s["operationName"]
                    or "value" in t.get("db.query.text", "")
                    or not server["startTime"] <= s["startTime"] <= s["startTime"]
                    + s["duration"] <= server["startTime"] + server["duration"]):
                wrong.append((server["tagmap"]["url.path"], t))
    assert wrong == []
    # no Redis span outside the requests
    assert sum(len(v) for v in calls.values()) == requests * len(commands)
    log = agent.stderr()
    assert " db_calls_evicted=0 " in log and " unmatched_responses=0 " in log
