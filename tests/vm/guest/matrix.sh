#!/bin/sh
# Everything the kernel matrix checks on the guest kernel, in one boot (each step writes its
# own files to /run/results; tests/vm/test_vm.py judges them):
#   verify        every BPF program of both syscall capture paths passes this kernel's verifier
#                 (the socket path's tracepoints came in 6.16: build/zerotrace-syscalls.bpf.o
#                 holds the other programs)
#   socket        --hooks socket: a clear error on a kernel without its tracepoints
#   http1-HOOKS   HTTP/1 spans through the agent, with --hooks kprobe and --hooks auto
#   cost-HOOKS    per-program run time for a fixed workload (kernel.bpf_stats_enabled)
#   btf           without BTF in /sys: a clear error, and --btf PATH works
#   go            a Go gateway's goroutines followed through the Go uprobes (build/tests/go_fanout)
set -u
R=/run/results
mkdir -p /tmp/www && echo hello > /tmp/www/index.html

# -- verify
mkdir -p /sys/fs/bpf/zt-verify
bpftool prog loadall build/zerotrace-syscalls.bpf.o /sys/fs/bpf/zt-verify > $R/verify.log 2>&1
echo $? > $R/verify.status
ls /sys/fs/bpf/zt-verify > $R/verify.programs
rm -rf /sys/fs/bpf/zt-verify

wait_ready() { # LOG PID
	i=0
	until grep -q ready "$1" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 600 ] || ! kill -0 "$2" 2>/dev/null; then
			return 1
		fi
		sleep 0.5
	done
}

wait_http() {
	i=0
	until curl -s -o /dev/null "http://127.0.0.1:$1/"; do
		i=$((i + 1))
		[ $i -lt 300 ] || return 1
		sleep 0.2
	done
}

OTEL_SERVICE_NAME=vm-server /usr/bin/python3 tests/integration/apps/py_server.py 8080 /vm \
	> /tmp/server.log 2>&1 &
server=$!
OTEL_SERVICE_NAME=vm-load-server /usr/bin/python3 tests/integration/apps/py_server.py 8081 /load \
	> /tmp/load-server.log 2>&1 &
load_server=$!
wait_http 8080 && wait_http 8081 || { echo "servers did not start"; cat /tmp/*server.log; exit 1; }

# -- socket: not on this kernel
./build/zerotrace --hooks socket > /dev/null 2> $R/socket-missing.log
echo $? > $R/socket-missing.status

# -- http1 and cost, on each capture path
for hooks in kprobe auto tracepoint; do
	./build/zerotrace --hooks $hooks --otlp-file $R/spans-$hooks.jsonl 2> $R/agent-$hooks.log &
	agent=$!
	if ! wait_ready $R/agent-$hooks.log $agent; then
		echo "agent ($hooks) did not start"
		continue
	fi
	for n in 1 2 3 4 5; do
		curl -sS -o /dev/null http://127.0.0.1:8080/vm/items/$n
	done
	curl -sS -o /dev/null -H \
		'traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' \
		http://127.0.0.1:8080/vm/items/99
	# the fixed workload for the cost figures: 2 keep-alive clients x 60 requests
	sysctl -q kernel.bpf_stats_enabled=1
	OTEL_SERVICE_NAME=vm-load /usr/bin/python3 tests/integration/apps/py_client.py \
		127.0.0.1 8081 /load 2 60 > $R/load-$hooks.json
	bpftool -j prog show > $R/cost-$hooks.json
	sysctl -q kernel.bpf_stats_enabled=0
	sleep 1
	kill -TERM $agent
	wait $agent
	echo $? > $R/agent-$hooks.status
done

# -- go: the Go uprobes on this kernel, a Go gateway fanning out from goroutines
./build/zerotrace --otlp-file $R/spans-go.jsonl 2> $R/agent-go.log &
agent=$!
if wait_ready $R/agent-go.log $agent; then
	OTEL_SERVICE_NAME=vm-go-leaf ./build/tests/go_fanout backend 8090 /vm > /tmp/go-leaf.log 2>&1 &
	go_leaf=$!
	OTEL_SERVICE_NAME=vm-go-gw ./build/tests/go_fanout gateway 8091 /vm 8090 8080 \
		> /tmp/go-gw.log 2>&1 &
	go_gw=$!
	wait_http 8091
	# the first call out starts following goroutine creation
	curl -sS -o /dev/null http://127.0.0.1:8091/vm/api/warm
	sleep 2
	for n in 1 2 3 4 5; do
		curl -sS -o /dev/null http://127.0.0.1:8091/vm/api/$n
	done
	sleep 1
	kill -TERM $agent
	wait $agent
	echo $? > $R/agent-go.status
	kill $go_gw $go_leaf
else
	echo "agent (go) did not start"
fi

# -- btf: hide the kernel's own BTF, as on a kernel built without it
cp /sys/kernel/btf/vmlinux /tmp/vmlinux.btf
mount -t tmpfs tmpfs /sys/kernel/btf
./build/zerotrace --hooks kprobe > /dev/null 2> $R/btf-missing.log
echo $? > $R/btf-missing.status
./build/zerotrace --hooks kprobe --btf /tmp/vmlinux.btf --otlp-file $R/spans-btf.jsonl \
	2> $R/agent-btf.log &
agent=$!
if wait_ready $R/agent-btf.log $agent; then
	curl -sS -o /dev/null http://127.0.0.1:8080/vm/btf/1
	sleep 1
fi
kill -TERM $agent
wait $agent
echo $? > $R/agent-btf.status
umount /sys/kernel/btf
kill $server $load_server
echo done
