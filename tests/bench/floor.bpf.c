// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The floor of each capture mechanism, for make bench: programs that do nothing on every hook
 * the agent attaches to on that path — the syscall tracepoints of bpf/tracepoint.bpf.c or the
 * socket BTF tracepoints of bpf/socktrace.bpf.c — and bpf/process.bpf.c's. What nginx loses
 * with these attached is what any tracer on those hooks loses before doing any work.
 *
 * And the floor of capturing at all (floor.c's "capture" mode): on the socket path's read and
 * send hooks, the least any tracer of request boundaries does per socket read or write — a
 * timestamp, the first 64 bytes, one small ring record — with no connection state, no filter
 * and a reader that only counts. What nginx loses with these is what capture itself costs on
 * this machine, whatever the design behind it.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

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
#define CAPTURE_PREFIX 64

struct capture_record {
	__u64 ts;
	__u64 sk;
	__u32 pid;
	__u32 tid;
	__u32 bytes;
	__u32 captured;
	__u8 prefix[CAPTURE_PREFIX];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 2 << 20); /* the agent's default ring */
} records SEC(".maps");

__u64 records_lost; /* the ring was full: counted, so a floor that lost records is seen */

/* No wake-up per record: the reader polls, as the agent does between its batched wake-ups. */
static __always_inline void capture(struct sock *sk, __u64 buf, __u32 bytes)
{
	struct capture_record *r = bpf_ringbuf_reserve(&records, sizeof(*r), 0);
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u64 n = bytes < CAPTURE_PREFIX ? bytes : CAPTURE_PREFIX;

	if (!r) {
		__sync_fetch_and_add(&records_lost, 1);
		return;
	}
	r->ts = bpf_ktime_get_ns();
	r->sk = (__u64)sk;
	r->pid = pid_tgid >> 32;
	r->tid = (__u32)pid_tgid;
	r->bytes = bytes;
	/* a no-op the verifier needs: the compiler may hand it bytes itself */
	barrier_var(n);
	n &= 2 * CAPTURE_PREFIX - 1;
	r->captured = buf && !bpf_probe_read_user(r->prefix, n, (void *)buf) ? n : 0;
	bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
}

/* read, recvfrom: the buffer is the syscall's second argument */
SEC("tp_btf/sock_recv_length")
int BPF_PROG(capture_recv, struct sock *sk, int ret, int flags)
{
	struct pt_regs *regs;

	if (ret <= 0)
		return 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	capture(sk, PT_REGS_PARM2_SYSCALL(regs), ret);
	return 0;
}

/* a single user buffer is in the iterator; vectors and pages are counted without bytes */
SEC("tp_btf/tcp_sendmsg_locked")
int BPF_PROG(capture_send, struct sock *sk, struct msghdr *msg, struct sk_buff *skb, int size_goal)
{
	__u64 buf = 0;

	if (msg->msg_iter.iter_type == bpf_core_enum_value(enum iter_type, ITER_UBUF))
		buf = (__u64)msg->msg_iter.ubuf;
	capture(sk, buf, msg->msg_iter.count);
	return 0;
}

/*
 * The floor of pairing in the kernel (floor.c's "paired" mode): one record per exchange instead
 * of one per socket read and write. A read keeps its time and first 64 bytes in the sock; the
 * next send ships them with its own time and the first 16 bytes of the reply (the status code)
 * in one record; sends after it (a body, sendfile) ship nothing. What nginx loses with these is
 * what a tracer that pairs request and response inside the kernel would lose at the least.
 */
#define REPLY_PREFIX 16

/* the request's part: capture's record, its ts the read's, kept in the sock until the send */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct capture_record);
} pending SEC(".maps");

struct exchange_record {
	struct capture_record request;
	__u64 end;
	__u8 reply[REPLY_PREFIX];
};

SEC("tp_btf/sock_recv_length")
int BPF_PROG(paired_recv, struct sock *sk, int ret, int flags)
{
	struct capture_record *p;
	struct pt_regs *regs;
	__u64 n = ret < CAPTURE_PREFIX ? ret : CAPTURE_PREFIX;

	if (ret <= 0)
		return 0;
	p = bpf_sk_storage_get(&pending, sk, NULL, BPF_SK_STORAGE_GET_F_CREATE);
	if (!p || p->ts) /* the rest of a message already waiting: its start stands */
		return 0;
	regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	p->ts = bpf_ktime_get_ns();
	p->bytes = ret;
	barrier_var(n);
	n &= 2 * CAPTURE_PREFIX - 1;
	p->captured =
	    !bpf_probe_read_user(p->prefix, n, (void *)PT_REGS_PARM2_SYSCALL(regs)) ? n : 0;
	return 0;
}

SEC("tp_btf/tcp_sendmsg_locked")
int BPF_PROG(paired_send, struct sock *sk, struct msghdr *msg, struct sk_buff *skb, int size_goal)
{
	struct capture_record *p = bpf_sk_storage_get(&pending, sk, NULL, 0);
	__u8 type = msg->msg_iter.iter_type;
	struct exchange_record *r;
	__u64 pid_tgid, buf = 0;

	if (!p || !p->ts)
		return 0;
	r = bpf_ringbuf_reserve(&records, sizeof(*r), 0);
	if (!r) {
		__sync_fetch_and_add(&records_lost, 1);
		return 0;
	}
	pid_tgid = bpf_get_current_pid_tgid();
	r->request = *p;
	r->request.sk = (__u64)sk;
	r->request.pid = pid_tgid >> 32;
	r->request.tid = (__u32)pid_tgid;
	r->end = bpf_ktime_get_ns();
	/* a vector's array is the kernel's copy: its first base loads directly */
	if (type == bpf_core_enum_value(enum iter_type, ITER_UBUF))
		buf = (__u64)msg->msg_iter.ubuf;
	else if (type == bpf_core_enum_value(enum iter_type, ITER_IOVEC))
		buf = (__u64)msg->msg_iter.__iov->iov_base;
	if (!buf || bpf_probe_read_user(r->reply, REPLY_PREFIX, (void *)buf))
		r->reply[0] = 0;
	bpf_ringbuf_submit(r, BPF_RB_NO_WAKEUP);
	p->ts = 0;
	return 0;
}

EMPTY(sched, sched_process_exec)
EMPTY(sched, sched_process_exit)

char LICENSE[] SEC("license") = "Dual BSD/GPL";
