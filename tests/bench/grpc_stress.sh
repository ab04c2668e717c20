#!/bin/sh
# gRPC under load: 5 x (Go client -> Python server, Python client -> Go server), 100 calls
# at once on one connection each; prints BPF time per program run (kernel.bpf_stats_enabled),
# the agent's counters and the spans by name, kind and completeness. As root, after `make deps`
# and `make`.
set -eu
cd "$(dirname "$0")/../.."
T=$(mktemp -d)
build/tools/grpc_go server 19290 & G=$!
python3 tests/integration/apps/grpc_py.py server 19291 & P=$!
sleep 1.5
build/zerotrace --otlp-file $T/h2cost.jsonl 2>$T/h2cost.log & A=$!
while ! grep -q ready $T/h2cost.log; do sleep 0.2; done
stats_was=$(cat /proc/sys/kernel/bpf_stats_enabled)
trap 'echo "$stats_was" > /proc/sys/kernel/bpf_stats_enabled' EXIT
echo 1 > /proc/sys/kernel/bpf_stats_enabled
for i in 1 2 3 4 5; do
  build/tools/grpc_go client 127.0.0.1:19291 100 20 >/dev/null
  python3 tests/integration/apps/grpc_py.py client 127.0.0.1:19290 100 20 >/dev/null
done
bpftool -j prog show > $T/h2cost.json
echo "$stats_was" > /proc/sys/kernel/bpf_stats_enabled
sleep 1; kill -TERM $A; wait $A; kill $G $P
python3 - "$T/h2cost.json" <<'PY'
import json, sys
for p in json.load(open(sys.argv[1])):
    n = p.get("name", "")
    if n.startswith("tp_") and p.get("run_cnt"):
        print(f'{n:22s} runs {p["run_cnt"]:8d}  {p["run_time_ns"]/p["run_cnt"]:8.0f} ns/run')
PY
grep "final stats\|final links" $T/h2cost.log
python3 -c "
import json,collections
c=collections.Counter()
for l in open('$T/h2cost.jsonl'):
    d=json.loads(l)
    for rs in d.get('resourceSpans',[]):
        for ss in rs['scopeSpans']:
            for s in ss['spans']:
                a={x['key']:x['value'] for x in s.get('attributes',[])}
                c[(s['name'], s['kind'], 'incomplete' in str(a))]+=1
for k, v in sorted(c.items()):
    print(v, *k)
"
rm -rf "$T"
