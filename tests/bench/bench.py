"""`make bench`: what the agent costs a busy service, measured side by side in one run.

Each case alternates runs without and with the agent in pairs, every other pair in the other
order (off on, on off, off on, ...), same binary, same settings, the agent exporting OTLP/HTTP
protobuf to a local receiver (otlp_sink). It prints one table: throughput ratio (median of the
pairs and its 95% interval), p50/p99 latency ratios, the service's CPU per request and share
of a CPU (the two factors of its throughput), agent CPU per traced request (scheduler run time
of its threads), in-kernel BPF time per request, agent RSS, drops by reason, and the share of
requests that produced a span (a run where spans are missing does not count as fast).

Cases:
  nginx-static   nginx (1 worker) serving a tiny file over keep-alive, saturated by wrk: the
                 worst case for a tracer, almost all the work is the syscalls it watches.
  go-tiny        the same Go service's handler that only answers "ok", saturated by wrk: the
                 worst case for a Go server that calls nothing (every event's goroutine read;
                 its goroutine creation is not followed until it calls out).
  go-call        the same handler after one net/http call to go-tiny over the keep-alive
                 pool: a Go gateway's worst case, every uprobe firing (goroutine creation, the
                 call's hand-over to net/http's writer) for every request. Spans: both sides.
  go-grpc        the same handler after one grpc-go unary call to a gRPC server in the same
                 process over one connection: the gRPC client's hand-over to its loopy writer
                 and the server's handler goroutine followed, per request.
  work-1ms       a Go service whose handler burns ~1 ms of CPU per request.
  *-nogo         a Go case again with capture.go_goroutines=false: no Go uprobes, no goroutine
                 read per event (Go processes then get no in-process links): what following
                 goroutines costs, as the difference between the two rows.
  redis-get-set  redis-benchmark's SET and GET loops against a local redis-server, 16
                 connections with one command in flight each: the traced process is the client,
                 every command a span; svc columns are the client's CPU.
  *@base         with BENCH_BASELINE=PATH (another build of the agent, e.g. of the commit
                 before a change): nginx-static, go-tiny and go-call again with that agent, in
                 the same run, so a change's cost is read side by side, not across runs.
  conns-1000     1,000 open keep-alive connections: the agent's steady RSS.
  floor-PATH     nginx-static with empty BPF programs on a capture path's hooks instead of the
                 agent (build/bench/floor): what attaching to them costs by itself, the floor
                 under any tracer that uses them. socket (the agent's path where the kernel has
                 it) and tracepoint (syscall tracepoints, the path before 6.16).
  floor-capture  nginx-static with the least any tracer of request boundaries does on the
                 socket path's read and send hooks instead of the agent: a timestamp, the
                 first 64 bytes and a 96-byte ring record per socket read or write, read by a
                 loop that only counts them. What capture itself costs on this machine,
                 whatever the design behind it (no connection state, no parsing, no export).
  floor-paired   the same, pairing request and response in the kernel instead: a read keeps
                 its time and first 64 bytes in the sock, the next send ships them with its
                 own time and the reply's first 16 bytes in one record. The least a tracer
                 that ships one record per exchange would cost.
  pingpong       one thread playing both ends of nginx's exchange over loopback (read, writev,
                 sendfile on the server end; write and read on the client's) with the agent,
                 then each minimal capture, attached: BPF time per exchange, the agent's and the
                 floors' side by side. Without nginx, wrk and the scheduler between them, about
                 twice as steady as the BPF time per request taken under nginx.
  dd-bystander   a process with no network I/O (dd copying /dev/zero to /dev/null, 4 KiB a
                 time): what the agent costs the rest of the node, on its path and on the
                 syscall tracepoints.

usage: bench.py [PAIRS] [SECONDS]      (default 15 pairs of 3 s runs)
       BENCH_ONLY=go bench.py ...      the Go cases alone
       BENCH_ONLY=agent bench.py ...   the agent's cases and conns-1000, without the floors,
                                       the bystander and pingpong

On a shared 2-CPU VM the host's speed moves by ±5% from one run to the next whatever the run's
length, so a pair's ratio is only good to about ±0.05 whether it lasts 3 s or 8 s. Many short
pairs, half in each order, give the median an interval a few points wide (printed with it);
with 5 pairs the median of one run moved from 0.83 to 0.95 for the same build.
A benchmark prints numbers; it never fails on a slow machine.
"""
import contextlib
import json
import math
import os
import re
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from harness import free_port, wait_for_port  # noqa: E402

AGENT = os.path.join(ROOT, "build", "zerotrace")
SINK = os.path.join(ROOT, "build", "bench", "otlp_sink")
WORK = os.path.join(ROOT, "build", "bench", "work_server")
FLOOR = os.path.join(ROOT, "build", "bench", "floor")
PINGPONG = os.path.join(ROOT, "build", "bench", "pingpong")
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}

NGINX_CONF = """
user root;
worker_processes 1;
worker_rlimit_nofile 8192;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    keepalive_timeout 120;
    keepalive_requests 1000000;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        root {dir}/www;
    }}
}}
"""


def wrk(url, seconds, conns, threads=1):
    out = subprocess.run(["wrk", "-t", str(threads), "-c", str(conns), "-d", f"{seconds}s",
                          "--latency", url], capture_output=True, text=True, check=True).stdout
    lat = {}
    for pct, val, unit in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M):
        lat[pct] = float(val) * UNITS[unit]
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "p50": lat["50"], "p99": lat["99"],
        "errors": int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0,
    }


def service_wrk(url, seconds, conns, service_pid):
    """wrk, and what the service spent serving it: its CPU per request (scheduler run time of
    all its threads) and its share of a CPU over the run. A saturated service's throughput is
    its share divided by its CPU per request, so the two split a throughput loss: the service
    doing more per request (the hooks' time in its syscalls), and the service getting less of
    the CPU (the agent, or a floor's reader, running in its place)."""
    cpu0, t0 = cpu_seconds(service_pid), time.monotonic()
    res = wrk(url, seconds, conns)
    cpu, wall = cpu_seconds(service_pid) - cpu0, time.monotonic() - t0
    res["svc_us"] = cpu * 1e6 / max(res["requests"], 1)
    res["svc_share"] = cpu / wall
    return res


def nginx_worker_pid(master):
    """The one worker (worker_processes 1): the process that serves, and whose CPU counts."""
    deadline = time.time() + 10
    while time.time() < deadline:
        with open(f"/proc/{master}/task/{master}/children") as f:
            children = f.read().split()
        if children:
            return int(children[0])
        time.sleep(0.05)
    raise RuntimeError("nginx started no worker")


def sink_stats(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=10) as r:
        return json.load(r)


def server_spans(stats, service):
    return sum(c["count"] for c in stats["spans"] if c["service"] == service and c["kind"] == 2)


def cpu_seconds(pid):
    """User + system CPU of all the process's threads, in ns from the scheduler: utime and
    stime count 10 ms ticks, 0.6 us per request at the Go case's 2,000 requests/s."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/schedstat") as f:
            total += int(f.read().split()[0])
    return total / 1e9


def rss_mb(pid, key="VmRSS"):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(rf"{key}:\s+(\d+) kB", f.read()).group(1)) / 1024.0


def bpf_programs():
    """{id: (name, run_time_ns, run_cnt)} of every loaded program (kernel.bpf_stats_enabled)."""
    progs = json.loads(subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True,
                                      text=True, check=True).stdout)
    return {p["id"]: (p.get("name", ""), p.get("run_time_ns", 0), p.get("run_cnt", 0))
            for p in progs}


@contextlib.contextmanager
def bpf_stats():
    """kernel.bpf_stats_enabled=1 for the block, then back to what it was before."""
    knob = "/proc/sys/kernel/bpf_stats_enabled"
    with open(knob) as f:
        was = f.read().strip()
    with open(knob, "w") as f:
        f.write("1")
    try:
        yield
    finally:
        with open(knob, "w") as f:
            f.write(was)


def bpf_spent(before, a, b):
    """{name: (run_time_ns, run_cnt)} from snapshot a to snapshot b of bpf_programs(), for the
    programs loaded since the ids in before: those of the agent or floor started in between,
    whatever their names."""
    spent = {}
    for i, (name, ns, cnt) in b.items():
        if i not in before and i in a:
            t, r = spent.get(name, (0, 0))
            spent[name] = (t + ns - a[i][1], r + cnt - a[i][2])
    return spent


class AgentRun:
    def __init__(self, sink_port, hooks="auto", extra_env=None, binary=None):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "ZEROTRACE_"))}
        env["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://127.0.0.1:{sink_port}"
        env.update(extra_env or {})
        self.log = tempfile.NamedTemporaryFile("w+", prefix="zt-bench-", suffix=".log")
        self.proc = subprocess.Popen([binary or AGENT, "--hooks", hooks], stdout=subprocess.DEVNULL,
                                     stderr=self.log, env=env)
        deadline = time.time() + 60
        while "ready" not in self.text():
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("agent did not start:\n" + self.text())
            time.sleep(0.05)
        self.path = re.search(r"ready: (\w+) programs attached", self.text()).group(1)

    def text(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)
        text = self.text()
        drops = dict(re.findall(r"(\w+)=(\d+)", text.split("kernel_drops:")[-1].split("\n")[0]))
        stats = dict(re.findall(r"(\w+)=(\d+)", re.search(r"final stats: (.*)", text).group(1)))
        lost = {k: int(v) for k, v in drops.items() if k != "payload_truncated" and int(v)}
        for k in ("queue_dropped", "export_failed", "seq_gaps", "conns_evicted", "conns_without_addrs"):
            if int(stats.get(k, 0)):
                lost[k] = int(stats[k])
        return lost


class FloorRun:
    """build/bench/floor attached in one mode until stop()."""
    def __init__(self, mode):
        self.proc = subprocess.Popen([FLOOR, mode], stdout=subprocess.PIPE, text=True)
        if self.proc.stdout.readline().strip() != "ready":
            self.proc.wait(timeout=10)
            raise RuntimeError("build/bench/floor did not attach its programs")

    def stop(self):
        """The floor's report: "records N lost N" in the capturing modes."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.communicate(timeout=30)[0]


def alternate(pairs, run_off, run_on):
    """[{"off": ..., **on}] for each pair. Every other pair runs on before off (off on, on off,
    off on, ...): a host that speeds up or slows down over the run then favours the on runs as
    often as the off runs, instead of always the second run of a pair."""
    rows = []
    for i in range(pairs):
        if i % 2:
            on = run_on()
            off = run_off()
        else:
            off = run_off()
            on = run_on()
        rows.append({"off": off, **on, "on_first": bool(i % 2)})
    return rows


def run_case(name, url, service, service_pid, conns, pairs, seconds, sink_port, agent_env=None,
             binary=None):
    return measure(name, lambda: service_wrk(url, seconds, conns, service_pid),
                   lambda: wrk(url, seconds, conns), lambda st: server_spans(st, service), pairs,
                   sink_port, agent_env, binary)


def measure(name, load, bare_load, spans, pairs, sink_port, agent_env=None, binary=None):
    """Pairs of load() without and with the agent; spans(sink stats): what it traced so far.
    load() returns rps, requests, p50, p99 and the service's CPU (svc_us, svc_share)."""
    print(f"  {name} ...", flush=True)

    def run_on():
        before = spans(sink_stats(sink_port))
        agent = AgentRun(sink_port, extra_env=agent_env, binary=binary)
        cpu0 = cpu_seconds(agent.proc.pid)
        on = load()
        time.sleep(1.5)  # let the exporter drain; its CPU belongs to these requests
        cpu = cpu_seconds(agent.proc.pid) - cpu0
        rss = rss_mb(agent.proc.pid)
        lost = agent.stop()
        traced = spans(sink_stats(sink_port)) - before
        return {"on": on, "cpu_us": cpu * 1e6 / max(on["requests"], 1), "rss": rss,
                "lost": lost, "traced": traced / max(on["requests"], 1), "path": agent.path}

    rows = alternate(pairs, load, run_on)
    # in-kernel time, in a run of its own: bpf_stats costs a little on every program run
    with bpf_stats():
        before = set(bpf_programs())
        agent = AgentRun(sink_port, extra_env=agent_env, binary=binary)
        a = bpf_programs()
        on = bare_load()
        spent = bpf_spent(before, a, bpf_programs())
        agent.stop()
        bpf_ns = sum(t for t, _ in spent.values()) / max(on["requests"], 1)
    return {"name": name, "rows": rows, "bpf_ns": bpf_ns, "path": rows[0]["path"]}


def redis_benchmark(port, n):
    """redis-benchmark's SET then GET loops, n commands each from 16 connections (one command
    in flight on each), and what the client spent: the traced process is the client."""
    r0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic()
    out = subprocess.run(["redis-benchmark", "-p", str(port), "-t", "set,get", "-n", str(n),
                          "-c", "16", "--csv"], capture_output=True, text=True,
                         check=True).stdout
    r1, wall = resource.getrusage(resource.RUSAGE_CHILDREN), time.monotonic() - t0
    rows = [line.replace('"', "").split(",") for line in out.splitlines()[1:] if line]
    cpu = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
    return {"rps": 2 * n / sum(n / float(r[1]) for r in rows), "requests": 2 * n,
            "p50": statistics.mean(float(r[4]) for r in rows),
            "p99": statistics.mean(float(r[6]) for r in rows),
            "svc_us": cpu * 1e6 / (2 * n), "svc_share": cpu / wall}


def run_redis_case(pairs, seconds, sink_port, redis_port):
    """redis-get-set: a Redis client's tight loop, every command a span."""
    rate = redis_benchmark(redis_port, 20000)["rps"]
    n = max(int(rate * seconds / 2), 1000)
    client_spans = lambda st: sum(c["count"] for c in st["spans"]  # noqa: E731
                                  if "redis-benchmark" in c["service"] and c["kind"] == 3)
    return measure("redis-get-set", lambda: redis_benchmark(redis_port, n),
                   lambda: redis_benchmark(redis_port, n), client_spans, pairs, sink_port)


def run_floor_case(mode, url, service_pid, conns, pairs, seconds):
    """Pairs as run_case's, with build/bench/floor attached instead of the agent: one path's
    empty programs (mode socket or tracepoint), or minimal capture on the socket path's hooks
    (mode capture: a record per read and write; paired: a record per exchange), whose records
    read and lost per request are kept."""
    def run_on():
        floor = FloorRun(mode)
        try:
            on = service_wrk(url, seconds, conns, service_pid)
        finally:
            tail = floor.stop()
        row = {"on": on}
        if mode in ("capture", "paired"):
            m = re.search(r"records (\d+) lost (\d+)", tail)
            if not m:
                raise RuntimeError(f"build/bench/floor {mode} did not report its records: {tail}")
            row["records"] = int(m.group(1)) / max(on["requests"], 1)
            row["lost"] = int(m.group(2))
        return row

    rows = alternate(pairs, lambda: service_wrk(url, seconds, conns, service_pid), run_on)
    return {"name": f"floor-{mode}", "rows": rows}


def pingpong(seconds):
    """(exchanges, ns) of build/bench/pingpong running for seconds."""
    out = subprocess.run([PINGPONG, str(seconds)], capture_output=True, text=True,
                         check=True).stdout
    m = re.match(r"(\d+) exchanges in (\d+) ns", out)
    if not m:
        raise RuntimeError(f"build/bench/pingpong printed {out!r}")
    return int(m.group(1)), int(m.group(2))


def run_pingpong(reps, seconds, sink_port):
    """BPF time per exchange of one thread playing both ends of nginx's exchange, with the
    agent and with each minimal capture attached in turn (rep after rep, the variants in the
    same order), and the exchange's own time with nothing attached."""
    variants = {"agent": lambda: AgentRun(sink_port), "floor-capture": lambda: FloorRun("capture"),
                "floor-paired": lambda: FloorRun("paired")}
    ns = {name: [] for name in variants}
    per_prog = {name: {} for name in variants}
    off = []
    with bpf_stats():
        for _ in range(reps):
            n, t = pingpong(seconds)
            off.append(t / n)
            for name, start in variants.items():
                before = set(bpf_programs())
                run = start()
                try:
                    a = bpf_programs()
                    n, _ = pingpong(seconds)
                    spent = bpf_spent(before, a, bpf_programs())
                finally:
                    run.stop()
                ns[name].append(sum(t for t, _ in spent.values()) / n)
                for prog, (t, runs) in spent.items():
                    if runs / n >= 0.5:
                        per_prog[name].setdefault(prog, []).append((t / n, runs / n))
    return {"off_ns": off, "ns": ns, "per_prog": per_prog}


def dd_rate(count):
    """4 KiB reads and writes per second of a process that touches no socket."""
    t0 = time.monotonic()
    subprocess.run(["dd", "if=/dev/zero", "of=/dev/null", "bs=4k", f"count={count}"],
                   capture_output=True, check=True)
    return count / (time.monotonic() - t0)


def run_bystander(paths, pairs, sink_port, count=2_000_000):
    """off, then the agent on each path, per pair: {path: [on/off ratio per pair]}."""
    ratios = {p: [] for p in paths}
    for _ in range(pairs):
        off = dd_rate(count)
        for path in paths:
            agent = AgentRun(sink_port, hooks=path)
            on = dd_rate(count)
            agent.stop()
            ratios[path].append(on / off)
    return ratios


def rss_with_connections(url, conns, seconds, sink_port):
    agent = AgentRun(sink_port)
    subprocess.run(["wrk", "-t", "1", "-c", str(conns), "-d", f"{seconds}s", url],
                   capture_output=True, check=True)
    rss = rss_mb(agent.proc.pid)
    hwm = rss_mb(agent.proc.pid, "VmHWM")
    lost = agent.stop()
    return rss, hwm, lost


def median_interval(values, level=0.95):
    """A distribution-free interval for the median of values: the order statistics x(k) and
    x(n+1-k), k the largest with P(Binomial(n, 1/2) < k) <= (1 - level) / 2 (a pair's ratio is
    as likely above the true median as below). None when n is too small for the level (n < 6
    at 95%)."""
    xs = sorted(values)
    n, k, below = len(xs), 0, 0.0
    while below + math.comb(n, k) / 2**n <= (1 - level) / 2:
        below += math.comb(n, k) / 2**n
        k += 1
    return (xs[k - 1], xs[n - k]) if k else None


def ratio_column(ratios):
    """The median throughput ratio and its 95% interval, or its worst pair when there are too
    few pairs for an interval."""
    ci = median_interval(ratios)
    spread = f"[{ci[0]:.3f}-{ci[1]:.3f}]" if ci else f"(min {min(ratios):.3f})"
    return f"{statistics.median(ratios):.3f} {spread}"


def service_columns(rows):
    """Median over the pairs of the service's CPU per request on/off, and of its CPU share
    with the agent on and off."""
    cpu = statistics.median(x["on"]["svc_us"] / x["off"]["svc_us"] for x in rows)
    on = statistics.median(x["on"]["svc_share"] for x in rows)
    off = statistics.median(x["off"]["svc_share"] for x in rows)
    return f"x{cpu:.3f}", f"{on:.2f} ({off:.2f})"


def print_pingpong(pp):
    off = statistics.median(pp["off_ns"])
    print(f"pingpong: BPF time per exchange, one thread playing both ends of nginx's exchange "
          f"over loopback ({off / 1000:.1f} us per exchange with nothing attached), "
          f"{len(pp['off_ns'])} runs each, median [min-max]")
    for name, values in pp["ns"].items():
        med = statistics.median(values)
        progs = ", ".join(
            f"{prog} {statistics.median(x[0] for x in runs):.0f} ns in"
            f" {statistics.median(x[1] for x in runs):.2f} runs"
            for prog, runs in sorted(pp["per_prog"][name].items()))
        print(f"  {name:<14} {med:>6.0f} ns [{min(values):.0f}-{max(values):.0f}], "
              f"{100 * med / off:.1f}% of the exchange: {progs}")


def print_table(results, conns_result, floors, bystander):
    print()
    print(f"agent capture path: {results[0]['path']}")
    print(f"{'case':<16} {'thr ratio med [95% CI]':>22} {'p50 ratio':>10} {'p99 ratio':>10} "
          f"{'svc cpu/req':>12} {'svc share':>10} {'agent us/req':>13} {'bpf ns/req':>11} "
          f"{'RSS MB':>7} {'traced':>8}  drops")
    for r in results:
        ratios = [x["on"]["rps"] / x["off"]["rps"] for x in r["rows"]]
        p50 = statistics.median(x["on"]["p50"] / x["off"]["p50"] for x in r["rows"])
        p99 = statistics.median(x["on"]["p99"] / x["off"]["p99"] for x in r["rows"])
        svc, share = service_columns(r["rows"])
        cpu = statistics.median(x["cpu_us"] for x in r["rows"])
        rss = max(x["rss"] for x in r["rows"])
        traced = min(x["traced"] for x in r["rows"])
        lost = {}
        for x in r["rows"]:
            for k, v in x["lost"].items():
                lost[k] = lost.get(k, 0) + v
        print(f"{r['name']:<16} {ratio_column(ratios):>22} {p50:>10.3f} {p99:>10.3f} "
              f"{svc:>12} {share:>10} {cpu:>13.2f} "
              f"{r['bpf_ns']:>11.0f} {rss:>7.1f} "
              f"{100 * traced:>7.2f}%  {lost or 0}")
    for floor in floors:
        ratios = [x["on"]["rps"] / x["off"]["rps"] for x in floor["rows"]]
        p50 = statistics.median(x["on"]["p50"] / x["off"]["p50"] for x in floor["rows"])
        p99 = statistics.median(x["on"]["p99"] / x["off"]["p99"] for x in floor["rows"])
        svc, share = service_columns(floor["rows"])
        if "records" in floor["rows"][0]:
            records = (f"{statistics.median(x['records'] for x in floor['rows']):.1f} per request, "
                       f"{sum(x['lost'] for x in floor['rows'])} lost")
            what = ("nginx-static, no agent: a timestamp, 64 bytes and a 96-byte record per "
                    f"socket read and write, {records}")
            if floor["name"] == "floor-paired":
                what = ("nginx-static, no agent: a read's time and 64 bytes kept in the sock, "
                        f"one 120-byte record per exchange at the next send, {records}")
        else:
            what = "nginx-static, empty programs on that path's hooks, no agent"
        print(f"{floor['name']:<16} {ratio_column(ratios):>22} {p50:>10.3f} {p99:>10.3f} "
              f"{svc:>12} {share:>10}   {what}")
    for path, ratios in bystander.items():
        print(f"{'dd-bystander':<16} {ratio_column(ratios):>22}"
              f"   a process with no network I/O, the agent on --hooks {path}")
    if conns_result:
        rss, hwm, lost = conns_result
        print(f"{'conns-1000':<16} agent RSS with 1,000 open keep-alive connections: "
              f"{rss:.1f} MB (peak {hwm:.1f} MB), drops {lost or 0}")
    print("svc cpu/req: the service's CPU per request on/off; svc share: its CPU share on (off)."
          " Throughput on/off = (share on / share off) / (CPU per request on/off).")
    print()
    for r in results + floors:
        offs = [x["off"]["rps"] for x in r["rows"]]
        print(f"  {r['name']}: off runs spread {100 * (max(offs) - min(offs)) / statistics.median(offs):.0f}%"
              " of their median (the host's noise: pairs differing by less say little)")
        for i, x in enumerate(r["rows"]):
            agent = (f", {x['cpu_us']:.2f} us/req, {100 * x['traced']:.2f}% traced"
                     if "cpu_us" in x else "")
            order = "on, off" if x["on_first"] else "off, on"
            print(f"  {r['name']} pair {i + 1} ({order}): off {x['off']['rps']:.0f} req/s "
                  f"p50 {x['off']['p50']:.3f} ms p99 {x['off']['p99']:.3f} ms | on "
                  f"{x['on']['rps']:.0f} req/s p50 {x['on']['p50']:.3f} ms "
                  f"p99 {x['on']['p99']:.3f} ms{agent} | service {x['off']['svc_us']:.2f} -> "
                  f"{x['on']['svc_us']:.2f} us/req, share {x['off']['svc_share']:.3f} -> "
                  f"{x['on']['svc_share']:.3f}")


def main():
    pairs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # wrk's 1,000 connections
    procs = []
    tmp = tempfile.TemporaryDirectory(prefix="zt-bench-")
    try:
        sink_port, nginx_port, work_port = free_port(), free_port(), free_port()
        redis_port = free_port()
        procs.append(subprocess.Popen([SINK, str(sink_port)], stdout=subprocess.DEVNULL))
        os.makedirs(os.path.join(tmp.name, "www"))
        with open(os.path.join(tmp.name, "www", "tiny.txt"), "w") as f:
            f.write("ok\n")
        conf = os.path.join(tmp.name, "nginx.conf")
        with open(conf, "w") as f:
            f.write(NGINX_CONF.format(dir=tmp.name, port=nginx_port))
        procs.append(subprocess.Popen(["nginx", "-c", conf, "-e", os.path.join(tmp.name, "e.log")]))
        procs.append(subprocess.Popen([WORK, str(work_port)], stdout=subprocess.DEVNULL))
        procs.append(subprocess.Popen(["redis-server", "--port", str(redis_port), "--bind",
                                       "127.0.0.1", "--save", "", "--appendonly", "no", "--dir",
                                       tmp.name], stdout=subprocess.DEVNULL))
        for p in (sink_port, nginx_port, work_port, redis_port):
            wait_for_port(p)
        nginx_worker = nginx_worker_pid(procs[1].pid)
        work_pid = procs[2].pid
        print(f"zerotrace benchmark: {pairs} off/on pairs of {seconds} s per case, "
              f"{os.cpu_count()} CPUs, wrk 1 thread", flush=True)
        only = os.environ.get("BENCH_ONLY", "")
        only_go = only == "go"
        if only == "redis":
            print_table([run_redis_case(pairs, seconds, sink_port, redis_port)], None, [], {})
            return
        results = [] if only_go else [
            run_case("nginx-static", f"http://127.0.0.1:{nginx_port}/tiny.txt", "nginx",
                     nginx_worker, 32, pairs, seconds, sink_port),
        ]
        nogo = {"ZEROTRACE_GO_GOROUTINES": "false"}
        for route, name in (("tiny", "go-tiny"), ("call", "go-call"), ("grpc", "go-grpc"),
                            ("work", "work-1ms")):
            url = f"http://127.0.0.1:{work_port}/{route}"
            results.append(run_case(name, url, "work_server", work_pid, 16, pairs, seconds,
                                    sink_port))
            results.append(run_case(f"{name}-nogo", url, "work_server", work_pid, 16, pairs,
                                    seconds, sink_port, agent_env=nogo))
        base = os.environ.get("BENCH_BASELINE")
        if base:
            base_cases = [("nginx-static", f"http://127.0.0.1:{nginx_port}/tiny.txt", "nginx",
                           nginx_worker, 32)] if not only_go else []
            base_cases += [(n, f"http://127.0.0.1:{work_port}/{r}", "work_server", work_pid, 16)
                           for r, n in (("tiny", "go-tiny"), ("call", "go-call"))]
            for name, url, svc, pid, conns in base_cases:
                results.append(run_case(f"{name}@base", url, svc, pid, conns, pairs, seconds,
                                        sink_port, binary=os.path.abspath(base)))
        if not only_go:
            results.append(run_redis_case(pairs, seconds, sink_port, redis_port))
        if only_go:
            print_table(results, None, [], {})
            return
        conns = rss_with_connections(f"http://127.0.0.1:{nginx_port}/tiny.txt", 1000, seconds,
                                     sink_port)
        if only == "agent":
            print_table(results, conns, [], {})
            return
        # the agent's own path, and the syscall tracepoints for comparison when that is another
        paths = [results[0]["path"]] + (["tracepoint"] if results[0]["path"] == "socket" else [])
        # what capture itself costs, whatever the design: only where the socket hooks exist
        modes = [p for p in paths if p in ("socket", "tracepoint")]
        modes += ["capture", "paired"] if "socket" in modes else []
        floors = [run_floor_case(m, f"http://127.0.0.1:{nginx_port}/tiny.txt", nginx_worker, 32,
                                 pairs, seconds) for m in modes]
        bystander = run_bystander(paths, pairs, sink_port)
        pp = run_pingpong(pairs, seconds, sink_port) if "socket" in modes else None
        print_table(results, conns, floors, bystander)
        if pp:
            print_pingpong(pp)
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=10)
        tmp.cleanup()


if __name__ == "__main__":
    main()
