#!/bin/sh
# Smallest scenario: the guest kernel, BTF, and the agent's start-up on it.
uname -r
ls /sys/kernel/btf/vmlinux
./build/zerotrace --version
