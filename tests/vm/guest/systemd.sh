#!/bin/sh
# Under systemd as PID 1 (tests/vm/test_systemd.py judges what this writes): start the
# packaged service, check it is active (Type=notify: READY=1 arrived), trace requests, reload,
# scrape /metrics, stop, keep the journal.
set -u
R=/mnt/results
ip link set lo up
systemctl start zerotrace.service
echo "start=$?" > $R/systemd.txt
journalctl -u zerotrace.service --no-pager -o cat > $R/journal-start.txt 2>&1
systemctl show -p ActiveState -p SubState zerotrace.service >> $R/systemd.txt
mkdir -p /tmp/www && echo hello > /tmp/www/index.html
(cd /tmp/www && OTEL_SERVICE_NAME=sd-server python3 -m http.server 8080 --bind 127.0.0.1 \
	> /tmp/server.log 2>&1) &
i=0
until curl -s -o /dev/null http://127.0.0.1:8080/; do
	i=$((i + 1)); [ $i -lt 300 ] || break; sleep 0.2
done
for n in 1 2 3; do curl -sS -o /dev/null http://127.0.0.1:8080/index.html; done
pid_before=$(systemctl show -p MainPID --value zerotrace.service)
# a setting only a restart applies: the reload warns (a journal entry of priority 4)
printf 'capture:\n  payload_bytes: 1024\n' >> /etc/zerotrace/zerotrace.yaml
systemctl reload zerotrace.service
echo "reload=$?" >> $R/systemd.txt
sleep 2
echo "same_pid=$([ "$pid_before" = "$(systemctl show -p MainPID --value zerotrace.service)" ] && echo yes || echo no)" >> $R/systemd.txt
systemctl show -p ActiveState zerotrace.service | sed 's/^/after_reload_/' >> $R/systemd.txt
curl -sS -o /dev/null http://127.0.0.1:8080/index.html
sleep 1
curl -s http://127.0.0.1:9464/metrics > $R/metrics.txt
systemctl stop zerotrace.service
echo "stop=$?" >> $R/systemd.txt
systemctl show -p ActiveState -p Result zerotrace.service | sed 's/^/after_stop_/' >> $R/systemd.txt
cp /var/lib/zerotrace/spans.jsonl $R/spans.jsonl
journalctl -u zerotrace.service --no-pager -o cat > $R/journal.txt 2>&1
journalctl -u zerotrace.service --no-pager -o json > $R/journal.json 2>&1
echo done
