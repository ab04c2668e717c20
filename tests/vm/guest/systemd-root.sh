#!/bin/sh
# Lays out, on the host, what the systemd VM boot copies into its root (tests/vm/init with
# zt.systemd): the .deb unpacked, its default config pointed at a file, the service enabled,
# and the units that run guest/systemd.sh and power off.  usage: systemd-root.sh DEB DIR
set -eu
deb=$1
root=$2
rm -rf "$root"
mkdir -p "$root"
dpkg-deb -x "$deb" "$root"
mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
ln -sf /lib/systemd/system/zerotrace.service \
	"$root/etc/systemd/system/multi-user.target.wants/zerotrace.service"
cat > "$root/etc/zerotrace/zerotrace.yaml" <<'YAML'
exporter:
  file: /var/lib/zerotrace/spans.jsonl
metrics:
  enabled: true
  address: 127.0.0.1:9464
YAML
cat > "$root/etc/systemd/system/zt-vm-test.service" <<'UNIT'
[Unit]
Description=zerotrace VM scenario under systemd
After=multi-user.target
[Service]
Type=oneshot
WorkingDirectory=/mnt/zt
ExecStart=/bin/sh -c '/bin/sh tests/vm/guest/systemd.sh > /mnt/results/guest.log 2>&1; echo $? > /mnt/results/exit_code; sync'
ExecStartPost=/bin/systemctl --no-block poweroff --force
[Install]
WantedBy=multi-user.target
UNIT
ln -sf /etc/systemd/system/zt-vm-test.service \
	"$root/etc/systemd/system/multi-user.target.wants/zt-vm-test.service"
# not started at boot: the scenario starts it, to watch it come up
rm "$root/etc/systemd/system/multi-user.target.wants/zerotrace.service"
