#!/bin/sh
# HTTP/1 scenario inside the VM: the agent (capture path $ZT_HOOKS, default auto) writing OTLP/JSON
# to the results share, python's http.server and curl as server and client. The host checks
# the spans (tests/vm/test_vm.py).
set -u
R=/run/results
hooks=$(sed -n 's/.*zt.hooks=\([^ ]*\).*/\1/p' /proc/cmdline)
hooks=${hooks:-auto}
out=$R/spans-$hooks.jsonl
rm -f "$out"
mkdir -p /tmp/www/api && echo hello > /tmp/www/index.html && echo '{}' > /tmp/www/api/42
cd /tmp/www
OTEL_SERVICE_NAME=vm-server /usr/bin/python3 -m http.server 8080 --bind 127.0.0.1 >/tmp/server.log 2>&1 &
server=$!
cd - >/dev/null
i=0
until curl -s -o /dev/null http://127.0.0.1:8080/; do
	i=$((i + 1))
	[ $i -lt 300 ] || { echo "server did not start"; cat /tmp/server.log; exit 1; }
	sleep 0.2
done
./build/zerotrace --hooks "$hooks" --otlp-file "$out" 2>$R/agent-$hooks.log &
agent=$!
i=0
until grep -q ready $R/agent-$hooks.log 2>/dev/null; do
	i=$((i + 1))
	if [ $i -gt 600 ] || ! kill -0 $agent 2>/dev/null; then
		echo "agent did not start"; cat $R/agent-$hooks.log; exit 1
	fi
	sleep 0.5
done
for n in 1 2 3 4 5; do
	curl -sS -o /dev/null http://127.0.0.1:8080/index.html || exit 1
	curl -sS -o /dev/null http://127.0.0.1:8080/api/42 || exit 1
done
curl -sS -o /dev/null -H 'traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' \
	http://127.0.0.1:8080/index.html || exit 1
sleep 2
kill -TERM $agent
wait $agent
status=$?
kill $server
echo "agent exit $status"
exit $status
