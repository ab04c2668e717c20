"""What the integration tests and `make accuracy` share: a Jaeger query client, the agent
and test servers as subprocesses, ports."""
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
AGENT = os.path.join(ROOT, "build", "zerotrace")
# each agent's stderr, kept for a failed test's post-mortem; conftest clears it per session
AGENT_LOGS = os.path.join(ROOT, "build", "agent-logs")
JAEGER = os.environ.get("ZT_JAEGER", os.path.join(ROOT, "build", "tools", "jaeger"))
APPS = os.path.join(os.path.dirname(__file__), "apps")
GRPC_GO = os.path.join(ROOT, "build", "tools", "grpc_go")
JAEGER_QUERY = "http://127.0.0.1:16686"
OTLP_HTTP = "http://127.0.0.1:4318"


def wait_for_port(port, host="127.0.0.1", timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JaegerProcess:
    """A real Jaeger v2 all-in-one: in-memory storage, OTLP on 4318, query API on 16686."""

    def __init__(self):
        assert os.path.exists(JAEGER), f"{JAEGER} missing: run `make deps`"
        for port in (4318, 16686):
            with socket.socket() as s:
                assert s.connect_ex(("127.0.0.1", port)) != 0, f"port {port} already in use"
        self.log = open(os.path.join(ROOT, "build", "jaeger.log"), "w")
        # Jaeger traces its own query API and exports that to itself over OTLP/gRPC: real
        # traffic the agent would trace too, and count in the links the tests check exactly
        env = dict(os.environ, OTEL_TRACES_SAMPLER="always_off")
        self.proc = subprocess.Popen([JAEGER], stdout=self.log, stderr=subprocess.STDOUT,
                                     env=env)
        wait_for_port(4318)
        wait_for_port(16686)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=20)
        self.log.close()


class Jaeger:
    def get(self, path):
        with urllib.request.urlopen(JAEGER_QUERY + path, timeout=10) as r:
            return json.load(r)

    def spans(self, service, match=lambda s: True):
        """Every span of `service` (flattened, with serviceName and tags as a dict)."""
        data = self.get(f"/api/traces?service={service}&limit=100000&lookback=1h")["data"] or []
        out, seen = [], set()
        for trace in data:
            for s in trace["spans"]:
                if s["spanID"] in seen:
                    continue
                seen.add(s["spanID"])
                s["serviceName"] = trace["processes"][s["processID"]]["serviceName"]
                s["tagmap"] = {t["key"]: t["value"] for t in s["tags"]}
                s["process_tags"] = {t["key"]: t["value"]
                                     for t in trace["processes"][s["processID"]]["tags"]}
                if s["serviceName"] == service and match(s):
                    out.append(s)
        return out

    def wait_spans(self, service, count, match=lambda s: True, timeout=20.0):
        """Spans once `count` have arrived (and a moment more, so extras would show)."""
        deadline = time.time() + timeout
        spans = []
        while time.time() < deadline:
            try:
                spans = self.spans(service, match)
            except OSError:
                spans = []
            if len(spans) >= count:
                time.sleep(1.0)
                return self.spans(service, match)
            time.sleep(0.3)
        return spans


class Agent:
    def __init__(self, args, env):
        os.makedirs(AGENT_LOGS, exist_ok=True)
        self.log_path = os.path.join(AGENT_LOGS, f"agent-{os.getpid()}-{time.time_ns()}.log")
        self.log = open(self.log_path, "w+")
        self.proc = subprocess.Popen([AGENT] + args, stdout=subprocess.PIPE,
                                     stderr=self.log, env=env, text=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            if "ready" in self.stderr():
                return
            if self.proc.poll() is not None:
                raise RuntimeError("agent exited early:\n" + self.stderr())
            time.sleep(0.1)
        raise TimeoutError("agent never said ready:\n" + self.stderr())

    def stderr(self):
        self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        """SIGTERM: the agent flushes what is queued and exits 0."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=30)
        self.stdout = out
        return self.proc.returncode

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class Procs:
    def __init__(self):
        self.procs = []

    def start(self, args, env_extra=None, wait_port=None, **kw):
        env = dict(os.environ)
        env.update(env_extra or {})
        p = subprocess.Popen(args, env=env, **kw)
        self.procs.append(p)
        if wait_port:
            wait_for_port(wait_port)
        return p

    def stop(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()


def py_server(procs, port, prefix, service, backend=None, host="127.0.0.1", netns=None):
    args = ["python3", os.path.join(APPS, "py_server.py"), str(port), prefix]
    if backend:
        args.append(str(backend))
    if netns:
        args = ["ip", "netns", "exec", netns] + args
    env = {"BIND": host}
    if service:
        env["OTEL_SERVICE_NAME"] = service
    p = procs.start(args, env_extra=env, stdout=subprocess.DEVNULL)
    wait_for_port(port, host=host)
    return p


NGINX_CONF = """
user root;
worker_processes 2;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    sendfile on;
    keepalive_timeout 65;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    default_type application/octet-stream;
    server {{
        listen 127.0.0.1:{port}{listen_opts};
        listen [::1]:{port}{listen_opts};
        root {dir}/www;
        location {prefix}/api/ {{ return 200 "ok\\n"; }}
        location {prefix}/fail {{ return 503; }}
    }}
}}
"""


def nginx_server(procs, tmp_path, port, prefix, http2=False):
    """nginx on port; http2: cleartext HTTP/2 only (h2c with prior knowledge)."""
    www = tmp_path / "www" / prefix.strip("/")
    www.mkdir(parents=True)
    (www / "index.html").write_text("<html>hello</html>\n")
    (www / "big.bin").write_bytes(os.urandom(256 * 1024))
    conf = tmp_path / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=tmp_path, port=port, prefix=prefix,
                                      listen_opts=" http2" if http2 else ""))
    return procs.start(["nginx", "-c", str(conf), "-e", str(tmp_path / "error.log")],
                       wait_port=port)

