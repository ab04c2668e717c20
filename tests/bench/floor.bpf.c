// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The floor of each capture mechanism, for make bench: programs that do nothing on every hook
 * the agent attaches to on that path — the syscall tracepoints of bpf/tracepoint.bpf.c or the
 * socket BTF tracepoints of bpf/socktrace.bpf.c — and bpf/process.bpf.c's. What nginx loses
 * with these attached is what any tracer on those hooks loses before doing any work.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define EMPTY(category, name)                                                                      \
	SEC("tracepoint/" #category "/" #name)                                                     \
	int name(void *ctx)                                                                        \
	{                                                                                          \
		return 0;                                                                          \
	}

#define EMPTY_BTF(name)                                                                            \
	SEC("tp_btf/" #name)                                                                       \
	int btf_##name(void *ctx)                                                                  \
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
EMPTY_BTF(sock_recv_length)
EMPTY_BTF(tcp_sendmsg_locked)
EMPTY_BTF(inet_sock_set_state)
EMPTY_BTF(tcp_destroy_sock)
EMPTY(sched, sched_process_exec)
EMPTY(sched, sched_process_exit)

char LICENSE[] SEC("license") = "Dual BSD/GPL";
