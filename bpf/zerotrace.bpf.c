// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Tracepoint capture path: syscall tracepoints only, so it runs on kernels built without
 * kprobes. Each program pulls its arguments out of the tracepoint record and calls the shared
 * body in capture.bpf.h; the kprobe twins call the same bodies.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "capture.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define ARG(ctx, n) ((ctx)->args[n])

SEC("tracepoint/syscalls/sys_enter_write")
int tp_enter_write(struct trace_event_raw_sys_enter *ctx)
{
	handle_write(ARG(ctx, 0), ARG(ctx, 1), 0, ARG(ctx, 2));
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_writev")
int tp_enter_writev(struct trace_event_raw_sys_enter *ctx)
{
	__u32 iovcnt = ARG(ctx, 2);
	__u64 total = 0;
	struct iovec_user iov;

	/* the byte count of a writev is the sum of its iovecs; add up the ones we can see */
	for (__u32 i = 0; i < ZT_MAX_IOV * 2; i++) {
		if (i >= iovcnt)
			break;
		if (bpf_probe_read_user(&iov, sizeof(iov), (void *)(ARG(ctx, 1) + i * sizeof(iov))))
			return 0;
		total += iov.len;
	}
	handle_write(ARG(ctx, 0), ARG(ctx, 1), iovcnt ?: 1, total);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_sendto")
int tp_enter_sendto(struct trace_event_raw_sys_enter *ctx)
{
	handle_write(ARG(ctx, 0), ARG(ctx, 1), 0, ARG(ctx, 2));
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_sendmsg")
int tp_enter_sendmsg(struct trace_event_raw_sys_enter *ctx)
{
	struct iovec_user iov;
	__u64 iovp, total = 0;
	__u32 iovcnt;

	if (!msghdr_iov(ARG(ctx, 1), &iovp, &iovcnt))
		return 0;
	for (__u32 i = 0; i < ZT_MAX_IOV * 2; i++) {
		if (i >= iovcnt)
			break;
		if (bpf_probe_read_user(&iov, sizeof(iov), (void *)(iovp + i * sizeof(iov))))
			return 0;
		total += iov.len;
	}
	handle_write(ARG(ctx, 0), iovp, iovcnt, total);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_read")
int tp_exit_read(struct trace_event_raw_sys_exit *ctx)
{
	handle_read_exit(ctx->ret, READ_PLAIN);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_readv")
int tp_exit_readv(struct trace_event_raw_sys_exit *ctx)
{
	handle_read_exit(ctx->ret, READ_IOV);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_recvfrom")
int tp_exit_recvfrom(struct trace_event_raw_sys_exit *ctx)
{
	handle_read_exit(ctx->ret, READ_FROM);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_recvmsg")
int tp_exit_recvmsg(struct trace_event_raw_sys_exit *ctx)
{
	handle_read_exit(ctx->ret, READ_MSG);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_sendfile64")
int tp_exit_sendfile(struct trace_event_raw_sys_exit *ctx)
{
	handle_sendfile_exit(ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_connect")
int tp_exit_connect(struct trace_event_raw_sys_exit *ctx)
{
	handle_connect_exit(ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept")
int tp_exit_accept(struct trace_event_raw_sys_exit *ctx)
{
	handle_accept_exit(ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int tp_exit_accept4(struct trace_event_raw_sys_exit *ctx)
{
	handle_accept_exit(ctx->ret);
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_close")
int tp_enter_close(struct trace_event_raw_sys_enter *ctx)
{
	handle_close(ARG(ctx, 0));
	return 0;
}

/* Process lifetime, so the agent's process table follows exec (new service name) and exit
 * (fds closed without close(), connection state to drop). */
static __always_inline struct zt_proc_event *proc_event(__u16 type)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct scratch *s;
	struct zt_proc_event *ev;

	if (!pid_is_watched(pid_tgid >> 32))
		return NULL;
	s = scratch_get(); /* 168 bytes: kept off the stack */
	if (!s)
		return NULL;
	ev = (struct zt_proc_event *)&s->ev;
	fill_header(&ev->hdr, type, pid_tgid);
	ev->hdr.len = sizeof(*ev);
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	ev->filename[0] = '\0';
	return ev;
}

SEC("tracepoint/sched/sched_process_exec")
int tp_sched_exec(struct trace_event_raw_sched_process_exec *ctx)
{
	struct zt_proc_event *ev = proc_event(ZT_EV_PROC_EXEC);
	unsigned int off;

	if (!ev)
		return 0;
	off = ctx->__data_loc_filename & 0xFFFF;
	bpf_probe_read_kernel_str(ev->filename, sizeof(ev->filename), (void *)ctx + off);
	ringbuf_output(ev, sizeof(*ev));
	return 0;
}

SEC("tracepoint/sched/sched_process_exit")
int tp_sched_exit(void *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct zt_proc_event *ev;

	/* threads exit too; only the last one ends the process */
	if ((__u32)pid_tgid != pid_tgid >> 32)
		return 0;
	ev = proc_event(ZT_EV_PROC_EXIT);
	if (ev)
		ringbuf_output(ev, sizeof(*ev));
	return 0;
}
