// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The floor of the capture mechanism, for make bench: a program that does nothing on every
 * tracepoint the agent attaches to (bpf/tracepoint.bpf.c, bpf/process.bpf.c). What nginx loses
 * with these attached is what any tracepoint-based tracer loses before doing any work.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define EMPTY(category, name)                                                                      \
	SEC("tracepoint/" #category "/" #name)                                                     \
	int name(void *ctx)                                                                        \
	{                                                                                          \
		return 0;                                                                          \
	}

EMPTY(syscalls, sys_enter_write)
EMPTY(syscalls, sys_enter_writev)
EMPTY(syscalls, sys_enter_sendto)
EMPTY(syscalls, sys_enter_sendmsg)
EMPTY(syscalls, sys_exit_read)
EMPTY(syscalls, sys_exit_readv)
EMPTY(syscalls, sys_exit_recvfrom)
EMPTY(syscalls, sys_exit_recvmsg)
EMPTY(syscalls, sys_exit_sendfile64)
EMPTY(syscalls, sys_exit_connect)
EMPTY(syscalls, sys_exit_accept)
EMPTY(syscalls, sys_exit_accept4)
EMPTY(syscalls, sys_enter_close)
EMPTY(sched, sched_process_exec)
EMPTY(sched, sched_process_exit)

char LICENSE[] SEC("license") = "Dual BSD/GPL";
