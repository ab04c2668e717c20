"""Running it like a node agent: /metrics, SIGHUP reload, --check-config, service-name rules."""
import json
import os
import re
import subprocess
import time
import urllib.request

from harness import AGENT, free_port, py_server


def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return r.read().decode()


def sample(text, name, **labels):
    """The value of one sample, labels given in the order they are written."""
    lab = ",".join(f'{k}="{v}"' for k, v in labels.items())
    m = re.search(rf"^{re.escape(name)}{{{re.escape(lab)}}} (\S+)$", text, re.M)
    return float(m.group(1)) if m else None


def curl(*urls):
    cmd = ["curl", "-sS"]
    for u in urls:
        cmd += ["-o", "/dev/null", u]
    subprocess.run(cmd, check=True, timeout=30)


def spans_in(path):
    out = []
    for line in open(path):
        for rs in json.loads(line)["resourceSpans"]:
            svc = {a["key"]: a["value"] for a in rs["resource"]["attributes"]}["service.name"]
            for ss in rs["scopeSpans"]:
                for s in ss["spans"]:
                    s["service"] = svc["stringValue"]
                    s["attrs"] = {a["key"]: a["value"] for a in s["attributes"]}
                    out.append(s)
    return out


def test_metrics_endpoint(agent_factory, procs, nonce, tmp_path):
    mport, sport = free_port(), free_port()
    agent = agent_factory("--metrics", f"127.0.0.1:{mport}", "--otlp-file",
                          str(tmp_path / "s.jsonl"))
    assert f"metrics on http://127.0.0.1:{mport}/metrics" in agent.stderr()
    svc = "metrics-" + nonce.strip("/")
    py_server(procs, sport, nonce, svc)
    curl(*[f"http://127.0.0.1:{sport}{nonce}/items/{n}" for n in range(5)])
    curl(f"http://127.0.0.1:{sport}{nonce}/boom", f"http://127.0.0.1:{sport}{nonce}/boom")
    deadline = time.time() + 10
    labels = dict(service_name=svc, http_request_method="GET",
                  http_route=f"{nonce}/items/{{id}}", http_response_status_code="200")
    cl = dict(service_name="curl", http_request_method="GET", http_route=f"{nonce}/boom",
              http_response_status_code="500")
    while time.time() < deadline:
        text = scrape(mport)
        if sample(text, "http_server_request_duration_seconds_count", **labels) == 5 and \
                sample(text, "http_client_request_duration_seconds_count", **cl) == 2:
            break
        time.sleep(0.2)
    assert sample(text, "http_server_request_duration_seconds_count", **labels) == 5
    assert sample(text, "http_server_request_duration_seconds_bucket", **labels, le="+Inf") == 5
    assert 0 < sample(text, "http_server_request_duration_seconds_sum", **labels) < 5
    boom = dict(labels, http_route=f"{nonce}/boom", http_response_status_code="500")
    assert sample(text, "http_server_request_duration_seconds_count", **boom) == 2
    # the client side (curl), as http.client.request.duration
    assert sample(text, "http_client_request_duration_seconds_count", **cl) == 2
    # buckets are cumulative
    buckets = [float(v) for v in re.findall(
        rf'^http_server_request_duration_seconds_bucket{{service_name="{svc}",'
        rf'http_request_method="GET",http_route="{re.escape(nonce)}/items/{{id}}",'
        rf'http_response_status_code="200",le="[^"]+"}} (\S+)$', text, re.M)]
    assert len(buckets) == 15 and buckets == sorted(buckets)
    # the agent's own counters
    assert float(re.search(r"^zerotrace_events_total (\d+)$", text, re.M).group(1)) > 0
    assert float(re.search(r"^zerotrace_spans_total (\d+)$", text, re.M).group(1)) >= 14
    assert float(re.search(r"^zerotrace_joined_same_node_total (\d+)$", text, re.M).group(1)) >= 7
    assert sample(text, "zerotrace_kernel_drops_total", reason="ringbuf_full") == 0
    assert re.search(r"^zerotrace_conns_tracked \d+$", text, re.M)
    assert re.search(r"^zerotrace_not_selected_total 0$", text, re.M)
    assert re.search(r"^zerotrace_no_process_total \d+$", text, re.M)
    # per program of the capture path in use
    path = re.search(r"ready: (\w+) programs attached", agent.stderr()).group(1)
    write_prog = {"socket": "sk_send", "tracepoint": "tp_enter_write", "kprobe": "kp_write"}[path]
    assert re.search(rf'^zerotrace_bpf_runs_total{{program="{write_prog}"}} \d+$', text, re.M)
    assert agent.stop() == 0
    # one name per counter: every one of the final log lines is in /metrics under that name
    log = agent.stderr()
    for line, prefix in (("stats", ""), ("links", ""), ("go", "go_")):
        values = re.search(rf"final {line}: (.*)", log).group(1)
        kernel = values.split(" kernel_drops: ")
        for key, _ in re.findall(r"(\w+)=(\d+)", kernel[0]):
            assert re.search(rf"^zerotrace_{prefix}{key}(_total)? \d+$", text, re.M), key
        for key, _ in re.findall(r"(\w+)=(\d+)", kernel[1] if len(kernel) > 1 else ""):
            assert sample(text, "zerotrace_kernel_drops_total", reason=key) is not None, key


def test_metrics_off_by_default(agent_factory):
    agent = agent_factory("--otlp-file", "/dev/null")
    assert "metrics on" not in agent.stderr()
    assert agent.stop() == 0


def test_sighup_reload(agent_factory, procs, nonce, tmp_path):
    p1, p2 = free_port(), free_port()
    conf = tmp_path / "zerotrace.yaml"
    out = tmp_path / "spans.jsonl"
    conf.write_text(f"select:\n  ports: [{p1}]\nexporter:\n  file: {out}\n")
    agent = agent_factory("-c", str(conf))
    py_server(procs, p1, nonce, "reload-one")
    # no OTEL_SERVICE_NAME: named by the rule the reload brings in
    py_server(procs, p2, nonce, "")
    curl(f"http://127.0.0.1:{p1}{nonce}/items/1", f"http://127.0.0.1:{p2}{nonce}/items/2")
    conf.write_text(f"select:\n  ports: [{p2}]\nexporter:\n  file: {out}\n"
                    f"service_names: ['*python3*=from-rule']\n")
    agent.proc.send_signal(1)  # SIGHUP
    deadline = time.time() + 10
    while "reload: done" not in agent.stderr() and time.time() < deadline:
        time.sleep(0.1)
    assert "reload: done" in agent.stderr()
    curl(f"http://127.0.0.1:{p1}{nonce}/items/3", f"http://127.0.0.1:{p2}{nonce}/items/4")
    # a broken file on the next reload is refused whole; the running configuration stays
    conf.write_text("select:\n  ports: [0]\n")
    agent.proc.send_signal(1)
    deadline = time.time() + 10
    while "keeping the running one" not in agent.stderr() and time.time() < deadline:
        time.sleep(0.1)
    assert "bad value '0' for select.ports" in agent.stderr()
    curl(f"http://127.0.0.1:{p2}{nonce}/items/5")
    assert agent.stop() == 0
    servers = sorted((s["attrs"]["url.path"]["stringValue"], s["service"])
                     for s in spans_in(out) if s["kind"] == 2)
    assert servers == [(f"{nonce}/items/1", "reload-one"), (f"{nonce}/items/4", "from-rule"),
                       (f"{nonce}/items/5", "from-rule")]


def test_check_config(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text("exporter:\n  endpoint: http://127.0.0.1:4318\nmetrics:\n  enabled: true\n"
                    "  address: 127.0.0.1:9464\nservice_names: ['*/java=orders']\n"
                    "select:\n  cgroups: ['/system.slice/*']\n")
    r = subprocess.run([AGENT, "-c", str(good), "--check-config"], capture_output=True,
                       text=True)
    assert r.returncode == 0 and "configuration is valid" in r.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("exporter:\n  endpoint: http://127.0.0.1:4318\nmetrics:\n  enabled: maybe\n")
    r = subprocess.run([AGENT, "-c", str(bad), "--check-config"], capture_output=True, text=True)
    assert r.returncode == 2
    assert f"{bad}:4: bad value 'maybe' for metrics.enabled" in r.stderr
    # the shipped, documented configuration is valid as it is
    r = subprocess.run([AGENT, "-c", os.path.join(os.path.dirname(AGENT), "..", "configs",
                                                  "zerotrace.yaml"), "--check-config"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
