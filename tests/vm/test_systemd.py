"""The packaged service under real systemd (PID 1): the .deb unpacked into an overlay of this
machine's root, booted under qemu on Debian's 6.1 (tests/vm/init with zt.systemd); the scenario
(guest/systemd.sh) starts it, reloads it, scrapes /metrics and stops it."""
import glob
import json
import os
import re
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RESULTS = os.path.join(ROOT, "build", "vm", "results-systemd")


@pytest.fixture(scope="module")
def boot():
    subprocess.run(["make", "-C", ROOT, "deb"], check=True, capture_output=True)
    deb = glob.glob(os.path.join(ROOT, "build", "zerotrace_*_amd64.deb"))[0]
    subprocess.run(["sh", os.path.join(ROOT, "tests", "vm", "guest", "systemd-root.sh"), deb,
                    os.path.join(ROOT, "build", "vm", "sdroot")], check=True)
    r = subprocess.run([os.path.join(ROOT, "tests", "vm", "run-vm.sh"), "none", RESULTS, "600"],
                       env=dict(os.environ, ZT_VM_ARGS="zt.systemd=1 fstab=no"),
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    with open(os.path.join(RESULTS, "systemd.txt")) as f:
        return dict(line.strip().split("=", 1) for line in f if "=" in line)


def read(name):
    with open(os.path.join(RESULTS, name)) as f:
        return f.read()


def test_start_reaches_ready(boot):
    # Type=notify: "active" only once the agent sent READY=1
    assert boot["start"] == "0" and boot["ActiveState"] == "active"
    assert boot["SubState"] == "running"
    assert "ready: tracepoint programs attached" in read("journal.txt")


def test_reload_keeps_the_process(boot):
    assert boot["reload"] == "0" and boot["same_pid"] == "yes"
    assert boot["after_reload_ActiveState"] == "active"
    assert "reload: done" in read("journal.txt")


def test_journal_gets_priorities_not_prefixes(boot):
    # stderr is the journal stream: each line's <N> prefix became the entry's PRIORITY
    entries = [json.loads(line) for line in read("journal.json").splitlines()
               if line.startswith("{")]
    agent = [e for e in entries if str(e.get("MESSAGE", "")).startswith("zerotrace ")]
    assert agent and not [e for e in entries if str(e.get("MESSAGE", "")).startswith("<")]
    def priorities(start):
        return {e["PRIORITY"] for e in agent if e["MESSAGE"].startswith(start)}
    assert priorities("zerotrace info: ready: tracepoint programs attached") == {"6"}
    assert priorities("zerotrace warn: reload: capture and metrics settings") == {"4"}


def test_stops_cleanly_and_flushes(boot):
    assert boot["stop"] == "0" and boot["after_stop_Result"] == "success"
    assert boot["after_stop_ActiveState"] == "inactive"
    assert "final stats" in read("journal.txt")
    servers = []
    for line in read("spans.jsonl").splitlines():
        for rs in json.loads(line)["resourceSpans"]:
            attrs = {a["key"]: a["value"] for a in rs["resource"]["attributes"]}
            if attrs["service.name"] == {"stringValue": "sd-server"}:
                servers += [s for ss in rs["scopeSpans"] for s in ss["spans"] if s["kind"] == 2]
    assert sum(1 for s in servers if s["name"] == "GET /index.html") == 4


def test_metrics_under_systemd(boot):
    m = re.search(r'^http_server_request_duration_seconds_count\{service_name="sd-server",'
                  r'http_request_method="GET",http_route="/index.html",'
                  r'http_response_status_code="200"\} (\d+)$', read("metrics.txt"), re.M)
    assert m and int(m.group(1)) == 4
