#!/bin/sh
# Boot Debian's stock 6.1 kernel (kprobes on) under qemu (TCG: no KVM here) with this machine's
# root shared read-only over virtio-9p, run one scenario inside it, and leave what it wrote in
# RESULTS. usage: tests/vm/run-vm.sh SCENARIO RESULTS_DIR [TIMEOUT_S]
#   SCENARIO   a shell script, relative to the repository root (e.g. tests/vm/guest/matrix.sh)
# Exit status: the scenario's, or 124 when the VM timed out.
set -eu
command -v cpio >/dev/null || { echo "run-vm: cpio missing (make deps)" >&2; exit 1; }
repo=$(cd "$(dirname "$0")/../.." && pwd)
scenario=$1
results=$2
timeout_s=${3:-600}
kver=${ZT_VM_KERNEL:-}
vm=$repo/build/vm
mkdir -p "$vm" "$results"
rm -rf "${results:?}"/*

# the kernel: Debian's linux-image-amd64 for bookworm, unpacked, not installed
if [ ! -f "$vm/kernel.ok" ]; then
	pkg=$(apt-cache depends linux-image-amd64 | sed -n 's/.*Depends: \(linux-image-[0-9].*\)/\1/p' | head -1)
	[ -n "$pkg" ] || { echo "run-vm: cannot resolve linux-image-amd64 (apt-get update?)" >&2; exit 1; }
	# apt's sandbox user cannot write into a root-owned work tree: download as root quietly
	(cd "$vm" && rm -f linux-image-*.deb &&
		apt-get -o APT::Sandbox::User=root download "$pkg" >/dev/null)
	rm -rf "$vm/kernel" && dpkg-deb -x "$vm"/linux-image-*.deb "$vm/kernel"
	touch "$vm/kernel.ok"
fi
kver=$(ls "$vm/kernel/lib/modules" | head -1)

# the initramfs: busybox-static, the virtio-9p modules, our init
if [ ! -f "$vm/initramfs.cpio.gz" ] || [ "$repo/tests/vm/init" -nt "$vm/initramfs.cpio.gz" ]; then
	ir=$vm/initramfs
	rm -rf "$ir" && mkdir -p "$ir/bin" "$ir/modules" "$ir/proc" "$ir/sys" "$ir/dev"
	cp /bin/busybox "$ir/bin/busybox"
	for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci \
		 netfs fscache 9pnet 9pnet_virtio 9p overlay; do
		find "$vm/kernel/lib/modules/$kver" -name "$m.ko" -exec cp {} "$ir/modules/" \;
	done
	cp "$repo/tests/vm/init" "$ir/init" && chmod +x "$ir/init"
	(cd "$ir" && find . | cpio -o -H newc --quiet | gzip -1 > "$vm/initramfs.cpio.gz")
fi

status=0
timeout "$timeout_s" qemu-system-x86_64 -accel tcg,thread=multi -smp 2 -m 2048 \
	-kernel "$vm/kernel/boot/vmlinuz-$kver" -initrd "$vm/initramfs.cpio.gz" \
	-append "console=ttyS0 panic=-1 quiet zt.script=$scenario ${ZT_VM_ARGS:-}" \
	-fsdev local,id=hostroot,path=/,security_model=none,readonly=on,multidevs=remap \
	-device virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot \
	-fsdev local,id=repo,path="$repo",security_model=none,readonly=on \
	-device virtio-9p-pci,fsdev=repo,mount_tag=repo \
	-fsdev local,id=results,path="$results",security_model=none \
	-device virtio-9p-pci,fsdev=results,mount_tag=results \
	-nographic -no-reboot -nic none > "$results/console.log" 2>&1 || status=$?
if [ "$status" = 124 ]; then
	echo "run-vm: the VM did not finish within ${timeout_s}s; console:" >&2
	tail -20 "$results/console.log" >&2
	exit 124
fi
if [ ! -f "$results/exit_code" ]; then
	echo "run-vm: the scenario did not run; console:" >&2
	tail -30 "$results/console.log" >&2
	exit 1
fi
exit "$(cat "$results/exit_code")"
