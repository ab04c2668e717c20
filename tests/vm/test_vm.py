"""The kernel matrix: the same binary on this machine's kernel (6.18, no kprobes) and on
Debian's stock 6.1 (kprobes on), booted under qemu (tests/vm/run-vm.sh, guest/matrix.sh).
Needs root, qemu-system-x86 and the package archive (the 6.1 kernel is fetched with
apt-get download)."""
import collections
import json
import os
import subprocess

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RESULTS = os.path.join(ROOT, "build", "vm", "results")
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"


@pytest.fixture(scope="module")
def vm():
    r = subprocess.run([os.path.join(ROOT, "tests", "vm", "run-vm.sh"),
                        "tests/vm/guest/matrix.sh", RESULTS, "900"],
                       capture_output=True, text=True)
    guest = open(os.path.join(RESULTS, "guest.log")).read() if os.path.exists(
        os.path.join(RESULTS, "guest.log")) else ""
    assert r.returncode == 0, f"VM run failed ({r.returncode}):\n{r.stderr}\n{guest}"
    return RESULTS


def read(name):
    with open(os.path.join(RESULTS, name)) as f:
        return f.read()


def spans_of(path):
    out = []
    for line in read(path).splitlines():
        for rs in json.loads(line)["resourceSpans"]:
            res = {a["key"]: a["value"] for a in rs["resource"]["attributes"]}
            for ss in rs["scopeSpans"]:
                for s in ss["spans"]:
                    s["service"] = res["service.name"]["stringValue"]
                    s["attrs"] = {a["key"]: a["value"] for a in s["attributes"]}
                    out.append(s)
    return out


def test_verifier_accepts_every_program_on_6_1(vm):
    # the verifier's own words are the failure message
    assert read("verify.status").strip() == "0", read("verify.log")
    progs = set(read("verify.programs").split())
    assert {"kp_write", "kp_ret_read", "tp_enter_write", "tp_exit_read", "tp_sched_exec",
            "go_newproc1", "go_newproc1_ret", "go_http_roundtrip", "go_http_request_write",
            "go_grpc_handle_stream", "go_grpc_client_headers_ret", "go_grpc_client_stream"} <= progs
    assert len(progs) == 35


def test_socket_path_refused_clearly_on_6_1(vm):
    assert read("socket-missing.status").strip() == "1"
    assert "--hooks socket: this kernel lacks the socket tracepoints" in read("socket-missing.log")


def test_verifier_accepts_every_program_on_this_kernel(tmp_path):
    # bpftool pins what it loads, and pins need a BPF filesystem: a private one, mounted here
    # and gone after, so a host without /sys/fs/bpf mounted (a fresh machine) is no different.
    # The pins go one level down: bpftool mounts a bpffs of its own on the pin path's parent
    # when that parent is not one, and it would cover ours.
    bpffs = tmp_path / "bpffs"
    bpffs.mkdir()
    subprocess.run(["mount", "-t", "bpf", "bpf", str(bpffs)], check=True)
    try:
        pin = bpffs / "progs"
        pin.mkdir()
        r = subprocess.run(["bpftool", "prog", "loadall", os.path.join(ROOT, "build",
                            "zerotrace.bpf.o"), str(pin)], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr
        progs = set(os.listdir(pin))
        assert {"sk_recv", "sk_send", "sk_state", "sk_destroy", "tp_exit_read",
                "go_grpc_client_headers_ret", "go_grpc_client_stream"} <= progs
        assert len(progs) == 39
    finally:
        subprocess.run(["umount", str(bpffs)], check=True)


@pytest.mark.parametrize("hooks", ["kprobe", "auto", "tracepoint"])
def test_http1_spans_on_6_1(vm, hooks):
    log = read(f"agent-{hooks}.log")
    assert read(f"agent-{hooks}.status").strip() == "0", log
    path = "kprobe" if hooks == "kprobe" else "tracepoint"
    assert f"ready: {path} programs attached" in log
    spans = [s for s in spans_of(f"spans-{hooks}.jsonl")
             if s["attrs"].get("url.path", {}).get("stringValue", "").startswith("/vm/items/")]
    servers = [s for s in spans if s["kind"] == 2]
    clients = {s["spanId"]: s for s in spans if s["kind"] == 3}
    assert len(servers) == 6 and len(clients) == 5  # the traceparent request has no 2nd span
    assert all(s["service"] == "vm-server" for s in servers)
    assert all(s["name"] == "GET /vm/items/{id}" for s in spans)
    for s in servers:
        if s["traceId"] == TRACE_ID:
            assert s["parentSpanId"] == "00f067aa0ba902b7"
        else:
            assert clients[s["parentSpanId"]]["traceId"] == s["traceId"]
    load = json.loads(read(f"load-{hooks}.json"))
    assert sum(load.values()) == 2 * 60 + 4


def test_go_goroutines_followed_on_6_1(vm):
    """The Go uprobes attach and work on 6.1: a Go gateway's calls from its handler and from
    goroutines it created are children of the request they serve."""
    log = read("agent-go.log")
    assert read("agent-go.status").strip() == "0", log
    assert "go: following /proc/" in log and "calls out: following its goroutines' creation" in log
    spans = [s for s in spans_of("spans-go.jsonl") if s["service"] == "vm-go-gw"]
    servers = {s["attrs"]["url.path"]["stringValue"]: s for s in spans if s["kind"] == 2}
    for n in range(1, 6):
        server = servers[f"/vm/api/{n}"]
        calls = [s for s in spans if s["kind"] == 3 and
                 s["attrs"]["url.path"]["stringValue"] in
                 (f"/vm/leaf/{n}/0", f"/vm/leaf/{n}/1", f"/vm/items/{n}")]
        assert len(calls) == 3
        for c in calls:
            assert c["parentSpanId"] == server["spanId"] and c["traceId"] == server["traceId"]


def test_auto_picks_documented_default_on_6_1(vm):
    assert "capture path: syscall tracepoints (auto: the cheaper path where both exist)" in \
        read("agent-auto.log")


def test_no_btf_error_and_btf_flag(vm):
    assert read("btf-missing.status").strip() == "1"
    assert "exposes no BTF" in read("btf-missing.log") and "--btf PATH" in read("btf-missing.log")
    assert read("agent-btf.status").strip() == "0", read("agent-btf.log")
    assert "using the kernel types in /tmp/vmlinux.btf" in read("agent-btf.log")
    spans = spans_of("spans-btf.jsonl")
    assert any(s["name"] == "GET /vm/btf/{id}" and s["kind"] == 2 for s in spans)


def per_program_cost(path):
    """{program: (run_cnt, ns per run)} for the agent's programs."""
    out = {}
    for p in json.loads(read(path)):
        name = p.get("name", "")
        if (name.startswith("tp_") or name.startswith("kp_")) and p.get("run_cnt"):
            out[name] = (p["run_cnt"], p["run_time_ns"] / p["run_cnt"])
    return out


def test_cost_per_event_reported(vm, capsys):
    lines = []
    for hooks in ("kprobe", "tracepoint"):
        cost = per_program_cost(f"cost-{hooks}.json")
        assert cost, f"no run-time statistics for {hooks}"
        total = sum(cnt * ns for cnt, ns in cost.values())
        events = sum(cnt for cnt, _ in cost.values())
        lines.append(f"6.1 {hooks}: {total / events:.0f} ns/event over {events} program runs; "
                     + ", ".join(f"{n} {ns:.0f}" for n, (c, ns) in sorted(cost.items())))
    with open(os.path.join(RESULTS, "cost-summary.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with capsys.disabled():
        print("\n" + "\n".join(lines))
